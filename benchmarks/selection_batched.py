"""Benchmark: MMSE_pb grid selection, one model per pass (fused, eager) vs k per pass (vmap).

The real selection of a sweep (:func:`airmodel.evaluation.sweep.denoise_one`,
``select: validation``) on the CIFAR-10 ResNet-20 checkpoint: one AWGN draw
at ``--snr-db``, ``--lams`` x 23 cells of the paper's grid, each scored on
kappa = 100 validation images. Modes: ``fused`` (cells_per_pass = 1, the
CPU default: batch-norm-folded oneDNN copy per cell), ``eager`` (1, the plain
model), ``vmap k`` (k cells stacked, ``Scorer.accuracies_of``). Each mode
runs ``--repeats`` times; the best evaluations/s is reported. Every mode must
pick the cell the fused baseline picks (checked, reported).

    python benchmarks/selection_batched.py \
        --data-root ../shared/datasets/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airmodel.builder import build_data, build_link, build_model  # noqa: E402
from airmodel.config import DenoiserConfig, load_config  # noqa: E402
from airmodel.evaluation.sweep import denoise_one  # noqa: E402
from airmodel.receiver.denoiser.selection import PAPER_BETA_GRID, PAPER_LAM_GRID  # noqa: E402
from benchmarks._common import machine, print_table, write_json  # noqa: E402


def main() -> None:
    """Parse arguments, run every mode, print the table and write JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default="../shared/datasets/cifar10-jpeg.tar.gz")
    p.add_argument("--checkpoint", default="checkpoints/resnet20_cifar10jpeg_e60.pt")
    p.add_argument("--snr-db", type=float, default=0.0)
    p.add_argument("--lams", type=int, default=4, help="lam' values (x 23 betas)")
    p.add_argument("--ks", default="8,16,32", help="cells per pass for vmap")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="benchmarks/results/selection_batched.json")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    cfg = load_config(
        None,
        [
            "model.name=resnet20",
            f"model.checkpoint={a.checkpoint}",
            "data.dataset=image_folder",
            f"data.root={a.data_root}",
            "data.test_samples=100",
            "receiver.kappa=100",
            f"evaluation.device={a.device}",
        ],
    )
    model, _ = build_model(cfg, device)
    data = build_data(cfg, device)
    link = build_link(cfg)
    clean = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    tx = link.transmit(clean, a.snr_db, seed=0)
    grid = (list(PAPER_LAM_GRID[: a.lams]), list(PAPER_BETA_GRID))
    spec = DenoiserConfig("mmse_pb", select="validation")
    modes = [("fused", 1, True), ("eager", 1, False)]
    modes += [(f"vmap {k}", int(k), False) for k in a.ks.split(",")]
    rows, base = [], None
    for name, k, fused in modes:
        val = data.validation
        val.cells_per_pass, val.fused = k, fused
        best = None
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            _, extra = denoise_one(
                link, tx, spec, model, {"test": data.test, "validation": val}, *grid
            )
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        cell = (extra["lam"], extra["beta"], extra["select_score"])
        base = base or cell
        rows.append(
            {
                "mode": name,
                "cells_per_pass": k,
                "evaluations": extra["evaluations"],
                "seconds": best,
                "evals_per_s": extra["evaluations"] / best,
                "cell": f"({cell[0]:g}, {cell[1]:g}) {cell[2]:.2f}",
                "same_cell": cell == base,
            }
        )
    for r in rows:
        r["speedup_vs_fused"] = r["evals_per_s"] / rows[0]["evals_per_s"]
    print(
        f"MMSE_pb grid selection, ResNet-20, {rows[0]['evaluations']} cells x "
        f"{len(data.validation)} validation images, {a.threads} thread(s), {device}"
    )
    print_table(
        rows,
        ["mode", "cells_per_pass", "evaluations", "seconds", "evals_per_s",
         "speedup_vs_fused", "same_cell", "cell"],
    )  # fmt: skip
    write_json(
        a.out,
        {
            "benchmark": "selection_batched",
            "machine": machine(),
            "load_average": os.getloadavg(),
            "args": vars(a),
            "checkpoint": str(Path(a.checkpoint)),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
