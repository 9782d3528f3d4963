# SPDX-License-Identifier: Apache-2.0
"""League tables from a results folder: SNR/WNR at target accuracy, gain over ML."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airmodel.evaluation.results import read_results
from airmodel.evaluation.store import Journal

__all__ = [
    "accuracy_table",
    "crossing",
    "league_table",
    "format_markdown",
    "summary",
]


def crossing(xs: Sequence[float], ys: Sequence[float], target: float) -> float:
    """Smallest x where the piecewise-linear curve ``ys(xs)`` first reaches ``target``.

    ``nan`` if it never does; ``-inf`` if the first point is already above it.
    """
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if y >= target:
            if i == 0:
                return -math.inf
            x0, y0 = xs[i - 1], ys[i - 1]
            return x0 + (target - y0) * (x - x0) / (y - y0)
    return math.nan


def league_table(
    rows: Sequence[dict[str, Any]],
    targets: Sequence[float] = (0.6, 0.8),
    x: str = "wnr_db",
    reference: str = "ml",
) -> list[dict[str, Any]]:
    """One line per denoiser: ``x`` where mean accuracy reaches each target.

    The x of a point is the mean over its draws (WNR differs slightly per draw only
    through the weights' statistics). ``gain_db@t`` = reference's crossing minus
    this one's (positive = needs less SNR). ``evaluations`` = mean model
    evaluations spent on selection per (point, draw).
    """
    acc: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    xval: dict[float, list[float]] = defaultdict(list)
    evals: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        acc[r["denoiser"]][r["esno_db"]].append(r["accuracy"])
        xval[r["esno_db"]].append(r[x])
        evals[r["denoiser"]].append(float(r.get("evaluations") or 0))
    table = []
    for name, by_pt in acc.items():
        pts = sorted(by_pt)
        xs = [float(np.mean(xval[p])) for p in pts]
        ys = [float(np.mean(by_pt[p])) for p in pts]
        line: dict[str, Any] = {
            "denoiser": name,
            "draws": min(len(v) for v in by_pt.values()),
        }
        for t in targets:
            line[f"{x}@{t:.0%}"] = crossing(xs, ys, t)
        line["evaluations"] = float(np.mean(evals[name]))
        line["peak_accuracy"] = max(ys)
        table.append(line)
    ref = next((line for line in table if line["denoiser"] == reference), None)
    for line in table:
        for t in targets:
            k = f"{x}@{t:.0%}"
            line[f"gain_db@{t:.0%}"] = (
                (ref[k] - line[k]) if ref is not None else math.nan
            )
    key = f"{x}@{targets[0]:.0%}"
    return sorted(table, key=lambda r: (math.isnan(r[key]), r[key]))


def accuracy_table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: mean ± std test accuracy [%] over draws, one line per denoiser.

    Columns are the Es/N0 points in increasing order; denoisers keep their
    first-seen order.
    """
    acc: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        acc[r["denoiser"]][float(r["esno_db"])].append(100 * r["accuracy"])
    pts = sorted({p for by_pt in acc.values() for p in by_pt})
    out = [
        "| denoiser \\ Es/N0 [dB] | " + " | ".join(f"{p:g}" for p in pts) + " |",
        "|---|" + "---|" * len(pts),
    ]
    for name, by_pt in acc.items():
        cells = [
            f"{np.mean(by_pt[p]):.1f} ± {np.std(by_pt[p]):.1f}" if by_pt.get(p) else ""
            for p in pts
        ]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def format_markdown(table: Sequence[dict[str, Any]]) -> str:
    """A markdown table; numbers to 2 decimals, accuracy in %."""
    if not table:
        return ""
    cols = list(table[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table:
        cells = []
        for c in cols:
            v = r[c]
            if c == "peak_accuracy":
                cells.append(f"{v * 100:.1f}%")
            elif isinstance(v, float):
                cells.append("n/a" if math.isnan(v) else f"{v:.2f}")
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _has_results(folder: str | Path) -> bool:
    """Whether ``folder`` holds a journal or (older layout) a ``results.json``."""
    return any((Path(folder) / f).is_file() for f in (Journal.NAME, "results.json"))


def summary(folder: str | Path, targets: Sequence[float] = (0.6, 0.8)) -> str:
    """Short table printed after a run: WNR [dB] at each target accuracy per receiver.

    Reads the folder's rows (:func:`~airmodel.evaluation.results.read_results`);
    compared schemes are told apart by their ``curve``. Empty when the folder
    holds no inference rows (federated runs).
    """
    rows = read_results(folder)[1] if _has_results(folder) else []
    rows = [r for r in rows if "accuracy" in r and "wnr_db" in r and "esno_db" in r]
    if not rows:  # federated rows carry snr_db and round, no esno_db
        return ""
    rows = [{**r, "denoiser": r.get("curve", r["denoiser"])} for r in rows]
    table = league_table(rows, targets, x="wnr_db")
    keep = [
        "denoiser",
        *(f"{k}@{t:.0%}" for t in targets for k in ("wnr_db", "gain_db")),
    ]
    return format_markdown([{k: line[k] for k in keep} for line in table])


def main(argv: Sequence[str] | None = None) -> None:
    """``airmodel report RESULTS_DIR [--x wnr_db] [--by-snr]`` (or ``python -m ...``)."""
    import argparse

    p = argparse.ArgumentParser(prog="airmodel report", description=__doc__)
    p.add_argument("folder")
    p.add_argument("--x", default="wnr_db", choices=["wnr_db", "esno_db"])
    p.add_argument("--targets", default="0.6,0.8")
    p.add_argument(
        "--by-snr", action="store_true", help="also print accuracy per Es/N0 point"
    )
    a = p.parse_args(argv)
    if not _has_results(a.folder):
        p.error(
            f"{a.folder} holds no {Journal.NAME} or results.json; pass a results "
            "folder written by `airmodel run`."
        )
    meta, rows = read_results(a.folder)
    targets = [float(t) for t in a.targets.split(",")]
    print(
        f"clean accuracy {meta.get('clean_accuracy')}, test images "
        f"{meta.get('test_images')}"
    )
    print(format_markdown(league_table(rows, targets, x=a.x)))
    if a.by_snr:
        print()
        print(accuracy_table(rows))


if __name__ == "__main__":
    main()
