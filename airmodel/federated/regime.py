# SPDX-License-Identifier: Apache-2.0
"""Regime map of federated results: Es/N0 to reach a share of the noise-free accuracy.

``python -m airmodel.federated.regime FOLDER [FOLDER ...] [--plot PREFIX]``
prints, per receiver, the final test accuracy per Es/N0 (mean ± std over
runs), the Es/N0 at which the mean final accuracy first reaches 60 % / 80 %
(``--metric peak``: the peak accuracy over the run's test evaluations, the
paper's metric — the round is then picked on the test set, an oracle)
of the noise-free accuracy (piecewise-linear in dB,
:func:`~airmodel.evaluation.report.crossing`), the gain over ML and the
diverged runs. Several folders of the same protocol (e.g. a second one with
a larger validation set) are read as one.
"""

from __future__ import annotations

import argparse
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airmodel.evaluation.results import read_results
from airmodel.evaluation.uncertainty import (
    LEVEL,
    RESAMPLES,
    Gain,
    bootstrap_gains,
    crossing,
    curves_from_rows,
    format_gain,
    per_draw_spread,
)

__all__ = [
    "choose_on_validation",
    "crossing_spreads",
    "final_runs",
    "format_gains",
    "format_regime",
    "gain_intervals",
    "is_diverged",
    "main",
    "regime_table",
    "validation_groups",
]


def is_diverged(rows: Sequence[dict[str, Any]], num_classes: int) -> bool:
    """Whether one run (its rows, in round order) diverged.

    Diverged = the run ended on the loss guard or a non-finite number
    (``diverged`` row, non-finite loss or weight error: non-finite weights),
    or its last accuracy is at chance (<= 1.5 / num_classes) after it had
    exceeded chance clearly (peak >= 3 / num_classes).
    """
    if any(r.get("diverged") for r in rows):
        return True
    for r in rows:
        for k in ("train_loss", "weight_mse"):
            v = r.get(k)
            if v is not None and not math.isfinite(float(v)):
                return True
    peak = max(r["accuracy"] for r in rows)
    return peak >= 3.0 / num_classes and rows[-1]["accuracy"] <= 1.5 / num_classes


def final_runs(
    rows: Sequence[dict[str, Any]], num_classes: int = 10
) -> list[dict[str, Any]]:
    """One dict per finished run: key, final and peak accuracy, validation, diverged."""
    runs: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        runs[(float(r["snr_db"]), r["denoiser"], r["run"])].append(r)
    out = []
    for (snr, den, run), rs in runs.items():
        rs = sorted(rs, key=lambda r: r["round"])
        if not rs[-1].get("last"):
            continue  # unfinished
        out.append({
            "snr_db": snr, "denoiser": den, "run": run,
            "accuracy": rs[-1]["accuracy"],
            "peak_accuracy": max(r["accuracy"] for r in rs),
            "val_accuracy": rs[-1].get("val_accuracy"),
            "diverged": is_diverged(rs, num_classes),
            "evaluations": float(np.mean([r.get("evaluations") or 0 for r in rs])),
        })  # fmt: skip
    return out


def _by_point(finals: Sequence[dict[str, Any]]) -> dict[str, dict[float, list[float]]]:
    """Final accuracies per receiver and finite Es/N0, in run order."""
    acc: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in sorted(finals, key=lambda r: r["run"]):
        if math.isfinite(r["snr_db"]):
            acc[r["denoiser"]][r["snr_db"]].append(r["accuracy"])
    return acc


def regime_table(
    finals: Sequence[dict[str, Any]],
    clean: float,
    fractions: Sequence[float] = (0.6, 0.8),
    reference: str = "ml",
) -> list[dict[str, Any]]:
    """Per receiver: Es/N0 [dB] where its mean final accuracy reaches each
    ``fraction * clean``; ``gain@f`` = reference's Es/N0 minus this one's
    (``nan`` where either is not reached, or both are reached at their lowest
    point; ``-inf`` Es/N0: reached at the lowest point swept, and the gain is
    then a bound, flagged ``bound@f``: ``"≥"`` the reference's Es/N0 minus that
    point, or ``"≤"`` where the reference is the one below its lowest point).
    Finite Es/N0 points only; ``runs`` = fewest runs of a point.
    """
    acc = _by_point(finals)
    div: dict[str, int] = defaultdict(int)
    for r in finals:
        if math.isfinite(r["snr_db"]):
            div[r["denoiser"]] += bool(r["diverged"])
    table = []
    for den, by in acc.items():
        pts = sorted(by)
        ys = [float(np.mean(by[p])) for p in pts]
        line: dict[str, Any] = {
            "denoiser": den,
            "runs": min(len(v) for v in by.values()),
            "diverged": div[den],
            "points": {p: (float(np.mean(by[p])), float(np.std(by[p]))) for p in pts},
        }
        for f in fractions:
            line[f"snr@{f:.0%}"] = crossing(pts, ys, f * clean)
        table.append(line)
    ref = next((t for t in table if t["denoiser"] == reference), None)
    for t in table:
        for f in fractions:
            k = f"snr@{f:.0%}"
            gain, bound = math.nan, ""
            if ref is not None and t is ref:
                gain = 0.0
            elif ref is not None and math.isfinite(ref[k]) and math.isfinite(t[k]):
                gain = ref[k] - t[k]
            elif ref is not None and math.isfinite(ref[k]) and t[k] == -math.inf:
                gain, bound = ref[k] - min(t["points"]), "≥"  # a lower bound
            elif ref is not None and ref[k] == -math.inf and math.isfinite(t[k]):
                gain, bound = min(ref["points"]) - t[k], "≤"  # an upper bound
            t[f"gain@{f:.0%}"] = gain
            if bound:
                t[f"bound@{f:.0%}"] = bound
    return table


def _curves(finals: Sequence[dict[str, Any]]):
    noisy = [r for r in finals if math.isfinite(r["snr_db"])]
    return curves_from_rows(noisy, x="snr_db", y="accuracy", point="snr_db", draw="run")


def gain_intervals(
    finals: Sequence[dict[str, Any]],
    clean: float,
    reference: str,
    fractions: Sequence[float] = (0.6, 0.8),
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> dict[str, dict[float, Gain]]:
    """Each receiver's gain over ``reference`` with its paired bootstrap interval.

    The one implementation of every table
    (:func:`airmodel.evaluation.uncertainty.bootstrap_gains`): per Es/N0 point
    the run indices common to both receivers are resampled with replacement,
    the same indices for every receiver (run ``r`` of every receiver at one point
    shares the seeds and the noise draws); crossings outside the swept range
    are clamped to its ends (the gain is then a bound).
    """
    targets = [f * clean for f in fractions]
    gains = bootstrap_gains(_curves(finals), reference, targets, level, resamples, seed)
    return {
        den: {f: g[t] for f, t in zip(fractions, targets, strict=True)}
        for den, g in gains.items()
    }


def crossing_spreads(
    finals: Sequence[dict[str, Any]], clean: float, fractions: Sequence[float] = (0.6, 0.8)
) -> dict[str, dict[float, float]]:
    """Per receiver and fraction: the std over runs of each run's own Es/N0
    crossing (``nan`` with one run), the spread every table prints beside the
    mean-curve crossing (:func:`airmodel.evaluation.uncertainty.per_draw_spread`)."""
    return {
        den: {f: per_draw_spread(c, f * clean) for f in fractions}
        for den, c in _curves(finals).items()
    }


def choose_on_validation(
    finals: Sequence[dict[str, Any]], candidates: Sequence[str], run: int = 0
) -> dict[float, str]:
    """Per Es/N0: the candidate whose run ``run`` ends with the best validation accuracy.

    The paper's v1 code fixes lambda' per run; this picks it among
    ``candidates`` without looking at the test set. A run that diverged (it
    has no final validation score) ranks below every finished one; where all
    diverged, the first candidate listed stands for them.
    """
    best: dict[float, tuple[float, str]] = {}
    order = {c: i for i, c in enumerate(candidates)}
    for r in sorted(finals, key=lambda r: order.get(r["denoiser"], 0)):
        if r["denoiser"] in candidates and r["run"] == run:
            val = r["val_accuracy"]
            if val is None and not r.get("diverged"):
                continue  # unscored and not diverged: no evidence either way
            val = -1.0 if val is None else val
            cur = best.get(r["snr_db"])
            if cur is None or val > cur[0]:
                best[r["snr_db"]] = (val, r["denoiser"])
    return {snr: den for snr, (_, den) in sorted(best.items())}


_FIXED_LAM = re.compile(r"^mmse_pb\((\d+(?:\.\d+)?)\)(\[[a-z]+\])?$")


def validation_groups(receivers: Sequence[str]) -> dict[str, list[str]]:
    """Receivers whose lambda' is chosen per Es/N0 on validation, by family.

    ``mmse_pb(0.95)``-style labels (one fixed lambda' per run) form the
    paper's v1 family ``mmse_pb[v1]`` together with ``ml`` (lambda' = 1);
    labels with a prior suffix, e.g. ``mmse_pb(0.999)[power]``, form their
    own family ``mmse_pb[power][v1]``.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for r in sorted(receivers):
        m = _FIXED_LAM.match(r)
        if m:
            groups[f"mmse_pb{m.group(2) or ''}[v1]"].append(r)
    if "mmse_pb[v1]" in groups and "ml" in receivers:
        groups["mmse_pb[v1]"].insert(0, "ml")
    return dict(groups)


def _db(v: float) -> str:
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "≤ lowest" if v < 0 else "∞"
    return f"{v:.1f}"


def format_regime(
    table: Sequence[dict[str, Any]],
    fractions=(0.6, 0.8),
    spreads: dict[str, dict[float, float]] | None = None,
) -> str:
    """Markdown: accuracy per Es/N0, Es/N0 at each fraction (± the spread of the
    runs' own crossings, :func:`crossing_spreads`, when given), gain over ML."""
    spreads = spreads or {}
    pts = sorted({p for t in table for p in t["points"]})
    head = (
        "| receiver | runs | "
        + " | ".join(f"{p:g} dB" for p in pts)
        + " | "
        + " | ".join(f"Es/N0 @{f:.0%} | gain @{f:.0%}" for f in fractions)
        + " | diverged |"
    )
    out = [head, "|---" * (3 + len(pts) + 2 * len(fractions)) + "|"]
    for t in table:
        cells = [
            f"{100 * t['points'][p][0]:.1f} ± {100 * t['points'][p][1]:.1f}"
            if p in t["points"]
            else ""
            for p in pts
        ]
        fr = [
            _crossing(t[f"snr@{f:.0%}"], spreads.get(t["denoiser"], {}).get(f))
            + " | "
            + (t[f"bound@{f:.0%}"] + " " if t.get(f"bound@{f:.0%}") else "")
            + _db(t[f"gain@{f:.0%}"])
            for f in fractions
        ]
        out.append(
            f"| {t['denoiser']} | {t['runs']} | "
            + " | ".join(cells)
            + " | "
            + " | ".join(fr)
            + f" | {t['diverged']} |"
        )
    return "\n".join(out)


def format_gains(
    table: Sequence[dict[str, Any]],
    intervals: dict[str, dict[float, Gain]] | None = None,
    fractions=(0.6, 0.8),
) -> str:
    """Markdown: each receiver's gain over the table's reference at each fraction,
    with its paired bootstrap interval (:func:`gain_intervals`) when given, in
    the one format of every table (``not resolved`` where it contains 0)."""
    out = [
        "| receiver | " + " | ".join(f"gain @{f:.0%}" for f in fractions) + " |",
        "|---" * (1 + len(fractions)) + "|",
    ]
    intervals = intervals or {}
    for t in table:
        cells = []
        for f in fractions:
            g = intervals.get(t["denoiser"], {}).get(f)
            if g is not None and not math.isnan(t[f"gain@{f:.0%}"]):
                cells.append(format_gain(g))
                continue
            bound = t.get(f"bound@{f:.0%}")
            cells.append((bound + " " if bound else "") + _db(t[f"gain@{f:.0%}"]))
        out.append(f"| {t['denoiser']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _crossing(x: float, spread: float | None) -> str:
    if spread is None or math.isnan(spread) or not math.isfinite(x):
        return _db(x)
    return f"{x:.1f} ± {spread:.1f}"


_INTERVAL_NOTE = (
    f"[lo, hi]: paired bootstrap {100 * LEVEL:.0f} % interval of the gain over "
    f"{RESAMPLES:,} resamples of the runs, expanded for few runs; not resolved: it "
    "contains 0; Es/N0 x ± s: the mean curve's crossing ± the spread of the runs' "
    "own crossings (docs/concepts.md#crossings-and-their-uncertainty)"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the regime table of one or more federated results folders."""
    p = argparse.ArgumentParser(prog="python -m airmodel.federated.regime")
    p.add_argument("folders", nargs="+")
    p.add_argument("--clean-from", default="ml", help="receiver of the inf-dB run")
    p.add_argument("--plot", help="PNG prefix: PREFIX_round.png, PREFIX_snr.png")
    p.add_argument(
        "--metric",
        choices=("final", "peak"),
        default="final",
        help="final accuracy, or the peak over the run's test evaluations (an oracle)",
    )
    p.add_argument(
        "--versus", nargs="*", default=[], help="also print gains over these receivers"
    )
    p.add_argument(
        "--round-snr", type=float, nargs="*", help="Es/N0 points of the round plot"
    )
    a = p.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for f in a.folders:
        if not Path(f).is_dir():
            p.error(f"{f} is not a results folder; pass the out_dir of `airmodel run`.")
        rows += read_results(f)[1]
    finals = final_runs(rows)
    if a.metric == "peak":  # the paper's metric; the round is picked on the test set
        finals = [{**r, "accuracy": r["peak_accuracy"]} for r in finals]
        print("metric: peak test accuracy over each run (the paper's; an oracle)")
    ref = [r["accuracy"] for r in finals if r["snr_db"] == math.inf
           and r["denoiser"] == a.clean_from]  # fmt: skip
    if not ref:
        p.error(
            f"no finished inf-dB run of {a.clean_from!r}; add .inf to sweep.snr_db."
        )
    clean = float(np.mean(ref))
    print(f"noise-free accuracy ({a.clean_from}, {len(ref)} runs): {100 * clean:.1f} %")
    groups = validation_groups({r["denoiser"] for r in finals})
    chosen = {g: choose_on_validation(finals, c) for g, c in groups.items()}
    for g, picks in chosen.items():  # v1: lambda' per Es/N0 by validation
        finals += [
            {**r, "denoiser": g}
            for r in finals
            if picks.get(r["snr_db"]) == r["denoiser"]
        ]
    table = regime_table(finals, clean)
    print(format_regime(table, spreads=crossing_spreads(finals, clean)))
    if any(t["denoiser"] == "ml" for t in table):
        print("\ngain over ml [dB]:")
        print(format_gains(table, gain_intervals(finals, clean, "ml")))
        print(_INTERVAL_NOTE)
    for g, picks in chosen.items():
        print(
            f"{g}: lambda' picked among {', '.join(groups[g])} by run 0's final "
            "validation accuracy: "
            + ", ".join(f"{snr:g} dB: {den}" for snr, den in picks.items())
        )
    for ref in a.versus:
        if ref not in {t["denoiser"] for t in table}:
            p.error(f"--versus {ref!r}: no such receiver in these folders.")
        print(f"\ngain over {ref} [dB]:")
        print(
            format_gains(
                regime_table(finals, clean, reference=ref),
                gain_intervals(finals, clean, ref),
            )
        )
        print(_INTERVAL_NOTE)
    if a.plot:
        from airmodel.evaluation.plot import plot_accuracy

        noisy = [r for r in finals if math.isfinite(r["snr_db"])]
        plot_accuracy(
            noisy, f"{a.plot}_snr.png", x="snr_db", xlabel="Es/N0 of the sum [dB]",
            clean_accuracy=clean, title="final test accuracy, mean ± std over runs",
        )  # fmt: skip
        if a.round_snr:
            rows = [r for r in rows if float(r["snr_db"]) in a.round_snr]
        plot_accuracy(
            rows, f"{a.plot}_round.png", x="round", curve="denoiser",
            dash="snr_db", dash_unit=" dB", xlabel="communication round",
            clean_accuracy=clean, title="test accuracy vs round, mean ± std over runs",
        )  # fmt: skip


if __name__ == "__main__":
    main()
