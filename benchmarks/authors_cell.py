"""Benchmark: one MMSE_pb grid cell as the seed paper's inference script runs it vs
airmodel's cell (``evaluation.precision: auto``), alternated in one run.

The authors-style cell (written for this project from the paper's per-cell
procedure): eager fp32 denoise with (lam, beta), rebuild the network (load the
state dict into a fresh copy of the model), score the ``kappa`` validation
images and the full test set with the eager fp32 model (NCHW, ``torch.no_grad``,
batches of ``--batch-size``). airmodel's cell does the same work through its
:class:`~airmodel.evaluation.Scorer` (one channels_last tensor, fused copy, the
precision ``auto`` resolved to on the test images). Both use the same
transmission, the same denoiser code and the same cells (``--cells`` from the
paper grid); the ratio is the median of per-cell paired ratios.

The whole protocol, as each tool runs it, per (Es/N0, draw): the authors score
every one of the 13 x 23 cells on the validation and the test images; airmodel
scores every cell on the validation images and only the selected one on the test
set. Its ratio is derived from this run's measured per-cell times.

    python benchmarks/authors_cell.py --n 2000 --cells 6
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airmodel.builder import build_data, build_link, build_model  # noqa: E402
from airmodel.config import load_config  # noqa: E402
from airmodel.evaluation.precision import choose_precision  # noqa: E402
from airmodel.link import Link  # noqa: E402
from airmodel.receiver.denoiser.estimators import MMSEpb  # noqa: E402
from airmodel.receiver.denoiser.selection import PAPER_BETA_GRID, PAPER_LAM_GRID  # noqa: E402
from airmodel.transmitter import unflatten  # noqa: E402
from benchmarks._common import machine, print_table, write_json  # noqa: E402

__all__ = ["authors_cell", "main"]


def authors_cell(template, tx, lam, beta, val, test, batch):
    """The paper script's cell: denoise, rebuild a fresh model, score val and test.

    :input val, test: ``(x, y)``, x [N, C, H, W] normalized fp32 NCHW, y [N].
    :output: (validation accuracy, test accuracy).
    """
    w_hat, _ = Link.denoise(tx, MMSEpb(lam, beta))
    net = copy.deepcopy(template)
    net.load_state_dict(unflatten(tx.vector, tx.spec, air=w_hat))
    net.eval()
    accs = []
    with torch.no_grad():
        for x, y in (val, test):
            correct = 0
            for i in range(0, len(y), batch):
                correct += int(
                    (net(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum()
                )
            accs.append(correct / len(y))
    return tuple(accs)


def airmodel_cell(model, tx, lam, beta, val, test, test_too=True):
    """airmodel's cell: same denoise, unflatten, Scorer.accuracy_of (val, then test)."""
    w_hat, _ = Link.denoise(tx, MMSEpb(lam, beta))
    sd = unflatten(tx.vector, tx.spec, air=w_hat)
    a = val.accuracy_of(sd, model)
    return (a, test.accuracy_of(sd, model)) if test_too else (a, None)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table, write JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default="/work/shared/datasets/cifar10-jpeg.tar.gz")
    p.add_argument("--checkpoint", default="checkpoints/resnet20_cifar10jpeg.pt")
    p.add_argument("--model", default="resnet20")
    p.add_argument(
        "--n", type=int, default=2000, help="test images (the full set: 10000)"
    )
    p.add_argument("--kappa", type=int, default=100)
    p.add_argument("--snr-db", type=float, default=10.0)
    p.add_argument("--cells", type=int, default=6, help="grid cells timed per path")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--precision", default="auto", help="airmodel's precision")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="benchmarks/results/authors_cell.json")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    cfg = load_config(None, [
        f"model.name={a.model}", f"model.checkpoint={a.checkpoint}",
        "data.dataset=image_folder", f"data.root={a.data_root}",
        f"data.test_samples={a.n}", f"receiver.kappa={a.kappa}",
        f"evaluation.device={a.device}", f"evaluation.batch_size={a.batch_size}",
        f"evaluation.precision={a.precision}",
    ])  # fmt: skip
    model, _ = build_model(cfg, device)
    data = build_data(cfg, device)
    choice = choose_precision(a.precision, data.test, model)
    print(choice.line())
    data.test.precision = data.validation.precision = choice.precision
    link = build_link(cfg, device)
    clean = {k: v.detach().clone() for k, v in model.state_dict().items()}
    tx = link.transmit(clean, a.snr_db, seed=0)
    # The authors' tensors: plain NCHW fp32 copies of the same normalized images.
    val = (data.validation.x.contiguous(), data.validation.y)
    test = (data.test.x.contiguous(), data.test.y)
    template = copy.deepcopy(model).to(memory_format=torch.contiguous_format).eval()
    cells = [(PAPER_LAM_GRID[i % len(PAPER_LAM_GRID)], PAPER_BETA_GRID[(5 * i) % len(PAPER_BETA_GRID)])
             for i in range(a.cells)]  # fmt: skip
    authors_cell(template, tx, *cells[0], val, test, a.batch_size)  # warm-up
    airmodel_cell(model, tx, *cells[0], data.validation, data.test)
    t = {"authors": [], "airmodel": [], "airmodel_val_only": []}
    agree = []
    for lam, beta in cells:  # alternated per cell: same stretch of machine time
        t0 = time.perf_counter()
        ours = airmodel_cell(model, tx, lam, beta, data.validation, data.test)
        t["airmodel"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs = authors_cell(template, tx, lam, beta, val, test, a.batch_size)
        t["authors"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        airmodel_cell(model, tx, lam, beta, data.validation, data.test, test_too=False)
        t["airmodel_val_only"].append(time.perf_counter() - t0)
        agree.append({"lam": lam, "beta": beta, "authors": theirs, "airmodel": ours})
    ratio = [x / y for x, y in zip(t["authors"], t["airmodel"], strict=True)]
    grid = len(PAPER_LAM_GRID) * len(PAPER_BETA_GRID)
    med = {k: statistics.median(v) for k, v in t.items()}
    protocol = (
        grid * med["authors"] / (grid * med["airmodel_val_only"] + med["airmodel"])
    )
    rows = [
        {"path": "authors (eager fp32)", "cell_s_median": med["authors"],
         "cell_s_min": min(t["authors"])},
        {"path": f"airmodel ({choice.precision})", "cell_s_median": med["airmodel"],
         "cell_s_min": min(t["airmodel"])},
        {"path": "airmodel, validation only", "cell_s_median": med["airmodel_val_only"],
         "cell_s_min": min(t["airmodel_val_only"])},
    ]  # fmt: skip
    print(f"{a.model}, {len(data.test)} test + {len(data.validation)} validation "
          f"images per cell, {a.cells} cells alternated, {a.threads} threads, {device}")  # fmt: skip
    print_table(rows, ["path", "cell_s_median", "cell_s_min"])
    print(
        f"per cell: airmodel {statistics.median(ratio):.2f}x faster (median of "
        f"{len(ratio)} paired cells; min {min(ratio):.2f}x, max {max(ratio):.2f}x)"
    )
    print(
        f"whole protocol per (Es/N0, draw), {grid} cells: {protocol:.0f}x "
        "(derived from the medians above)"
    )
    write_json(a.out, {
        "benchmark": "authors_cell", "machine": machine(),
        "load_average": os.getloadavg(), "args": vars(a),
        "precision": choice.as_dict(), "seconds": t, "paired_ratio": ratio,
        "ratio_median": statistics.median(ratio), "protocol_ratio": protocol,
        "accuracies": agree, "rows": rows,
    })  # fmt: skip
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
