"""Batch-norm recalibration on a clean model: plain vs training-augmented images.

Loads a checkpoint, scores a seeded random test subset, then recalibrates the
batch-norm statistics from n unlabelled training images (seeded permutation), once
as they are and once with the training augmentation (crop + flip), as airmodel's
receiver does with ``receiver.recalibrate_augment``. Prints a table, writes JSON.
Usage: python benchmarks/recalibration_accuracy.py --data PATH/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from airmodel.data import load_dataset
from airmodel.data.transforms import augment, default_augmentation, to_tensor
from airmodel.evaluation import Scorer
from airmodel.receiver.bn_recalibration import recalibrate_bn_state
from airmodel.seed import make_generator
from airmodel.training import load_checkpoint


def main(argv: list[str] | None = None) -> int:
    """Run the study, print a table, write JSON."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", default="checkpoints/resnet20_cifar10jpeg.pt")
    p.add_argument("--data", required=True, help="dataset root or archive")
    p.add_argument("--dataset", default="image_folder")
    p.add_argument("--test", type=int, default=3000, help="random test images")
    p.add_argument("--n", default="100,500,2000", help="recalibration pool sizes")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/recalibration_accuracy.json")
    args = p.parse_args(argv)
    sys.path.insert(0, ".")
    from benchmarks._common import machine, write_json

    torch.set_num_threads(args.threads)
    model, _ = load_checkpoint(args.checkpoint, device="cpu")
    x_te, y_te, info = load_dataset(args.dataset, args.data, "test")
    x_tr, _, _ = load_dataset(args.dataset, args.data, "train")
    rng = np.random.default_rng(args.seed)
    te = rng.permutation(len(y_te))[: args.test]
    scorer = Scorer(x_te[te], y_te[te], info, "cpu")
    sd = model.state_dict()
    clean = scorer.accuracy_of(sd, model)
    order = np.random.default_rng(args.seed + 1).permutation(len(x_tr))
    pad, flip = default_augmentation(info)
    rows = []
    for n in (int(v) for v in args.n.split(",")):
        raw = torch.as_tensor(x_tr[order[:n]])
        for augmented in (False, True):
            imgs = raw
            if augmented:
                imgs = augment(raw, make_generator(args.seed + 2), pad, flip)
            x = to_tensor(imgs, info)
            acc = scorer.accuracy_of(recalibrate_bn_state(sd, model, x, 128), model)
            rows.append({"n": n, "augmented": augmented, "accuracy": acc})
    print(f"{args.checkpoint}: clean {clean:.2%} on {args.test} random test images")
    print(f"{'n':>6} {'plain':>8} {'augmented':>10}")
    for plain, aug in zip(rows[::2], rows[1::2], strict=True):
        print(f"{plain['n']:>6} {plain['accuracy']:>8.2%} {aug['accuracy']:>10.2%}")
    write_json(args.out, {
        "checkpoint": args.checkpoint, "data": args.data, "test_images": args.test,
        "seed": args.seed, "clean_accuracy": clean, "rows": rows, "machine": machine(),
    })  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
