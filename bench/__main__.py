"""`python -m bench` (make bench): run every benchmark module in turn, each in its own process.

Each prints its own table with its bare baseline measured in the same run. The exit status is
non-zero if any benchmark failed or missed a target it checks.
"""

import subprocess
import sys

MODULES = [
    "bench.api",
    "bench.cache",
    "bench.celery",
    "bench.concurrent_index",
    "bench.backup",
    "bench.files",
]

if __name__ == "__main__":
    failed = []
    for name in MODULES:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", name]).returncode != 0:
            failed.append(name)
    if failed:
        sys.exit(f"benchmarks that failed or missed a target: {', '.join(failed)}")
