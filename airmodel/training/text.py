# SPDX-License-Identifier: Apache-2.0
"""Train a text classifier on a tokenized dataset (AdamW, dropout, no augmentation).

The image trainer's SGD + crop/flip recipe does not fit token ids, so
``airmodel train`` calls :func:`train_text` for datasets whose info is a
:class:`~airmodel.data.sst2.TextInfo`. It writes the same ``final.pt`` fields
(read by :func:`~airmodel.training.load_checkpoint` and ``airmodel run``), plus
``dev_accuracy`` and the vocabulary's digest.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from airmodel._validation import check_finite_tensors
from airmodel.data import load_dataset
from airmodel.data.sst2 import PAD, TextInfo
from airmodel.errors import UserError
from airmodel.evaluation.scoring import Scorer
from airmodel.models import get_model
from airmodel.seed import make_generator
from airmodel.training.checkpoint import (
    portable_state_dict,
    read_train_state,
    refuse_replacing_final,
    save_atomic,
)
from airmodel.training.trainer import make_scheduler, resolve_device

__all__ = ["is_text_dataset", "train_text"]

_RESUME_KEYS = ("model_name", "dataset", "data_root", "epochs", "batch_size", "lr",
                "weight_decay", "schedule", "label_smoothing", "seed",
                "max_train_samples", "model_options", "data_options")  # fmt: skip


def is_text_dataset(info: Any) -> bool:
    """Whether a dataset's info describes token ids (a :class:`TextInfo`)."""
    return isinstance(info, TextInfo)


def _trim(tokens: torch.Tensor) -> torch.Tensor:
    """Drop the all-padding columns at the right end of a batch [B, L]."""
    used = int((tokens != PAD).any(0).nonzero().max()) + 1 if tokens.numel() else 1
    return tokens[:, :used]


def length_batches(
    lengths: torch.Tensor, batch_size: int, g: torch.Generator, pool: int = 50
) -> list[torch.Tensor]:
    """Shuffled batches of indices of similar length (less padding per batch).

    A seeded permutation is cut into pools of ``pool`` batches; each pool is
    sorted by length and cut into batches; the batches are shuffled.
    """
    perm = torch.randperm(len(lengths), generator=g)
    batches = []
    for start in range(0, len(perm), pool * batch_size):
        chunk = perm[start : start + pool * batch_size]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches += list(chunk.split(batch_size))
    order = torch.randperm(len(batches), generator=g).tolist()
    return [batches[i] for i in order]


def train_text(
    model_name: str,
    dataset: str,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float = 0.01,
    schedule: str = "onecycle",
    label_smoothing: float = 0.0,
    seed: int = 0,
    out_dir: str | Path = "runs/train",
    resume: bool = True,
    num_threads: int | None = None,
    data_root: str | Path | None = None,
    max_train_samples: int | None = None,
    model_options: dict | None = None,
    data_options: dict | None = None,
    device: str | torch.device | None = "auto",
    overwrite: bool = False,
) -> Path:
    """Train ``model_name`` on the text dataset ``dataset``; write ``out_dir/final.pt``.

    AdamW (betas 0.9/0.98) at peak ``lr`` with the per-step ``schedule`` of
    :func:`~airmodel.training.make_scheduler`; batches hold sentences of
    similar length (:func:`length_batches`) and are cut to their longest one. Every epoch prints the loss and the *dev* accuracy and writes an
    atomic ``last.pt`` (resumed when the settings match); the test split is
    scored once, at the end (``test_accuracy``).

    :param model_options: the model builder's own options (e.g. ``{"dim": 64}``).
    :param data_options: the dataset loader's (e.g. ``{"max_len": 64}``).
    :param device: ``"auto"`` (CUDA if present), ``"cpu"`` or ``"cuda"``.
    :param overwrite: Replace an ``out_dir/final.pt`` of other settings.
    :output path: ``final.pt``.
    """
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    model_options, data_options = dict(model_options or {}), dict(data_options or {})
    try:
        dev = resolve_device(device)
    except UserError as err:
        raise UserError(f"`device` (--device): {err}") from None
    t_start = time.perf_counter()
    x_np, y_np, info = load_dataset(dataset, data_root, "train", options=data_options)
    xd_np, yd_np, _ = load_dataset(dataset, data_root, "dev", options=data_options)
    xt_np, yt_np, _ = load_dataset(dataset, data_root, "test", options=data_options)
    g = make_generator(seed, purpose="training")
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    if max_train_samples is not None and max_train_samples < len(y):
        keep = torch.randperm(len(y), generator=g)[:max_train_samples]
        x, y = x[keep], y[keep]
    n = len(y)
    lengths = (x != PAD).sum(1)
    steps = len(length_batches(lengths, batch_size, torch.Generator()))
    config: dict[str, Any] = {
        "model_name": model_name, "dataset": dataset,
        "data_root": None if data_root is None else str(data_root),
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "optimizer": "adamw",
        "weight_decay": weight_decay, "schedule": schedule,
        "label_smoothing": label_smoothing, "seed": seed,
        "max_train_samples": max_train_samples, "model_options": model_options,
        "data_options": data_options, "device": str(dev),
        "num_threads": torch.get_num_threads(), "train_samples": n,
        "torch_version": str(torch.__version__),
    }  # fmt: skip
    model = get_model(model_name, info.num_classes, info.in_channels, model_options)
    reset = getattr(model, "reset_parameters", None)
    if callable(reset):
        reset(g)
    model = model.to(dev)
    decay = [p for name, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for name, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay},
         {"params": rest, "weight_decay": 0.0}],
        lr=lr, betas=(0.9, 0.98),
    )  # fmt: skip
    sched = make_scheduler(opt, schedule, lr, epochs * steps)
    out = Path(out_dir)
    last = out / "last.pt"
    start_epoch, wall_before = 0, 0.0
    if resume and last.is_file():
        ck = read_train_state(
            last, fix=f"Delete it (rm {last}) or pass --no-resume to start over."
        )
        diff = {k: (ck["config"].get(k), config[k]) for k in _RESUME_KEYS
                if ck["config"].get(k) != config[k]}  # fmt: skip
        if diff:
            raise UserError(
                f"{last} was written with other settings {diff} (saved, now); use "
                "another --out folder or --no-resume."
            )
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        g.set_state(ck["rng_state"])
        start_epoch, wall_before = ck["epoch"], ck.get("train_wall_s", 0.0)
    refuse_replacing_final(out, config, _RESUME_KEYS, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    dev_set = Scorer(xd_np, yd_np, info, device=dev, batch_size=256)
    t_loop = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        model.train()
        t0 = time.perf_counter()
        loss_sum, correct = 0.0, 0
        for idx in length_batches(lengths, batch_size, g):
            xb, yb = _trim(x[idx]).to(dev), y[idx].to(dev)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(yb)
            correct += int((logits.argmax(1) == yb).sum())
        if not math.isfinite(loss_sum):
            raise UserError(
                f"training diverged in epoch {epoch + 1}; lower --lr (now {lr:g})."
            )
        dt = time.perf_counter() - t0
        print(
            f"epoch {epoch + 1}/{epochs} loss {loss_sum / n:.4f} train_acc "
            f"{correct / n:.4f} dev_acc {dev_set.accuracy(model):.4f} time {dt:.1f}s",
            file=sys.stderr,
            flush=True,
        )
        save_atomic(
            {"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch": epoch + 1,
             "rng_state": g.get_state(), "config": config,
             "train_wall_s": wall_before + time.perf_counter() - t_loop},
            last,
        )  # fmt: skip
    weights = portable_state_dict(model)
    check_finite_tensors(weights, what="trained model (training diverged)")
    dev_acc = dev_set.accuracy(model)
    test_acc = Scorer(xt_np, yt_np, info, device=dev, batch_size=256).accuracy(model)
    info_d = dataclasses.asdict(info)
    info_d.pop("vocab")  # rebuilt from train.tsv; the digest pins it
    final = {
        "model_name": model_name,
        "model_options": model_options,
        "num_classes": info.num_classes,
        "in_channels": info.in_channels,
        "dataset": dataset,
        "dataset_info": info_d,
        "normalization": {"mean": list(info.mean), "std": list(info.std)},
        "dev_accuracy": dev_acc,
        "test_accuracy": test_acc,
        "config": config,
        "state_dict": weights,
        "train_wall_s": wall_before + time.perf_counter() - t_loop,
        "total_wall_s": time.perf_counter() - t_start,
    }
    path = save_atomic(final, out / "final.pt")
    print(
        f"dev_accuracy {dev_acc:.4f} ({len(yd_np)}) test_accuracy {test_acc:.4f} "
        f"({len(yt_np)} sentences); wrote {path}",
        file=sys.stderr,
        flush=True,
    )
    return path
