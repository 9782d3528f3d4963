# SPDX-License-Identifier: Apache-2.0
"""The MIMO mode table of docs/mimo.md from the committed results folders.

``python docs/data/mimo_digits/table.py [docs/data/mimo_digits]`` prints, per mode and
receiver, the Es/N0 and the energy per weight Ew/N0 = Es/N0 + 10 log10(channel
uses per weight) at which mean test accuracy over the draws reaches 60 % and
80 % (linear interpolation, ``airmodel.evaluation.report.crossing``), each with
the project's 90 % bootstrap interval (expanded for few draws,
:func:`airmodel.evaluation.uncertainty.expanded_levels`) from 2,000 resamples of the draws (the
same resampled draw indices for every mode: draw d has the same trial seed in
every folder), and the channel uses per weight at that point (time): the
folder's, or for SVD water-filling (fewer streams in poor channels) the one
each transmission measured, interpolated at the 60 % / 80 % crossing.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from airmodel.evaluation.report import crossing
from airmodel.evaluation.results import read_results
from airmodel.evaluation.uncertainty import LEVEL, expanded_levels

TARGETS = (0.6, 0.8)
BOOT = 2000

#: Folder name -> label, in table order.
MODES = {
    "siso_1x1": "1x1",
    "mrc_1x2": "1x2 MRC",
    "alamouti_2x2": "2x2 Alamouti",
    "sm_2x2_lmmse": "2x2 SM LMMSE",
    "sm_2x2_zf": "2x2 SM ZF",
    "svd_2x2": "2x2 SVD (equal power)",
    "svd_2x2_waterfill": "2x2 SVD (water-filling)",
    "sm_4x4_lmmse": "4x4 SM LMMSE",
    "sm_4x4_zf": "4x4 SM ZF",
}


def load(folder: Path) -> tuple[dict, dict]:
    """{denoiser: {esno: {draw: accuracy}}} and {esno: channel uses per weight}.

    The channel uses per weight are the rows' own where they carry one (SVD
    water-filling: measured per transmission, mean over the point's rows),
    else the folder's (meta.json)."""
    acc: dict = defaultdict(lambda: defaultdict(dict))
    meta, rows = read_results(folder)
    cus: dict = defaultdict(list)
    for r in rows:
        acc[r["denoiser"]][float(r["esno_db"])][int(r["draw"])] = float(r["accuracy"])
        cu = r.get("channel_uses_per_weight", meta["channel_uses_per_weight"])
        cus[float(r["esno_db"])].append(float(cu))
    return acc, {p: float(np.mean(v)) for p, v in cus.items()}


def cu_at(cu: dict, x: float) -> float:
    """Channel uses per weight at Es/N0 ``x`` (linear between points, ends held)."""
    pts = sorted(cu)
    if not np.isfinite(x):
        return cu[pts[-1] if x > 0 else pts[0]]
    return float(np.interp(x, pts, [cu[p] for p in pts]))


def crossings(by_pt: dict, draws: np.ndarray) -> list[float]:
    pts = sorted(by_pt)
    ys = [float(np.mean([by_pt[p][d] for d in draws])) for p in pts]
    return [crossing(pts, ys, t) for t in TARGETS]


def fmt(x: float, lo: float, hi: float) -> str:
    if math.isnan(x):
        return "not reached"
    if not np.isfinite(hi):  # some resamples never reach the target in the grid
        return f"{x:.1f} [{lo:.1f}, not reached]"
    return f"{x:.1f} [{lo:.1f}, {hi:.1f}]"


def main(root: str = "docs/data/mimo_digits") -> str:
    base = Path(root)
    rng = np.random.default_rng(0)
    lines = [
        "| mode | receiver | ch. uses / weight | Es/N0 @60 % | Ew/N0 @60 % "
        "| Es/N0 @80 % | Ew/N0 @80 % |",
        "|---|---|---|---|---|---|---|",
    ]
    resamples = None
    for name, label in MODES.items():
        if not (base / name / "rows.jsonl").exists():
            continue
        acc, cu = load(base / name)
        for den, by_pt in acc.items():
            common = set.intersection(*(set(v) for v in by_pt.values()))
            if len(common) < max(len(v) for v in by_pt.values()):
                continue  # a run still going: only complete folders
            n_draws = len(common)
            draws = np.array(sorted(common))
            if resamples is None:
                resamples = rng.integers(0, n_draws, (BOOT, n_draws))
            point = crossings(by_pt, draws)
            boot = np.array([crossings(by_pt, draws[d]) for d in resamples])  # [B, targets]
            boot = np.where(
                np.isnan(boot), np.inf, boot
            )  # not reached: above the range
            cells, uses = [], []
            for j in range(len(TARGETS)):
                lo, hi = np.quantile(boot[:, j], expanded_levels(LEVEL, n_draws))
                hi = np.inf if np.isnan(hi) else hi  # quantile between infs
                x = point[j]
                cells.append(fmt(x, lo, hi))
                # energy per weight: Es/N0 + 10 log10(ch. uses/weight at that Es/N0)
                ew = [v + 10 * math.log10(cu_at(cu, v)) for v in (x, lo, hi)]
                cells.append(fmt(*ew))
                uses.append(cu_at(cu, x) if np.isfinite(x) else math.nan)
            use = (
                " / ".join(f"{u:.3g}" if np.isfinite(u) else "–" for u in uses)
                + " (measured)"
                if len(set(cu.values())) > 1
                else f"{next(iter(cu.values())):g}"
            )
            lines.append(f"| {label} | {den} | {use} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: Per-weight noise vs its average (run_noise.sh): folder -> label.
NOISE = {"sm_2x2_lmmse_noise": "2x2 SM LMMSE", "sm_4x4_zf_noise": "4x4 SM ZF"}


def noise_table(root: str = "docs/data/mimo_digits") -> str:
    """Accuracy [%] with each weight's own no_w minus with only its average, per
    Es/N0: mean over the draws (paired: the same draw) and a 90 % expanded bootstrap interval."""
    rng = np.random.default_rng(1)
    lines = [
        "| mode | receivers | Es/N0 [dB] | accuracy per-weight | accuracy average "
        "| difference [points] |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in NOISE.items():
        if not (Path(root) / name / "rows.jsonl").exists():
            continue
        acc, _ = load(Path(root) / name)
        for per, avg in (("mmse", "mmse[avg-no]"), ("mmse+bn500", "mmse[avg-no]+bn500")):
            for p in sorted(acc[per]):
                draws = sorted(set(acc[per][p]) & set(acc[avg][p]))
                a = np.array([acc[per][p][d] for d in draws]) * 100
                b = np.array([acc[avg][p][d] for d in draws]) * 100
                diff = a - b
                idx = rng.integers(0, len(diff), (BOOT, len(diff)))
                lo, hi = np.quantile(diff[idx].mean(1), expanded_levels(LEVEL, len(diff)))
                lines.append(
                    f"| {label} | {per} vs {avg} | {p:g} | {a.mean():.1f} | "
                    f"{b.mean():.1f} | {diff.mean():+.1f} [{lo:+.1f}, {hi:+.1f}] |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(*sys.argv[1:]))
    print()
    print(noise_table(*sys.argv[1:]))
