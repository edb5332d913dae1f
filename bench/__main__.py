"""`python -m bench` (make bench): run every benchmark module in turn, each in its own process.

Each prints its own table with its bare baseline measured in the same run. The exit status is
non-zero if any benchmark failed or missed a target it checks.
"""

import subprocess
import sys

from . import results

MODULES = [
    "bench.api",
    "bench.audit",
    "bench.cache",
    "bench.celery",
    "bench.concurrent_index",
    "bench.backup",
    "bench.files",
    "bench.orders",
    "bench.pagination",
    "bench.ops",
    "bench.tail",
    "bench.startup",
    "bench.failover",
    "bench.db_scale",
]

if __name__ == "__main__":
    failed = []
    results.run_id()  # one results file for the whole run (bench/results.py)
    for name in MODULES:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", name]).returncode != 0:
            failed.append(name)
    if results.path_for().exists():
        results.render(results.path_for())
    if failed:
        sys.exit(f"benchmarks that failed or missed a target: {', '.join(failed)}")
