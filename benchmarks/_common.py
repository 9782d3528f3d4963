"""Shared benchmark helpers: peak memory, JSON output, table printing."""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
from pathlib import Path
from typing import Any

import torch


def peak_rss_mb() -> float:
    """Peak resident set size of this process [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, Any]:
    """What ran the benchmark."""
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as f:
        json.dump(payload, f, indent=2)
    os.replace(f.name, path)


def print_table(rows: list[dict[str, Any]], cols: list[str]) -> None:
    """Print rows as a fixed-width table."""
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in cols))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def run_cases(script: str, cases: list[str], args: list[str]) -> list[dict[str, Any]]:
    """Run ``script --case C *args`` per case in a fresh process (own peak RSS).

    The script prints one JSON row as its last stdout line.
    """
    import subprocess
    import sys

    rows = []
    for case in cases:
        out = subprocess.run(
            [sys.executable, script, "--case", case, *args],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def weight_cases(script: str, a: Any, run_case: Any, cases: list[str]) -> list | None:
    """Both sides of a ``--weights/--repeats/--threads`` benchmark.

    With ``a.case`` (the child): run that case, print its JSON row, return None.
    Otherwise run every case of ``script`` in its own process and return the rows.
    """
    if a.case:
        torch.set_num_threads(a.threads)
        print(json.dumps(run_case(a.case, a.weights, a.repeats)))
        return None
    args = ["--weights", str(a.weights), "--repeats", str(a.repeats)]
    return run_cases(script, cases, [*args, "--threads", str(a.threads)])
