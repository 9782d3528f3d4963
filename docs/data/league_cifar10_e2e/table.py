"""The table and plot of docs/league_e2e.md from the committed results folders.

Reads docs/data/league_cifar10_e2e/{original,hardened,fisher}/ (and the budget
transmitters' folders of league_cifar10_e2e_v2, docs/league_e2e.md#budget; each a results
folder of `airmodel run`), names every curve `TRANSMITTER RECEIVER`, and prints
per curve the Es/N0 where the mean curve over the draws first reaches 60 % / 80 %
± the standard deviation of the per-draw crossings, the gain over original + ML with
its paired bootstrap 90 % interval over draws (the one rule of every table:
airmodel/evaluation/uncertainty.py, docs/concepts.md), and the cost columns. At
equal energy per weight the x axis is Es/N0 (every transmitter sends unit-energy
symbols). Run from the repo root:
PYTHONPATH=. python docs/data/league_cifar10_e2e/table.py [--data DIR] [--ref CURVE] [--plot]
    [--expansion]
(DIR: a folder of per-transmitter results folders; default this one; CURVE: the
reference, default `original ml`). --expansion adds the 1-channel-use rows of
docs/data/league_cifar10_expansion/<transmitter>/<scheme>/ as `TRANSMITTER@SCHEME`,
their Es/N0 shifted by +3.01 dB so that every x is the 0.5-use Es/N0 of the same
energy per weight (Ew/N0 + 3.01 dB; docs/league_e2e.md#budget).
"""

import math
import sys
from pathlib import Path

from airmodel.evaluation.plot import plot_accuracy
from airmodel.evaluation.report import accuracy_table, league_table
from airmodel.evaluation.results import read_results
from airmodel.evaluation.uncertainty import format_crossing, format_gain

HERE = Path(__file__).resolve().parent
TRANSMITTERS = ("original", "hardened", "fisher", "hardened_fisher")
#: folders of league_cifar10_e2e_v2 only (docs/league_e2e.md#budget): transmitters
#: that prune and repeat the survivors at the same budget, and hardened networks
#: trained at one WNR (the single-SNR controls of the multi-SNR one)
EXTRA = (
    "prune50_hardened", "prune35_hardened", "hardened_keep50",
    "hardened_fixed0", "hardened_fixed5",
)  # fmt: skip
#: results folder -> transmitter: the *_adapt* folders hold the cells run after
#: the first four (adaptation then recalibration again; fisher's mmse_pb fit),
#: same seed and points, so the same draws.
FOLDERS = {tx: tx for tx in TRANSMITTERS + EXTRA} | {
    "original_adapt_recal": "original",
    "hardened_adapt_recal": "hardened",
    "fisher_fit_adapt": "fisher",
}
REF = "original ml"
TARGETS = (0.6, 0.8)


def costs(tx: str, rx: str) -> dict[str, str]:
    """Labels, unlabelled images, model evaluations and forward passes of a row."""
    labels = []
    if "hardened" in tx:
        labels.append("50,000 (tx fine-tune)")
    if "[fit]" in rx:
        labels.append("100 (rx fit)")
    unl = []
    if "fisher" in tx:
        unl.append("100 (tx Fisher)")
    if "+bn500" in rx:
        unl.append("500 (rx)")
    k = int(rx.split("+aug")[1]) if "+aug" in rx else 1
    extra = []
    if "+bn500" in rx:
        extra.append("500 fwd (recal.)")
    if "+im10" in rx:
        extra.append("10×128 fwd+bwd (adapt.)")
    if rx.endswith("bn"):
        extra.append("500 fwd (recal. again)")
    if "[fit]" in rx:
        extra.append("30 evals × 100 imgs")
    return {
        "labels": " + ".join(labels) or "none",
        "unlabelled": " + ".join(unl) or "0",
        "evaluations": "30" if "[fit]" in rx else "0",
        "forward": f"{k}× per test image" + (" + " + ", ".join(extra) if extra else ""),
    }


def expansion_rows(root: Path) -> list[dict]:
    """Rows sent at ``cu`` channel uses per weight, x moved to the 0.5-use Es/N0 of
    the same energy per weight: ``Es/N0 + 10 log10(cu / 0.5)``."""
    out = []
    for folder in sorted(p.parent for p in root.glob("*/*/rows.jsonl")):
        meta, rs = read_results(folder)
        cu = float(meta["channel_uses_per_weight"])
        shift = 10 * math.log10(cu / 0.5)
        tx = f"{folder.parent.name}@{folder.name}"
        out += [
            {**r, "denoiser": f"{tx} {r['denoiser']}", "esno_db": r["esno_db"] + shift}
            for r in rs
        ]
    return out


def main() -> None:
    data = Path(sys.argv[sys.argv.index("--data") + 1]) if "--data" in sys.argv else HERE
    rows, clean = [], {}
    for name, tx in FOLDERS.items():
        folder = data / name
        if not (folder / "rows.jsonl").is_file():
            print(f"(no results for {name} yet)", file=sys.stderr)
            continue
        meta, rs = read_results(folder)
        clean.setdefault(tx, meta.get("clean_accuracy"))
        rows += [{**r, "denoiser": f"{tx} {r['denoiser']}"} for r in rs]
    if "--expansion" in sys.argv:
        rows += expansion_rows(HERE.parent / "league_cifar10_expansion")
    ref = sys.argv[sys.argv.index("--ref") + 1] if "--ref" in sys.argv else REF
    table = league_table(rows, TARGETS, x="esno_db", reference=ref)
    table = [ln for ln in table if ln["draws"]]
    print(f"clean accuracy on the test subset: {clean}")
    print(
        "| transmitter | receiver | draws | Es/N0 @ 60 % [dB] | Es/N0 @ 80 % [dB] | gain "
        f"over {'original + ML' if ref == REF else ref} @ 60 % [dB] | @ 80 % [dB] "
        "| labels used | unlabelled images | model evaluations | forward passes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for line in table:
        tx, rx = line["denoiser"].split(" ", 1)
        c = costs(tx, rx)
        n = line["draws"]
        cells = [
            format_crossing(
                line[f"esno_db@{t:.0%}"], line["lowest"],
                line[f"spread@{t:.0%}"] if n > 1 else math.nan,
            )  # fmt: skip
            for t in TARGETS
        ]
        gains = [format_gain(line[f"gain@{t:.0%}"]) for t in TARGETS]
        print(
            f"| {tx} | `{rx}` | {n} | {cells[0]} | {cells[1]} | {gains[0]} | {gains[1]} "
            f"| {c['labels']} | {c['unlabelled']} | {c['evaluations']} | {c['forward']} |"
        )
    print()
    print(accuracy_table(rows))
    if "--plot" in sys.argv:
        out = HERE.parents[1] / "img" / "league_cifar10_e2e.png"
        near = [r for r in rows if r["esno_db"] <= 11]  # 30 dB: in the table
        plot_accuracy(
            near, out, x="esno_db", xlabel="Es/N0 [dB] (equal energy per weight)",
            clean_accuracy=clean.get("original"),
            title="ResNet-20 (88.38 %) on CIFAR-10, 2,000 test images, 5 draws: "
                  "transmitter × receiver (line style = transmitter; 30 dB in the table)",
        )  # fmt: skip
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
