"""Benchmark: scoring img/s at fp32 vs bf16 (and torch.compile) per model, with the
clean-accuracy change bf16 costs.

Paths (each a :class:`~airmodel.evaluation.Scorer` pass over the same images,
alternated within every repeat, ``scoring_throughput.interleaved_rates``):

* ``fp32``: the scorer as shipped (fused copy for airmodel ResNets on the CPU).
* ``bf16``: ``precision="bf16"`` (CPU: a bf16 copy made once per state dict,
  batch-norm folded first for ResNets; GPU: autocast + TF32).
* ``bf16-autocast``: the path ``evaluation.bf16: true`` took before
  ``evaluation.precision`` (eager model under per-batch autocast), for the
  profile of why it was slow.
* ``fp32-compile`` (``--compile``): ``torch.compile`` of the eager fp32 model
  (compile time reported as ``prep_s``, paid once per process).

Ratios are paired per repeat (same stretch of time on a shared machine). On a
CPU without native bf16 (AVX2) bf16 is emulated: its passes use ``--emulated-n``
images and the speed column says what emulation costs, not what bf16 does.
Accuracy change: bf16 minus fp32 on the same images (bf16's image set).

    python benchmarks/precision.py --models resnet20,resnet18 --n 2000 \\
        --cifar /work/shared/datasets/cifar10-jpeg.tar.gz --sst2 /work/shared/datasets/sst2.tar.gz
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airmodel.data import DatasetInfo, load_dataset  # noqa: E402
from airmodel.data.info import CIFAR10_MEAN, CIFAR10_STD  # noqa: E402
from airmodel.evaluation import Scorer, sample_indices  # noqa: E402
from airmodel.evaluation.precision import bf16_native  # noqa: E402
from airmodel.models import get_model, init_weights  # noqa: E402
from airmodel.training import load_checkpoint  # noqa: E402
from benchmarks._common import machine, print_table, write_json  # noqa: E402
from benchmarks.scoring_throughput import interleaved_rates  # noqa: E402

__all__ = ["AutocastScorer", "main", "model_and_data"]

#: model -> committed checkpoint (None: random init, speed only).
CHECKPOINTS = {
    "resnet20": "checkpoints/resnet20_cifar10jpeg.pt",
    "resnet18": None,
    "resnet34": None,
    "shufflenetv2": "checkpoints/shufflenetv2_cifar10jpeg.pt",
    "transformer": "checkpoints/transformer_sst2.pt",
}


class AutocastScorer(Scorer):
    """The pre-``precision`` bf16 path: eager model, autocast per batch, no fused copy."""

    def _cast_copy(self) -> bool:
        return False


def model_and_data(name: str, args: argparse.Namespace):
    """``(model, x, y, info, source)`` for one benchmark model (n seeded test images)."""
    ckpt = CHECKPOINTS[name]
    real = Path(args.sst2 if name == "transformer" else args.cifar).exists()
    if name == "transformer":
        if not real:
            return None
        x, y, info = load_dataset("sst2", args.sst2, "test", options={"max_len": 64})
    elif real:
        x, y, info = load_dataset("image_folder", args.cifar, "test")
    else:  # no dataset copy (e.g. a lent GPU machine): CIFAR-shaped noise
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (args.n, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, args.n).astype(np.int64)
        info = DatasetInfo("random", 10, 3, CIFAR10_MEAN, CIFAR10_STD, (32, 32))
        ckpt = None
    if ckpt and Path(ckpt).is_file():
        model, _ = load_checkpoint(ckpt, device=args.device)
        source = ckpt
    else:
        model = get_model(name, info.num_classes, info.in_channels)
        init_weights(model, torch.Generator().manual_seed(0))
        source = "random init (seed 0): speed only, accuracy is chance"
    if not real:
        source += "; random images (no dataset copy)"
    # A seeded random subset: image_folder's test split is sorted by class.
    idx = sample_indices(len(y), min(args.n, len(y)), seed=0).numpy()
    return model.eval(), x[idx], y[idx], info, source


def _bench_model(name: str, args: argparse.Namespace, native: bool) -> list[dict]:
    got = model_and_data(name, args)
    if got is None:
        print(f"  {name}: skipped (no dataset at {args.sst2})")
        return []
    model, x, y, info, source = got
    dev = torch.device(args.device)
    n_bf16 = len(y) if native else min(len(y), args.emulated_n)
    big = Scorer(x, y, info, dev, batch_size=args.batch_size)
    small = big.subset(range(n_bf16))
    scorers = {
        "fp32": big,
        "bf16": _at(small, "bf16"),
        "bf16-autocast": _at(small, "bf16", AutocastScorer),
    }
    runs = {k: ((lambda s=s: s.accuracy(model)), len(s)) for k, s in scorers.items()}
    prep = {}
    if args.compile and name in args.compile.split(","):
        t0 = time.perf_counter()
        compiled = torch.compile(model.to(memory_format=torch.channels_last))
        eager = _at(big, "fp32")
        eager.fused = False
        eager.accuracy(compiled)  # compiles
        prep["fp32-compile"] = time.perf_counter() - t0
        runs["fp32-compile"] = (lambda: eager.accuracy(compiled)), len(big)
    rates, acc = interleaved_rates(runs, args.repeats)
    # The accuracy change on bf16's images: fp32 and bf16 predictions there.
    pred32 = small.predict(model)
    acc32 = float((pred32 == small.y).float().mean())
    rows = []
    for path, r in rates.items():
        paired = [a / b for a, b in zip(r, rates["fp32"], strict=True)]
        row = {
            "model": name, "source": source, "path": path, "images": runs[path][1],
            "img_s": max(r), "median_img_s": statistics.median(r),
            "vs_fp32_paired_median": statistics.median(paired),
            "accuracy": acc[path], "prep_s": prep.get(path),
        }  # fmt: skip
        if path.startswith("bf16"):
            pred = _at(small, "bf16", type(scorers[path])).predict(model)
            row["accuracy_fp32_same_images"] = acc32
            row["accuracy_change_points"] = (acc[path] - acc32) * 100
            row["agreement"] = float((pred == pred32).float().mean())
        rows.append(row)
    return rows


def _at(scorer: Scorer, precision: str, cls: type = Scorer) -> Scorer:
    new = object.__new__(cls)
    new.__dict__.update(scorer.__dict__)
    new.precision = precision
    return new


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table, write JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--models", default="resnet20,resnet18,resnet34,shufflenetv2,transformer"
    )
    p.add_argument("--n", type=int, default=2000, help="test images per fp32 pass")
    p.add_argument(
        "--emulated-n",
        type=int,
        default=128,
        help="images per bf16 pass where bf16 is emulated (AVX2 CPUs)",
    )
    p.add_argument("--cifar", default="/work/shared/datasets/cifar10-jpeg.tar.gz")
    p.add_argument("--sst2", default="/work/shared/datasets/sst2.tar.gz")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--compile",
        default="",
        help="comma-separated models to also time under torch.compile",
    )
    p.add_argument("--out", default="benchmarks/results/precision.json")
    args = p.parse_args(argv)  # fmt: skip
    torch.set_num_threads(args.threads)
    native, found = bf16_native(args.device)
    print(f"bf16 native: {native} ({found}); {args.threads} threads, {args.device}")
    rows = []
    for name in args.models.split(","):
        t0 = time.perf_counter()
        rows += _bench_model(name, args, native)
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    print_table(rows, [
        "model", "path", "images", "img_s", "median_img_s", "vs_fp32_paired_median",
        "accuracy", "accuracy_change_points", "agreement", "prep_s",
    ])  # fmt: skip
    try:
        load = [round(v, 2) for v in np.loadtxt("/proc/loadavg", usecols=(0, 1, 2))]
    except OSError:
        load = None
    write_json(args.out, {
        "bf16_native": native, "bf16_check": found, "device": args.device,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "gpu_name": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
        "threads": args.threads, "batch_size": args.batch_size, "repeats": args.repeats,
        "load_average_at_end": load, "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "rows": rows,
    })  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
