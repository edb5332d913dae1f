"""Benchmark results you can look at: JSON, one chart per family, a Markdown summary.

Every benchmark module calls ``record(family, figures, baseline=...)`` with its numbers. One
`make bench` run shares one file, ``bench/results/<BENCH_RUN_ID>.json`` (machine info, every
figure, every baseline); a module run on its own starts a run of its own. ``render(path)``
(called by ``python -m bench`` at the end, or ``python -m bench.results <file>``) writes beside it:

- ``<run>-<family>.svg``: ours vs the baseline (throughput) and latency percentiles per case;
- ``<run>.md``: a Markdown table per family.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def run_id() -> str:
    run = os.environ.get("BENCH_RUN_ID")
    if not run:
        run = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        os.environ["BENCH_RUN_ID"] = run  # children of this process join the same run
    return run


def _machine() -> dict:
    def out(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    return {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgresql": out("psql", "--version"),
        "redis": out("redis-server", "--version"),
        "commit": out("git", "rev-parse", "--short", "HEAD"),
    }


def path_for(run: str | None = None) -> Path:
    return RESULTS / f"{run or run_id()}.json"


def record(family: str, figures: dict[str, dict], *, baseline: str, unit: str = "req/s") -> Path:
    """Add one family's figures: ``{case: {"rps": .., "p50": .., "p99": .., ...}}``; ``baseline``
    names the case the others are compared with (ratios are computed on render)."""
    RESULTS.mkdir(exist_ok=True)
    path = path_for()
    data = json.loads(path.read_text()) if path.exists() else {"run": run_id(), "families": {}}
    data.setdefault("machine", _machine())
    data["families"][family] = {"baseline": baseline, "unit": unit, "figures": figures}
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"[bench] figures recorded in {path.relative_to(RESULTS.parent.parent)}", flush=True)
    return path


def _chart(family: str, spec: dict, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures, baseline = spec["figures"], spec["baseline"]
    names = list(figures)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, max(3, 0.5 * len(names) + 1.5)))
    colors = ["#888888" if n == baseline else "#2a6fdb" for n in names]
    left.barh(names, [figures[n].get("rps") or 0 for n in names], color=colors)
    left.set_xlabel(spec["unit"] + " (grey: baseline)")
    left.invert_yaxis()
    width = 0.4
    ys = range(len(names))
    for offset, key in ((-width / 2, "p50"), (width / 2, "p99")):
        right.barh(
            [y + offset for y in ys],
            [figures[n].get(key) or 0 for n in names],
            height=width,
            label=key,
        )
    right.set_yticks(list(ys), [""] * len(names))
    right.invert_yaxis()
    right.set_xlabel("latency ms")
    right.legend()
    fig.suptitle(f"{family}: ours vs baseline, latency percentiles")
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)


def _fmt(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def render(path: Path) -> Path:
    data = json.loads(path.read_text())
    lines = [f"# Benchmark run {data['run']}", "", f"Machine: `{json.dumps(data['machine'])}`", ""]
    for family, spec in data["families"].items():
        figures, baseline = spec["figures"], spec["baseline"]
        base = (figures.get(baseline) or {}).get("rps")
        extra = sorted({k for f in figures.values() for k in f} - {"rps", "p50", "p99"})
        lines += [f"## {family}", "", f"Baseline: {baseline}", ""]
        lines.append(
            "| case | "
            + spec["unit"]
            + " | x baseline | p50 ms | p99 ms | "
            + " | ".join(extra)
            + " |"
        )
        lines.append("|---" * (5 + len(extra)) + "|")
        for name, f in figures.items():
            ratio = f"{f['rps'] / base:.2f}x" if base and f.get("rps") is not None else "-"
            cells = [name, _fmt(f.get("rps")), ratio, _fmt(f.get("p50")), _fmt(f.get("p99"))]
            lines.append("| " + " | ".join(cells + [_fmt(f.get(k)) for k in extra]) + " |")
        chart = path.with_name(f"{data['run']}-{family}.svg")
        try:
            _chart(family, spec, chart)
            lines += ["", f"![{family}]({chart.name})", ""]
        except ImportError:
            lines += ["", "(matplotlib is not installed: `make install-dev`)", ""]
    summary = path.with_suffix(".md")
    summary.write_text("\n".join(lines) + "\n")
    print(f"[bench] summary: {summary}", flush=True)
    return summary


if __name__ == "__main__":
    render(Path(sys.argv[1]) if len(sys.argv) > 1 else max(RESULTS.glob("*.json")))
