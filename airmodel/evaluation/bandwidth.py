# SPDX-License-Identifier: Apache-2.0
"""The best scheme per (channel uses per weight, Es/N0) from a scheme-comparison folder.

``python -m airmodel.evaluation.bandwidth results/bandwidth_digits --receiver ml``
reads every compared scheme's sub-folder (its rows and the ``channel_uses_per_weight``
its meta records), and for each budget ``cu`` and Es/N0 names the scheme with the
highest mean test accuracy among those spending exactly ``cu`` channel uses per weight
(equal bandwidth; equal Es/N0 at equal ``cu`` is equal energy per weight,
``Ew/N0 = Es/N0 + 10 log10 cu``). Its margin over the runner-up carries the
project's paired bootstrap interval (90 %, expanded for few draws:
:mod:`airmodel.evaluation.uncertainty`) over the draws both share (same trial seeds and
validation subsets), resampling draws with a seed from :func:`airmodel.seed.derive_seed`.
Choosing the best on the test set is a comparison, not a tuned setting: the margin's
interval says whether the choice is resolved.
"""

from __future__ import annotations

import argparse
import functools
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airmodel.evaluation.plot import ew_n0_db
from airmodel.evaluation.results import read_results
from airmodel.evaluation.uncertainty import LEVEL, expanded_levels
from airmodel.seed import derive_seed, point_key

__all__ = [
    "best_scheme_table",
    "crossing_table",
    "load_scheme_rows",
    "markdown_table",
    "plot_best",
    "main",
]


def load_scheme_rows(folder: str | Path) -> list[dict[str, Any]]:
    """Rows of every scheme sub-folder, each with ``scheme`` and ``channel_uses_per_weight``."""
    out = []
    for sub in sorted(Path(folder).iterdir()):
        if not (sub / "meta.json").is_file():
            continue
        meta, rows = read_results(sub)
        cu = meta.get("channel_uses_per_weight")
        if cu is None:
            continue
        out += [{**r, "scheme": sub.name, "channel_uses_per_weight": cu} for r in rows]
    return out


def _paired_interval(
    a: dict[int, float], b: dict[int, float], seed: int, resamples: int
) -> tuple[float, float, float, int]:
    draws = sorted(set(a) & set(b))
    d = np.array([a[k] - b[k] for k in draws])
    if d.size == 0:
        return math.nan, math.nan, math.nan, 0
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, d.size, (resamples, d.size))].mean(axis=1)
    lo, hi = np.quantile(boot, expanded_levels(LEVEL, d.size))
    return float(d.mean()), float(lo), float(hi), int(d.size)


def best_scheme_table(
    rows: Sequence[dict[str, Any]],
    receiver: str = "ml",
    seed: int = 0,
    resamples: int = 2000,
) -> list[dict[str, Any]]:
    """One line per (cu, Es/N0): best scheme, its accuracy, margin over the runner-up.

    :param rows: from :func:`load_scheme_rows` (``scheme``, ``channel_uses_per_weight``,
        ``esno_db``, ``draw``, ``denoiser``, ``accuracy``).
    :param receiver: the ``denoiser`` key every scheme is scored with.
    :output table: ``channel_uses_per_weight``, ``esno_db``, ``ew_n0_db``, ``best``,
        ``accuracy`` (mean over draws), ``schemes`` (how many at this cu),
        ``runner_up``, ``margin`` and its 90 % interval ``margin_lo``/``margin_hi``
        over ``draws`` paired draws (``nan`` when only one scheme spends this cu).
    """
    acc: dict[tuple[float, float], dict[str, dict[int, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for r in rows:
        if r["denoiser"] == receiver:
            key = (float(r["channel_uses_per_weight"]), float(r["esno_db"]))
            acc[key][r["scheme"]][int(r["draw"])] = float(r["accuracy"])
    table = []
    for (cu, esno), per in sorted(acc.items()):
        ranked = sorted(per, key=lambda s: (-float(np.mean(list(per[s].values()))), s))
        best = ranked[0]
        line = {
            "channel_uses_per_weight": cu,
            "esno_db": esno,
            "ew_n0_db": ew_n0_db(esno, cu),
            "best": best,
            "accuracy": float(np.mean(list(per[best].values()))),
            "schemes": len(ranked),
            "runner_up": ranked[1] if len(ranked) > 1 else "",
        }
        m = lo = hi = math.nan
        n = len(per[best])
        if len(ranked) > 1:
            s = derive_seed(
                seed, "bandwidth_bootstrap", point_key(esno), round(cu * 1e6)
            )
            m, lo, hi, n = _paired_interval(per[best], per[ranked[1]], s, resamples)
        table.append(
            {**line, "margin": m, "margin_lo": lo, "margin_hi": hi, "draws": n}
        )
    return table


def markdown_table(table: Sequence[dict[str, Any]]) -> str:
    """The table as Markdown (accuracy and margin in percentage points)."""
    lines = [
        "| ch. uses/weight | Es/N0 [dB] | Ew/N0 [dB] | best scheme | accuracy | "
        "runner-up | margin [pp] (90 % CI) | draws |",
        "|---:|---:|---:|---|---:|---|---|---:|",
    ]
    for t in table:
        margin = (
            "—"
            if math.isnan(t["margin"])
            else f"{100 * t['margin']:+.1f} ({100 * t['margin_lo']:+.1f}, "
            f"{100 * t['margin_hi']:+.1f})"
        )
        lines.append(
            f"| {t['channel_uses_per_weight']:g} | {t['esno_db']:g} | "
            f"{t['ew_n0_db']:.2f} | {t['best']} | {100 * t['accuracy']:.1f} % | "
            f"{t['runner_up'] or '—'} | {margin} | {t['draws']} |"
        )
    return "\n".join(lines) + "\n"


def accuracy_matrix(rows: Sequence[dict[str, Any]], receiver: str = "ml") -> str:
    """Markdown: one line per scheme (sorted by cu), mean accuracy [%] per Es/N0, and
    the schemes' mean kept fraction / copies per weight where the budget set them."""
    acc: dict[tuple[float, str], dict[float, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    extra: dict[tuple[float, str], str] = {}
    for r in rows:
        if r["denoiser"] != receiver:
            continue
        key = (float(r["channel_uses_per_weight"]), r["scheme"])
        acc[key][float(r["esno_db"])].append(float(r["accuracy"]))
        if "kept_fraction" in r:
            extra[key] = f"kept {r['kept_fraction']:.3f}, copies {r['mean_copies']:.2f}"
    snrs = sorted({s for per in acc.values() for s in per})
    head = "| scheme | cu | budget | " + " | ".join(f"{s:g} dB" for s in snrs) + " |"
    lines = [head, "|---|---:|---|" + "---:|" * len(snrs)]
    for cu, name in sorted(acc):
        per = acc[(cu, name)]
        cells = [f"{100 * np.mean(per[s]):.1f}" if s in per else "" for s in snrs]
        lines.append(
            f"| {name} | {cu:g} | {extra.get((cu, name), '—')} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def _fmt(v: float, first: float) -> str:
    """A crossing [dB]: ``n/a`` if never reached, ``< first`` below the grid."""
    return "n/a" if math.isnan(v) else f"< {first:g}" if v < first else f"{v:.2f}"


def crossing_table(
    rows: Sequence[dict[str, Any]],
    receiver: str = "ml",
    target: float = 0.8,
    seed: int = 0,
    resamples: int = 2000,
) -> str:
    """Markdown: per scheme, the Es/N0 and Ew/N0 [dB] where the mean accuracy first
    reaches ``target`` (linear interpolation, :func:`airmodel.evaluation.report.crossing`),
    with a 90 % bootstrap interval over draws (expanded) (the same draws resampled at every
    Es/N0; a resample that never reaches the target counts as +inf)."""
    from airmodel.evaluation.report import crossing

    acc: dict[tuple[float, str], dict[float, dict[int, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for r in rows:
        if r["denoiser"] == receiver:
            key = (float(r["channel_uses_per_weight"]), r["scheme"])
            acc[key][float(r["esno_db"])][int(r["draw"])] = float(r["accuracy"])
    lines = [
        f"| scheme | cu | Es/N0 @ {100 * target:g} % [dB] (90 % CI) | Ew/N0 @ "
        f"{100 * target:g} % [dB] | draws |",
        "|---|---:|---|---:|---:|",
    ]
    for cu, name in sorted(acc):
        per = acc[(cu, name)]
        snrs = sorted(per)
        draws = sorted(set.intersection(*(set(per[x]) for x in snrs)))
        m = np.array([[per[x][d] for d in draws] for x in snrs])  # [snr, draw]
        point = crossing(snrs, list(m.mean(axis=1)), target)
        rng = np.random.default_rng(derive_seed(seed, "bandwidth_crossing", len(draws)))
        boot = []
        for _ in range(resamples):
            idx = rng.integers(0, len(draws), len(draws))
            c = crossing(snrs, list(m[:, idx].mean(axis=1)), target)
            boot.append(math.inf if math.isnan(c) else c)
        lo, hi = np.quantile(
            np.clip(boot, snrs[0] - 1.0, math.inf), expanded_levels(LEVEL, len(draws))
        )

        first = snrs[0]
        f = functools.partial(_fmt, first=first)
        ew = (
            f"< {first + 10 * math.log10(cu):.2f}"
            if point < first
            else _fmt(point + 10 * math.log10(cu), -math.inf)
        )
        lines.append(
            f"| {name} | {cu:g} | {f(point)} ({f(lo)}, {f(hi)}) | {ew} | {len(draws)} |"
        )
    return "\n".join(lines) + "\n"


def plot_best(
    table: Sequence[dict[str, Any]], path: str | Path, title: str = ""
) -> Path:
    """Grid (cu x Es/N0): colour = best accuracy, text = best scheme; resolved
    margins (interval above 0) in bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cus = sorted({t["channel_uses_per_weight"] for t in table})
    snrs = sorted({t["esno_db"] for t in table})
    grid = np.full((len(cus), len(snrs)), np.nan)
    fig, ax = plt.subplots(figsize=(1.1 * len(snrs) + 2, 0.7 * len(cus) + 1.5))
    for t in table:
        i, j = cus.index(t["channel_uses_per_weight"]), snrs.index(t["esno_db"])
        grid[i, j] = t["accuracy"]
        resolved = not math.isnan(t["margin_lo"]) and t["margin_lo"] > 0
        ax.text(
            j, i, f"{t['best']}\n{100 * t['accuracy']:.0f}%", ha="center", va="center",
            fontsize=6, fontweight="bold" if resolved else "normal",
        )  # fmt: skip
    im = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(snrs)), [f"{s:g}" for s in snrs])
    ax.set_yticks(range(len(cus)), [f"{c:g}" for c in cus])
    ax.set_xlabel("Es/N0 per channel use [dB]")
    ax.set_ylabel("channel uses per weight")
    ax.set_title(title, fontsize=8)
    fig.colorbar(im, ax=ax, label="best mean accuracy")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: print the Markdown table; ``--plot`` writes the grid."""
    p = argparse.ArgumentParser(prog="python -m airmodel.evaluation.bandwidth")
    p.add_argument(
        "folder",
        nargs="+",
        help="scheme-comparison results folders (same seed: their schemes pair by draw)",
    )
    p.add_argument("--receiver", default="ml", help="denoiser key (default ml)")
    p.add_argument("--plot", help="PNG path for the best-scheme grid")
    p.add_argument(
        "--crossing",
        type=float,
        action="append",
        help="also the Es/N0 at this accuracy",
    )
    p.add_argument(
        "--matrix",
        action="store_true",
        help="also print each scheme's accuracy per Es/N0",
    )
    args = p.parse_args(argv)
    rows, seen = [], set()
    for folder in args.folder:
        got = load_scheme_rows(folder)
        if not got:
            raise SystemExit(
                f"{folder}: no scheme sub-folders with rows; run a config with "
                "transmitter.compare first (e.g. configs/bandwidth_digits.yaml)."
            )
        names = {r["scheme"] for r in got}
        if names & seen:
            raise SystemExit(
                f"{folder}: scheme(s) {sorted(names & seen)} also in an earlier folder; "
                "give each compared scheme a unique label."
            )
        seen |= names
        rows += got
    table = best_scheme_table(rows, args.receiver)
    print(markdown_table(table), end="")
    if args.matrix:
        print()
        print(accuracy_matrix(rows, args.receiver), end="")
    for t in args.crossing or ():
        print()
        print(crossing_table(rows, args.receiver, t), end="")
    if args.plot:
        plot_best(
            table,
            args.plot,
            f"{' + '.join(args.folder)}: best scheme, receiver {args.receiver}",
        )


if __name__ == "__main__":
    main()
