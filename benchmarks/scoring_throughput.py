"""Benchmark: Scorer images/s (fused, eager baseline, frozen, bf16) next to the FLOP-rate bound."""

from __future__ import annotations

import argparse
import copy
import functools
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from airmodel.data import DatasetInfo, load_dataset
from airmodel.data.info import CIFAR10_MEAN, CIFAR10_STD
from airmodel.evaluation import Scorer, bf16_is_fast
from airmodel.models import get_model
from airmodel.training import load_checkpoint

__all__ = [
    "count_macs", "frozen_runner", "interleaved_rates", "main", "matmul_gflops",
    "peak_gflops", "time_pass",
]  # fmt: skip


def count_macs(model: nn.Module, shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass for a single [1, C, H, W] input."""
    macs = 0

    def hook(m: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            k = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            macs += out.numel() * k
        elif isinstance(m, nn.Linear):
            macs += out.numel() * m.in_features

    hs = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    with torch.no_grad():
        model.eval()(torch.zeros(shape))
    for h in hs:
        h.remove()
    return macs


def peak_gflops(
    device: torch.device, dtype: torch.dtype, sizes: tuple[int, ...]
) -> float:
    """The best sustained :func:`matmul_gflops` over square sizes ``sizes``."""
    return max(matmul_gflops(device, dtype, n) for n in sizes)


def matmul_gflops(
    device: torch.device, dtype: torch.dtype, n: int = 2048, seconds: float = 2.0
) -> float:
    """Sustained ``torch.mm`` rate in GFLOP/s for [n, n] x [n, n]."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.mm(a, b)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        reps += 1
        sync()
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def time_pass(run: Callable[[], float], n: int) -> tuple[float, float]:
    """Images/s and result of one call of ``run`` (ends with a host sync), ``n`` images."""
    t0 = time.perf_counter()
    acc = run()
    return n / (time.perf_counter() - t0), acc


def frozen_runner(
    scorer: Scorer, model: nn.Module
) -> tuple[Callable[[], float], float]:
    """A pass over ``scorer``'s images with a TorchScript-frozen copy of ``model``.

    Not what :class:`Scorer` does: freezing bakes the weights in, so each
    rebuilt model would pay the preparation again.

    :output run: callable, one pass -> accuracy (same batches and argmax as ``Scorer``).
    :output prep_s: seconds to trace, freeze and optimize (incl. two warm-up calls).
    """
    x, y, b = scorer.x, scorer.y, scorer.batch_size
    t0 = time.perf_counter()
    with torch.no_grad():
        frozen = torch.jit.freeze(torch.jit.trace(model.eval(), x[:b]))
        frozen = torch.jit.optimize_for_inference(frozen)
        frozen(x[:b]), frozen(x[:b])
    prep = time.perf_counter() - t0

    def run() -> float:
        with torch.inference_mode():
            pred = torch.cat(
                [frozen(x[i : i + b]).argmax(1) for i in range(0, len(y), b)]
            )
            return (pred == y).sum().item() / len(y)

    return run, prep


def interleaved_rates(
    runs: dict[str, tuple[Callable[[], float], int]], repeats: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Images/s per pass for each case, cases alternated within every repeat.

    :output rates: ``{case: [images/s per pass]}``.
    :output results: ``{case: what its last pass returned}`` (the accuracy).

    On a shared VM the speed drifts by +-20 % over minutes; alternating keeps
    each comparison inside the same stretch of time.
    """
    for run, _ in runs.values():
        run()  # warm-up
    rates: dict[str, list[float]] = {k: [] for k in runs}
    results: dict[str, float] = {}
    for _ in range(repeats):
        for k, (run, n) in runs.items():
            rate, results[k] = time_pass(run, n)
            rates[k].append(rate)
    return rates, results


def _images(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    if args.data:
        x, y, info = load_dataset(args.dataset, args.data, "test")
        return x[: args.n], y[: args.n], info
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.n, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, args.n).astype(np.int64)
    info = DatasetInfo("random", 10, 3, CIFAR10_MEAN, CIFAR10_STD, (32, 32))
    return x, y, info


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table, write JSON."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="resnet20")
    p.add_argument("--n", type=int, default=10_000, help="images to score")
    p.add_argument("--data", default=None, help="dataset root (uses its test split)")
    p.add_argument("--dataset", default="image_folder", help="with --data")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--batch-sizes", default="64,128,256,1000",
        help="comma-separated fp32 batch sizes to compare (bf16: the first)",
    )  # fmt: skip
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--frozen", action=argparse.BooleanOptionalAction, default=True,
        help="also time a TorchScript-frozen copy (fp32, first batch size)",
    )  # fmt: skip
    p.add_argument(
        "--bf16-n", type=int, default=None,
        help="images for bf16 (default: all if bf16 is native, else 500)",
    )  # fmt: skip
    p.add_argument(
        "--checkpoint", default=None,
        help="airmodel checkpoint to score (default: a randomly initialized --model)",
    )  # fmt: skip
    p.add_argument("--out", default="benchmarks/results/scoring.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    x, y, info = _images(args)
    if args.checkpoint:
        model, ckpt = load_checkpoint(args.checkpoint, device="cpu")
        args.model = ckpt.get("model_name", args.model)
    else:
        model = get_model(args.model, info.num_classes, info.in_channels)
    macs = count_macs(model, (1, info.in_channels, *info.image_size))
    flops_img = 2 * macs
    native = bf16_is_fast(dev)
    bf16_n = args.bf16_n or (len(y) if native else min(len(y), 500))
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    peak = {}
    rows = []
    # (path, dtype, bf16, images, batch, fused): "fp32" is the Scorer as shipped,
    # "fp32-eager" its baseline without the fused copy.
    cases = [("fp32", torch.float32, False, len(y), b, True) for b in sizes]
    cases.append(("fp32-eager", torch.float32, False, len(y), sizes[0], False))
    cases.append(("bf16", torch.bfloat16, True, bf16_n, sizes[0], False))
    if args.frozen:
        cases.append(("fp32-frozen", torch.float32, False, len(y), sizes[0], False))
    runs, meta, base = {}, {}, {}
    for name, dtype, bf16, n, batch, fused in cases:
        if n not in base:  # one image tensor per size, shared by the cases
            base[n] = Scorer(x[:n], y[:n], info, dev)
        scorer = copy.copy(base[n])
        scorer.batch_size, scorer.bf16, scorer.fused = batch, bf16, fused
        prep = None
        if name.endswith("frozen"):
            cl_model = model.to(memory_format=torch.channels_last)
            run, prep = frozen_runner(scorer, cl_model)
        else:
            run = functools.partial(scorer.accuracy, model)  # ends with .item()
        key = f"{name} batch {batch}"
        runs[key], meta[key] = (run, n), (name, dtype, bf16, n, batch, prep)
    rates, accuracy = interleaved_rates(runs, args.repeats)
    for key, (name, dtype, bf16, n, batch, prep) in meta.items():
        rate, median = max(rates[key]), statistics.median(rates[key])
        if dtype not in peak:  # emulated bf16 GEMM: keep the probe small
            slow = bf16 and not native
            peak[dtype] = peak_gflops(
                dev, dtype, (512,) if slow else (1024, 2048, 4096)
            )
        gflops = peak[dtype]
        bound = gflops * 1e9 / flops_img
        rows.append({
            "path": name, "batch_size": batch, "images": n, "images_per_s": rate,
            "median_images_per_s": median, "passes": rates[key],
            "matmul_gflops": gflops, "bound_images_per_s": bound,
            "fraction_of_bound": rate / bound, "achieved_gflops": rate * flops_img / 1e9,
            "prep_s": prep, "accuracy": accuracy[key],
        })  # fmt: skip
    b0 = sizes[0]
    fused_p, eager_p = rates[f"fp32 batch {b0}"], rates[f"fp32-eager batch {b0}"]
    paired = [f / e for f, e in zip(fused_p, eager_p, strict=True)]
    speedup = {
        "batch_size": b0, "best": max(fused_p) / max(eager_p),
        "median_paired": statistics.median(paired), "paired": paired,
    }  # fmt: skip
    result = {
        "model": args.model, "mflops_per_image": flops_img / 1e6,
        "device": str(dev), "threads": args.threads,
        "data": args.data or "random uint8, CIFAR shape", "bf16_native": native,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "gpu_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
        "torch": str(torch.__version__), "python": platform.python_version(),
        "machine": platform.machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "checkpoint": args.checkpoint, "results": rows, "fused_vs_eager": speedup,
    }  # fmt: skip
    print(
        f"{args.model}: {flops_img / 1e6:.1f} MFLOPs/image, {dev}, "
        f"{args.threads} threads"
    )
    print(f"{'path':<11} {'batch':>6} {'images':>7} {'img/s':>9} {'median':>7} "
          f"{'accuracy':>9} {'mm GFLOP/s':>11} {'bound img/s':>12} {'of bound':>9}")  # fmt: skip
    for r in rows:
        print(
            f"{r['path']:<11} {r['batch_size']:>6} {r['images']:>7} "
            f"{r['images_per_s']:>9.0f} {r['median_images_per_s']:>7.0f} "
            f"{r['accuracy']:>9.4f} "
            f"{r['matmul_gflops']:>11.1f} {r['bound_images_per_s']:>12.0f} "
            f"{r['fraction_of_bound']:>9.1%}"
        )
    print(
        f"fused vs eager Scorer at batch {b0}: best {speedup['best']:.2f}x, "
        f"median of {len(paired)} paired passes {speedup['median_paired']:.2f}x"
    )
    sys.path.insert(0, ".")
    from benchmarks._common import write_json

    write_json(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
