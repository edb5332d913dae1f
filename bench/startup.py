"""`make bench-startup`: how long a management command takes to start.

Runs, alternately (so machine load hits all alike), N times each:
- `python -c pass` (the interpreter alone),
- bare `django-admin help` (Django without a project: the floor for any Django command),
- `manage.py help` (ERP Core's settings, every app's ready(), the Celery app),
and prints median/p90 wall time and the ratio to the bare baseline. ERP Core's own modules are
byte-compiled first, as the image does (Dockerfile): with PYTHONDONTWRITEBYTECODE set, as on
these machines, Python would otherwise compile ~150 project files on every start (site-packages
are compiled at install, Makefile). The target (issue 12):
`manage.py help` under 1.5 s on these 2-core machines. Then the 15 slowest imports of one
`python -X importtime manage.py help`, cumulative, to show where the time goes.
"""

from __future__ import annotations

import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import results
from .common import print_table, step

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "9"))
TARGET_SECONDS = 1.5
PYTHON = sys.executable
DJANGO_ADMIN = str(Path(PYTHON).with_name("django-admin"))


def _env(settings: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    if settings:
        env["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    return env


CASES = {
    "python -c pass": ([PYTHON, "-c", "pass"], False),
    "django-admin help (bare)": ([DJANGO_ADMIN, "help"], False),
    "manage.py help": ([PYTHON, "manage.py", "help"], True),
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(cmd: list[str], settings: bool) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run. The CPU time is what the command
    itself costs: on a loaded machine the wall time is mostly waiting for a core."""
    cpu, started = _cpu(), time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=_env(settings), check=True, capture_output=True)
    return time.perf_counter() - started, _cpu() - cpu


def _slowest_imports(count: int = 15) -> list[list]:
    run = subprocess.run(
        [PYTHON, "-X", "importtime", "manage.py", "help"],
        cwd=ROOT,
        env=_env(True),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = (
            part.strip() for part in line.removeprefix("import time:").split("|")
        )
        rows.append((int(cumulative), name, int(own)))
    rows.sort(reverse=True)
    return [[name, f"{cum / 1e6:.2f}", f"{own / 1e6:.2f}"] for cum, name, own in rows[:count]]


def main() -> int:
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    cpu: dict[str, list[float]] = {name: [] for name in CASES}
    step("byte-compiling core/, api/, config/ (python -m compileall, as the Dockerfile does)")
    subprocess.run(
        [PYTHON, "-m", "compileall", "-q", "core", "api", "config", "manage.py"],
        cwd=ROOT,
        check=True,
    )
    step(f"warming up, then {RUNS} runs of each command, interleaved")
    for cmd, settings in CASES.values():
        _time(cmd, settings)
    for i in range(RUNS):
        for name, (cmd, settings) in CASES.items():
            wall, used = _time(cmd, settings)
            samples[name].append(wall)
            cpu[name].append(used)
        step(f"round {i + 1}/{RUNS}")
    bare = statistics.median(samples["django-admin help (bare)"])
    bare_cpu = statistics.median(cpu["django-admin help (bare)"])
    rows, figures = [], {}
    for name, values in samples.items():
        median = statistics.median(values)
        p90 = sorted(values)[min(len(values), math.ceil(len(values) * 0.9)) - 1]  # nearest rank
        used = statistics.median(cpu[name])
        rows.append(
            [
                name,
                f"{median:.2f}",
                f"{p90:.2f}",
                f"{median / bare:.2f}x",
                f"{used:.3f}",
                f"{used / bare_cpu:.2f}x",
            ]
        )
        figures[name] = {
            "rps": round(1 / median, 3),
            "p50": round(median * 1000),
            "p99": round(p90 * 1000),
        }
    print_table(
        f"Command start-up, seconds ({RUNS} interleaved runs each; target manage.py help "
        f"< {TARGET_SECONDS} s)",
        ["command", "median s", "p90 s", "vs bare django-admin", "CPU s", "CPU vs bare"],
        rows,
    )
    print_table(
        "Slowest imports of `manage.py help` (python -X importtime; one run, seconds)",
        ["module", "cumulative", "self"],
        _slowest_imports(),
    )
    results.record("startup", figures, baseline="django-admin help (bare)", unit="starts/s")
    manage = statistics.median(samples["manage.py help"])
    verdict = "meets" if manage < TARGET_SECONDS else "MISSES"
    print(
        f"\nmanage.py help: {manage:.2f} s median, {verdict} the {TARGET_SECONDS} s target "
        f"({manage / bare:.2f}x bare django-admin), {statistics.median(cpu['manage.py help']):.2f}"
        f" s of CPU. Wall times depend on machine load (load average {os.getloadavg()[0]:.1f}): "
        "compare the ratio and the CPU time."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
