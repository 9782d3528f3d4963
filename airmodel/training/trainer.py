"""Train a registered model on a registered dataset (SGD Nesterov, crop + flip)."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F

from airmodel._validation import check_finite_tensors
from airmodel.allocator import keep_freed_memory
from airmodel.data import load_dataset
from airmodel.data.transforms import augment, default_augmentation, normalize
from airmodel.devices import resolve_device
from airmodel.errors import CorruptFileError, MissingFileError, UserError
from airmodel.evaluation.scoring import Scorer, bf16_is_fast
from airmodel.models import get_model, init_weights
from airmodel.progress import bar as progress_bar
from airmodel.seed import make_generator
from airmodel.training.checkpoint import (
    check_state_dict,
    load_checkpoint,
    portable_state_dict,
    read_train_state,
    refuse_replacing_final,
    save_atomic,
)
from airmodel.training.weight_noise import WeightNoise

__all__ = ["make_scheduler", "resolve_device", "train"]

Schedule = Literal["onecycle", "cosine"]
# Settings that must match for a run in ``out_dir`` to be resumed.
_RESUME_KEYS = (
    "model_name", "dataset", "data_root", "epochs", "batch_size", "lr", "momentum",
    "nesterov", "weight_decay", "schedule", "label_smoothing", "seed",
    "max_train_samples", "pad", "flip", "init_from", "weight_noise", "prune",
)  # fmt: skip


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, lr: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-step LR schedule.

    ``onecycle``: linear warm-up from lr/10 to ``lr`` over the first 20 % of
    steps, then linear decay to ~0; a run of 4-9 steps warms up over 2 steps
    (20 % of 5 steps is one step, a zero-length phase OneCycleLR divides by).
    ``cosine``: cosine decay from ``lr`` to 0.
    """
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=lr,
            total_steps=total_steps,
            pct_start=2 / total_steps if 4 <= total_steps < 10 else 0.2,
            anneal_strategy="linear",
            cycle_momentum=False,
            div_factor=10.0,
            final_div_factor=1e3,
        )
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total_steps)
    raise ValueError(
        f"`schedule` must be one of ('onecycle', 'cosine'); got {schedule!r}."
    )


def _check_args(epochs: int, batch_size: int, lr: float) -> None:
    for name, val in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(val, bool) or not isinstance(val, int):
            raise TypeError(f"`{name}` must be an int; got {val!r}.")
        if val < 1:
            raise ValueError(f"`{name}` must be >= 1; got {val}.")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"`lr` must be a positive number; got {lr!r}.")


def _check_loss(
    loss_sum: torch.Tensor, epoch: int, epochs: int, lr: float, last: Path
) -> None:
    """Stop on a non-finite epoch loss (one device sync per epoch)."""
    if not math.isfinite(float(loss_sum)):
        saved = f"{last} still holds epoch {epoch}" if epoch else "no epoch was saved"
        raise UserError(
            f"training diverged: the loss of epoch {epoch + 1}/{epochs} is not finite "
            f"({float(loss_sum)}); {saved}. Lower the learning rate (--lr, now "
            f"{lr:g}), e.g. to {lr / 4:g}, and train into a new --out folder."
        )


def _load_init(
    model: torch.nn.Module, path: str | Path, model_name: str, dataset: str
) -> dict[str, Any]:
    """Load ``path``'s weights into ``model``; return what it recorded."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(
            f"`init_from` checkpoint {path} not found; give the final.pt of an "
            "earlier `airmodel train` run, or drop --init-from."
        )
    try:
        source, ck = load_checkpoint(path)
    except CorruptFileError:
        raise
    except ValueError as err:
        raise UserError(
            f"`init_from` {path} is not an airmodel checkpoint (no `state_dict` / "
            "`model_name`, or weights that do not fit its model); give the "
            "final.pt of an `airmodel train` run."
        ) from err
    for key, want in (("model_name", model_name), ("dataset", dataset)):
        if ck.get(key) != want:
            raise UserError(
                f"`init_from` {path} has {key}={ck.get(key)!r}, this run {want!r}; "
                f"train with --{key.split('_')[0]} {ck.get(key)} or pick a matching "
                "checkpoint."
            )
    state = source.state_dict()
    check_state_dict(model, state, what=f"`init_from` checkpoint {path}")
    model.load_state_dict(state)
    return {
        "test_accuracy": ck.get("test_accuracy"),
        "train_wall_s": ck.get("train_wall_s"),
        "config": ck.get("config"),
    }


def train(
    model_name: str,
    dataset: str,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.9,
    nesterov: bool = True,
    weight_decay: float = 5e-4,
    schedule: Schedule = "onecycle",
    label_smoothing: float = 0.0,
    seed: int = 0,
    out_dir: str | Path = "runs/train",
    resume: bool = True,
    device: str | torch.device | None = "auto",
    amp_bf16: bool | None = None,
    num_threads: int | None = None,
    progress: bool = True,
    data_root: str | Path | None = None,
    download: bool = False,
    cache_dir: str | Path | None = None,
    max_train_samples: int | None = None,
    eval_every: int = 5,
    flip: bool | None = None,
    init_from: str | Path | None = None,
    weight_noise: tuple[float, float] | None = None,
    weight_noise_policy: str = "paper",
    prune: float | None = None,
    prune_scope: str = "global",
    overwrite: bool = False,
) -> Path:
    """Train ``model_name`` on ``dataset`` and write ``out_dir/final.pt``.

    Each epoch ends with an atomic ``out_dir/last.pt`` (model, optimizer,
    scheduler, epoch, RNG state); with ``resume`` an existing ``last.pt`` of the
    same settings is continued. ``final.pt`` records ``model_name``,
    ``num_classes``, ``in_channels``, ``dataset``, ``normalization``
    (mean, std), ``test_accuracy``, ``config``, ``state_dict`` and
    ``train_wall_s``; read it with :func:`load_checkpoint`.

    :param num_threads: If given, calls ``torch.set_num_threads`` (process-wide).
    :param amp_bf16: bfloat16 autocast (CPU and CUDA); channels_last always.
        ``None`` = on only where :func:`bf16_is_fast` (native bf16); on an
        AVX2-only CPU bf16 is emulated and ~40x slower than fp32.
    :param max_train_samples: Train on the first N of a seeded shuffle (smoke runs).
    :param eval_every: Also score the test set every this many epochs (0: only at end).
    :param flip: Horizontal flips; ``None`` = on, except for ``digits``.
    :param init_from: Start from the weights of this checkpoint (fine-tuning /
        a second LR cycle) instead of a fresh initialization; its model and
        dataset must match. ``final.pt`` records it and its test accuracy.
    :param weight_noise: ``(lo, hi)`` WNR range [dB]: noise-hardened training
        (:mod:`airmodel.training.weight_noise`). Every step adds Gaussian noise
        at a WNR drawn uniformly in dB to the tensors ``weight_noise_policy``
        sends over the air, runs forward/backward on the noisy weights and
        restores the clean weights before the optimizer update.
    :param weight_noise_policy: payload policy of the noised tensors.
    :param prune: kept fraction of the on-air weight tensors' entries: a fixed
        magnitude mask (``prune_scope`` ``global`` or ``layer``) taken at the
        start and re-applied after every update (:mod:`airmodel.training.pruning`).
    :param overwrite: Replace an ``out_dir/final.pt`` of other settings (refused
        otherwise: a mistyped folder never replaces another model).
    :output path: Path of ``final.pt``.
    """
    _check_args(epochs, batch_size, lr)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(
            f"--out {out} is a file; give a folder (it will hold last.pt and final.pt)."
        )
    if num_threads is not None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, int):
            raise UserError(
                f"`num_threads` (--threads) must be an int; got {num_threads!r}."
            )
        if num_threads < 1:
            raise UserError(
                f"`num_threads` (--threads) must be >= 1; got {num_threads}. Omit it "
                "to use torch's default."
            )
        torch.set_num_threads(num_threads)
    try:
        dev = resolve_device(device)
    except UserError as err:
        raise UserError(f"`device` (--device): {err}") from None
    if dev.type == "cpu":
        keep_freed_memory()  # fewer page faults (airmodel.allocator; no measured speed-up)
    if amp_bf16 is None:
        amp_bf16 = bf16_is_fast(dev)
    elif amp_bf16 and not bf16_is_fast(dev):
        warnings.warn(
            f"bf16 autocast is emulated on this {dev.type} (no native bf16) and "
            "much slower than fp32; pass amp_bf16=None or False.",
            stacklevel=2,
        )
    t_start = time.perf_counter()

    x_np, y_np, info = load_dataset(dataset, data_root, "train", download, cache_dir)
    if x_np.ndim == 2:  # token ids: crop/flip/normalize do not apply
        raise UserError(
            f"dataset {dataset!r} is text; train it with "
            "airmodel.training.text.train_text (`airmodel train` does so itself)."
        )
    xt_np, yt_np, _ = load_dataset(dataset, data_root, "test", download, cache_dir)
    pad, default_flip = default_augmentation(info)
    flip = default_flip if flip is None else flip
    g = make_generator(seed, purpose="training")
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(y_np)
    if max_train_samples is not None and max_train_samples < len(y):
        keep = torch.randperm(len(y), generator=g)[:max_train_samples]
        x, y = x[keep], y[keep]
    x, y = x.to(dev), y.to(dev)
    n = len(y)
    steps = max(1, n // batch_size)  # drop the ragged last batch (BN stability)

    config: dict[str, Any] = {
        "model_name": model_name, "dataset": dataset,
        "data_root": None if data_root is None else str(data_root),
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "momentum": momentum,
        "nesterov": nesterov, "weight_decay": weight_decay, "schedule": schedule,
        "label_smoothing": label_smoothing, "seed": seed,
        "max_train_samples": max_train_samples, "pad": pad, "flip": flip,
        "amp_bf16": amp_bf16, "device": str(dev), "num_threads": torch.get_num_threads(),
        "train_samples": n, "torch_version": str(torch.__version__),
        "init_from": None if init_from is None else str(init_from),
        "weight_noise": None if weight_noise is None else {
            "wnr_db": [float(v) for v in weight_noise], "policy": weight_noise_policy,
            "sigma2": "mean square of the on-air weights / 10^(WNR/10), WNR ~ U(dB)",
        },
        "prune": None if prune is None else {"keep": float(prune), "scope": prune_scope},
    }  # fmt: skip

    model = get_model(model_name, info.num_classes, info.in_channels)
    init_weights(model, g)
    if init_from is not None:
        config["init"] = _load_init(model, init_from, model_name, dataset)
    model = model.to(dev, memory_format=torch.channels_last)
    pruner = None
    if prune is not None:
        from airmodel.training.pruning import Pruner

        try:
            pruner = Pruner(model, prune, prune_scope, weight_noise_policy)
        except ValueError as err:
            raise UserError(f"`prune` (--prune): {err}") from None
        pruner.apply()
    opt = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov,
        weight_decay=weight_decay,
    )  # fmt: skip
    sched = make_scheduler(opt, schedule, lr, epochs * steps)
    noise = (
        None
        if weight_noise is None
        else WeightNoise(model, weight_noise, weight_noise_policy)
    )
    start_epoch, wall_before = 0, 0.0
    last = out / "last.pt"
    if resume and last.is_file():
        ck = read_train_state(
            last,
            fix=f"Delete it (rm {last}) or pass --no-resume to start this run over; "
            "the epochs it held are lost either way.",
        )
        diff = {
            k: (ck["config"].get(k), config[k])
            for k in _RESUME_KEYS
            if ck["config"].get(k) != config[k]
        }
        if diff:
            raise UserError(
                f"{last} was written with other settings {diff} (saved, now); "
                "use another --out folder, or --no-resume (resume=False) to start "
                "over in this one (its last.pt is then replaced"
                + (
                    "; its final.pt too with --overwrite)."
                    if (out / "final.pt").exists()
                    else ")."
                )
            )
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        g.set_state(ck["rng_state"])
        start_epoch, wall_before = ck["epoch"], ck.get("train_wall_s", 0.0)
        print(f"Resuming {last} at epoch {start_epoch}/{epochs}.", file=sys.stderr)
    refuse_replacing_final(out, config, _RESUME_KEYS, overwrite)
    out.mkdir(parents=True, exist_ok=True)

    scorer = Scorer(xt_np, yt_np, info, device=dev, batch_size=1000, bf16=amp_bf16)
    amp = (
        torch.autocast(dev.type, dtype=torch.bfloat16)
        if amp_bf16
        else contextlib.nullcontext()
    )
    t_loop = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g).to(dev)
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev)
        bar = progress_bar(
            steps, f"epoch {epoch + 1}/{epochs}", "batch", show=progress,
            leave=True, delay=0, mininterval=5.0,
        )  # fmt: skip
        for i in range(steps):
            bar.update(1)
            idx = perm[i * batch_size : (i + 1) * batch_size]
            xb = normalize(augment(x[idx], g, pad, flip), info)
            yb = y[idx]
            if noise is not None:
                noise.add(g)  # forward/backward on noisy on-air weights
                if pruner is not None:
                    pruner.apply()  # pruned weights stay exact zeros
            with amp:
                logits = model(xb)
                loss = F.cross_entropy(
                    logits.float(), yb, label_smoothing=label_smoothing
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if noise is not None:
                noise.remove()  # the update applies to the clean weights
            opt.step()
            if pruner is not None:
                pruner.apply()
            lr_now = sched.get_last_lr()[0]
            sched.step()
            loss_sum += loss.detach()
            correct += (logits.argmax(1) == yb).sum()
            if progress and i % 20 == 19:
                bar.set_postfix(loss=f"{loss_sum.item() / (i + 1):.3f}")
        bar.close()
        _check_loss(loss_sum, epoch, epochs, lr, last)
        dt = time.perf_counter() - t0
        msg = (
            f"epoch {epoch + 1}/{epochs} loss {loss_sum.item() / steps:.4f} "
            f"train_acc {correct.item() / (steps * batch_size):.4f} "
            f"lr {lr_now:.4g} time {dt:.1f}s "
            f"({steps * batch_size / dt:.0f} img/s)"
        )
        if eval_every and (epoch + 1) % eval_every == 0 and epoch + 1 < epochs:
            msg += f" test_acc {scorer.accuracy(model):.4f}"
        print(msg, file=sys.stderr, flush=True)
        save_atomic(
            {
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": epoch + 1,
                "rng_state": g.get_state(), "config": config,
                "train_wall_s": wall_before + time.perf_counter() - t_loop,
            },
            last,
        )  # fmt: skip

    weights = portable_state_dict(model)
    check_finite_tensors(weights, what="trained model (training diverged)")
    test_acc = scorer.accuracy(model)
    wall = wall_before + time.perf_counter() - t_loop
    final = {
        "model_name": model_name,
        "num_classes": info.num_classes,
        "in_channels": info.in_channels,
        "dataset": dataset,
        "dataset_info": dataclasses.asdict(info),
        "normalization": {"mean": list(info.mean), "std": list(info.std)},
        "test_accuracy": test_acc,
        "config": config,
        "state_dict": weights,
        "train_wall_s": wall,
        "total_wall_s": time.perf_counter() - t_start,
    }
    path = save_atomic(final, out / "final.pt")
    print(
        f"test_accuracy {test_acc:.4f} ({len(yt_np)} images); wrote {path}",
        file=sys.stderr,
        flush=True,
    )
    return path
