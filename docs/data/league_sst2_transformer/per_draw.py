"""Per-draw WNR thresholds and paired gains over ML from a results folder.

``python docs/data/league_sst2_transformer/per_draw.py FOLDER [--targets 0.75,0.70]``

For each receiver and target accuracy: the WNR [dB] where each draw's own curve
first reaches the target (``airmodel.evaluation.report.crossing``, linear
interpolation between Es/N0 points; WNR = the point's mean over draws), then the
mean ± standard deviation over draws, and the gain over ML paired by draw (same
noise draw for every receiver) as mean ± std. ``n`` = draws whose curve reaches
the target inside the swept range (the others are left out and counted).
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

import numpy as np

from airmodel.evaluation.report import crossing
from airmodel.evaluation.results import read_results


def per_draw(rows, target):
    acc = defaultdict(lambda: defaultdict(dict))  # denoiser -> draw -> esno -> acc
    wnr = defaultdict(list)
    for r in rows:
        acc[r["denoiser"]][r["draw"]][r["esno_db"]] = r["accuracy"]
        wnr[r["esno_db"]].append(r["wnr_db"])
    x_of = {p: float(np.mean(v)) for p, v in wnr.items()}
    out = {}
    for name, draws in acc.items():
        out[name] = {}
        for d, pts in draws.items():
            ps = sorted(pts)
            out[name][d] = crossing([x_of[p] for p in ps], [pts[p] for p in ps], target)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--targets", default="0.75,0.70")
    a = p.parse_args()
    _, rows = read_results(a.folder)
    names = list(dict.fromkeys(r["denoiser"] for r in rows))
    evals = defaultdict(list)
    for r in rows:
        evals[r["denoiser"]].append(float(r.get("evaluations") or 0))
    targets = [float(t) for t in a.targets.split(",")]
    cols = []
    for t in targets:
        cols += [f"WNR @ {t:.0%} [dB]", f"gain @ {t:.0%} [dB]"]
    print("| receiver | " + " | ".join(cols) + " | evaluations / trial |")
    print("|---" * (len(cols) + 2) + "|")
    table = {t: per_draw(rows, t) for t in targets}
    for name in names:
        cells = []
        for t in targets:
            th = table[t][name]
            ok = [d for d, v in th.items() if math.isfinite(v)]
            v = np.array([th[d] for d in ok])
            ml = table[t].get("ml", {})
            g = np.array(
                [ml[d] - th[d] for d in ok if math.isfinite(ml.get(d, math.nan))]
            )
            miss = len(th) - len(ok)
            note = f" (n={len(ok)})" if miss else ""
            cells.append(
                f"{v.mean():.2f} ± {v.std(ddof=1):.2f}{note}" if len(v) > 1 else "n/a"
            )
            cells.append(
                f"{g.mean():+.2f} ± {g.std(ddof=1):.2f}" if len(g) > 1 else "n/a"
            )
        print(f"| `{name}` | " + " | ".join(cells) + f" | {np.mean(evals[name]):.0f} |")


if __name__ == "__main__":
    main()
