"""`python -m bench`: run every benchmark module in turn."""

import importlib
import sys

MODULES = ["bench.api", "bench.cache"]

if __name__ == "__main__":
    for name in MODULES:
        print(f"\n=== {name} ===", flush=True)
        sys.argv = [name]
        importlib.import_module(name).main()
