# SPDX-License-Identifier: Apache-2.0
"""The one place that reads a config and builds plain-argument components."""

from __future__ import annotations

import inspect
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from airmodel.channels.registry import CHANNELS
from airmodel.config import ConfigError, ExperimentConfig, compare_budget
from airmodel.data import DATASETS, DatasetInfo, DatasetNotFoundError, load_dataset
from airmodel.data.transforms import default_augmentation
from airmodel.devices import resolve_device, sionna_device
from airmodel.errors import CorruptFileError, UserError
from airmodel.evaluation.precision import (
    PrecisionChoice,
    choose_precision,
    requested_precision,
)
from airmodel.evaluation.scoring import Scorer, bf16_is_fast, sample_indices
from airmodel.execution import check_execution
from airmodel.federated.run import FederatedContext, Rounds, make_uplink
from airmodel.federated.server import bn_policy_to_payload
from airmodel.federated.split import dirichlet_split, iid_split, paper_split
from airmodel.federated.uplink import OverTheAirUplink
from airmodel.link import Link
from airmodel.models.loading import load_weights, model_from_weights
from airmodel.models.registry import check_model, get_model
from airmodel.modulation import SCHEMES
from airmodel.plugins import build_denoiser
from airmodel.plugins import check_denoisers as check_receivers
from airmodel.protocols import Scheme
from airmodel.registry import RegistryError
from airmodel.seed import derive_seed
from airmodel.training import train
from airmodel.training.checkpoint import check_clean_accuracy
from airmodel.transmitter.payload import flatten

__all__ = [
    "Data",
    "build_data",
    "build_denoiser",
    "build_device",
    "build_federated",
    "build_split",
    "build_uplink",
    "check_federated",
    "fit_links",
    "build_link",
    "build_model",
    "build_scheme",
    "check_checkpoint_path",
    "check_components",
    "check_denoisers",
    "check_model_builds",
    "check_model_fits_data",
    "score_clean",
    "train_hint",
]


def build_scheme(cfg: ExperimentConfig, device: torch.device | None = None) -> Scheme:
    """The scheme ``transmitter.scheme`` names, with ``transmitter.digital`` (digital)
    or ``transmitter.options`` (plugins) as its options, on ``device``."""
    t = cfg.transmitter
    opts = t.digital if t.scheme == "digital" else t.options
    key = "transmitter." + (
        "digital" if t.scheme == "digital" else "options" if t.options else "scheme"
    )
    ctx = {"precision": t.precision, "device": sionna_device(device or "cpu")}
    try:
        scheme = SCHEMES.build(t.scheme, opts, **ctx)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config key `{key}`: {err}") from err
    if t.channel_uses_per_weight is None:
        return scheme
    from airmodel.transmitter.budget import BudgetScheme

    try:  # bandwidth budget: prune below 0.5, repeat above (docs/bandwidth.md)
        b = t.budget
        return BudgetScheme(
            scheme, t.channel_uses_per_weight, prune=b.prune, mask=b.mask,
            mask_bits_per_use=b.mask_bits_per_use, expansion=b.expansion,
            keep=b.keep,
        )  # fmt: skip
    except ValueError as err:
        raise ConfigError(
            f"config key `transmitter.channel_uses_per_weight`: {err} "
            "Set it only with scheme: analog (null for the scheme's own)."
        ) from err


def build_link(cfg: ExperimentConfig, device: torch.device | str = "cpu") -> Link:
    """The link (payload policy, scheme, channel) described by ``cfg``, on ``device``.

    ``channel.options`` the :class:`Link` takes (``interleave``,
    ``power_control``, ...) go to the Link, the others to the channel; an
    option neither takes is refused with the accepted ones listed.
    """
    device = torch.device(device)
    opts = dict(cfg.channel.options)
    # Options the Link itself takes (equalizer, power control, ...) go to the Link.
    link_params = set(inspect.signature(Link.__init__).parameters) - {
        "self",
        "channel",
        "denoiser",
        "policy",
        "precision",
        "scheme",
        "device",
    }
    link_kwargs = {k: opts.pop(k) for k in list(opts) if k in link_params}
    ctx = {"precision": cfg.transmitter.precision, "device": sionna_device(device)}
    try:
        CHANNELS.check(cfg.channel.name, opts)
        channel = CHANNELS.build(cfg.channel.name, opts, **ctx)
    except RegistryError as err:
        extra = (
            ""
            if cfg.channel.name not in CHANNELS
            else (f" Link options (also under channel.options): {sorted(link_params)}.")
        )
        raise ConfigError(f"config key `channel`: {err}{extra}") from err
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"config key `channel.options`: {err}. Accepted options of "
            f"{cfg.channel.name!r}: {CHANNELS.options(cfg.channel.name)}."
        ) from err
    scheme = build_scheme(cfg, device)  # names its own config key
    try:
        return Link(
            channel,
            policy=cfg.transmitter.policy,
            precision=cfg.transmitter.precision,
            scheme=scheme,
            device=device,
            **link_kwargs,
        )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config key `channel.options`: {err}") from err


@dataclass
class Data:
    """Test scorer, run-level validation scorer, the dataset's description and
    the per-trial subset sampler (:class:`~airmodel.evaluation.sweep.TrainingSubsets`)."""

    test: Scorer
    validation: Scorer
    info: DatasetInfo
    subsets: Any = None


def _load(
    cfg: ExperimentConfig, split: str
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    d = cfg.data
    try:
        return load_dataset(
            d.dataset,
            d.root,
            split,
            download=d.download,
            cache_dir=d.cache_dir,
            options=d.options,
        )
    except DatasetNotFoundError as err:
        raise ConfigError(f"config key `data.root`: {err}") from err


def build_data(cfg: ExperimentConfig, device: torch.device) -> Data:
    """Score on the test split; select on ``kappa`` un-augmented training images.

    ``subsets`` (:class:`~airmodel.evaluation.sweep.TrainingSubsets`) draws a
    trial's validation images and unlabelled recalibration pool
    (``max(recalibrate)`` training images from the same seeded permutation,
    so the first ``kappa`` are the validation images; with
    ``receiver.recalibrate_augment`` the pool gets the training augmentation).
    ``validation`` is the run-level draw (seed keyed by the run seed), used
    where no trial applies (federated selection).
    """
    from airmodel.evaluation.sweep import TrainingSubsets

    x_te, y_te, info = _load(cfg, "test")
    if cfg.data.test_samples is not None and cfg.data.test_samples < len(y_te):
        idx = sample_indices(
            len(y_te), cfg.data.test_samples, seed=derive_seed(cfg.seed, "test_subset")
        ).numpy()
        x_te, y_te = x_te[idx], y_te[idx]
    x_tr, y_tr, _ = _load(cfg, "train")
    ev = cfg.evaluation
    start = requested_precision(ev.precision, ev.bf16)  # auto: fp32 until checked
    kw = {"device": device, "batch_size": ev.batch_size,
          "precision": "fp32" if start == "auto" else start,
          "fused": ev.fused, "keep_freed_memory": ev.keep_freed_memory,
          "cells_per_pass": cfg.execution.cells_per_pass}  # fmt: skip
    test = Scorer(x_te, y_te, info, **kw)
    subsets = TrainingSubsets(
        x_tr, y_tr, info, kappa=cfg.receiver.kappa,
        pool=max((max(d.recalibrate, d.adapt.images if d.adapt else 0)
                  for d in cfg.receiver.denoisers), default=0),
        augment=cfg.receiver.recalibrate_augment, scorer_kwargs=kw,
    )  # fmt: skip
    val = subsets(derive_seed(cfg.seed, "selection"))
    return Data(test=test, validation=val, info=info, subsets=subsets)


def resolve_precision(
    cfg: ExperimentConfig, model: nn.Module, data: Data
) -> PrecisionChoice:
    """Resolve ``evaluation.precision`` on the test images; set it on ``data``'s scorers.

    Prints the choice's one line (:mod:`airmodel.evaluation.precision`) when
    it is not plain fp32, and returns the
    :class:`~airmodel.evaluation.precision.PrecisionChoice`.
    """
    ev = cfg.evaluation
    choice = choose_precision(
        requested_precision(ev.precision, ev.bf16), data.test, model,
        tolerance=ev.precision_tolerance,
    )  # fmt: skip
    for scorer in (data.test, data.validation):
        scorer.precision = choice.precision
    if data.subsets is not None:
        data.subsets.scorer_kwargs = {
            **(data.subsets.scorer_kwargs or {}), "precision": choice.precision
        }
    if choice.requested != "fp32":
        print(choice.line(), file=sys.stderr)
    return choice


def fit_links(
    cfg: ExperimentConfig, links: list[Link], model: nn.Module, data: Data
) -> None:
    """Measure what ``links`` adapt to ``model`` on the validation images: the
    per-tensor power allocation (``transmitter.allocation: fisher``, equal
    energy) and the bandwidth budget's Fisher-weighted expansion."""
    if cfg.transmitter.allocation == "fisher":
        from airmodel.transmitter.power_allocation import fisher_allocation

        for link in links:
            link.scheme = fisher_allocation(
                link.scheme, model, link.policy, data.validation.x,
                cfg.transmitter.allocation_clip, cfg.seed,
            )  # fmt: skip
    from airmodel.transmitter.budget import attach_sensitivity

    for link in links:
        attach_sensitivity(link.scheme, model, link.policy, data.validation.x, cfg.seed)


def train_hint(cfg: ExperimentConfig, path: str | Path) -> str:
    """The `airmodel train` command that writes the checkpoint ``path`` names."""
    path = Path(path)
    root = f" --data-root {cfg.data.root}" if cfg.data.root else ""
    cmd = (
        f"`airmodel train --model {cfg.model.name} --dataset {cfg.data.dataset}{root} "
        f"--out {path.parent}`"
    )
    then = (
        ""
        if path.name == "final.pt"
        else f", then --set model.checkpoint={path.parent}/final.pt"
    )
    return f"Train one with {cmd}{then}, or add a `model.train` section."


def check_checkpoint_path(cfg: ExperimentConfig, path: Path) -> None:
    """A ``model.checkpoint`` the config names must be a file: a missing one is an
    error even with a ``model.train`` section (which trains only when no
    checkpoint is given), so a typo never trains over another model."""
    if path.is_dir():
        raise ConfigError(
            f"config key `model.checkpoint`: {str(path)!r} is a folder; give the "
            f"checkpoint file in it (e.g. {path / 'final.pt'})."
        )
    if not path.is_file():
        train = (
            " To train it with `model.train`, remove `model.checkpoint` (training "
            f"writes {cfg.model.train.out}/final.pt)."
            if cfg.model.train is not None
            else ""
        )
        raise ConfigError(
            f"config key `model.checkpoint`: {str(path)!r} does not exist. "
            f"{train_hint(cfg, path)}{train}"
        )


def build_model(cfg: ExperimentConfig, device: torch.device) -> tuple[nn.Module, dict]:
    """Load ``model.checkpoint``, or train it once with ``model.train`` and cache it."""
    m = cfg.model
    path = Path(m.checkpoint) if m.checkpoint else None
    if path is not None:
        check_checkpoint_path(cfg, path)  # a given checkpoint is never trained
    elif m.train is not None:
        path = Path(m.train.out) / "final.pt"
    if path is None:
        raise ConfigError(
            "config key `model.checkpoint`: no checkpoint given. Point it at a "
            "final.pt written by `airmodel train`, or add a `model.train` section "
            "to train one on the fly."
        )
    if not path.is_file():
        t = m.train
        try:
            path = train(
                m.name,
                cfg.data.dataset,
                epochs=t.epochs,
                batch_size=t.batch_size,
                lr=t.lr,
                weight_decay=t.weight_decay,
                schedule=t.schedule,
                label_smoothing=t.label_smoothing,
                seed=cfg.seed,
                out_dir=path.parent,
                device=device,
                amp_bf16=t.amp_bf16,
                data_root=cfg.data.root,
                download=cfg.data.download,
                cache_dir=cfg.data.cache_dir,
            )
        except DatasetNotFoundError as err:
            raise ConfigError(f"config key `data.root`: {err}") from err
    model, ckpt = _model_from_checkpoint(cfg, path)
    return model.to(device).eval(), {"model_name": m.name, **ckpt}


def _model_from_checkpoint(cfg: ExperimentConfig, path: Path) -> tuple[nn.Module, dict]:
    """``model.name`` built and loaded with the weights of ``path`` (checked)."""
    m = cfg.model
    try:
        state, ckpt = load_weights(path)
        recorded = ckpt.get("model_name")
        if recorded not in (None, m.name):
            raise ConfigError(
                f"config key `model.name`: {m.name!r} but checkpoint {path} holds "
                f"{recorded!r}. Set model.name={recorded}."
            )
        shape: dict[str, int] = {}
        if "num_classes" not in ckpt:  # a plain state dict: the dataset says
            info = _load(cfg, "test")[2]
            shape = {"num_classes": info.num_classes, "in_channels": info.in_channels}
        model = model_from_weights(
            state, ckpt, m.name, options=m.options, what=str(path), **shape
        )
    except (ConfigError, CorruptFileError):
        raise  # name the config key, or the file and the fix, already
    except RegistryError as err:  # the factory's (or its import's) own error
        raise ConfigError(f"config key `model.name`: {err}") from None
    except (ValueError, KeyError) as err:
        raise ConfigError(f"config key `model.checkpoint`: {err}") from None
    return model, ckpt


def check_model_builds(cfg: ExperimentConfig, checkpoint: str | Path | None) -> str:
    """Build ``model`` (``--dry-run``) and, given a ``checkpoint``, load it: every
    key and shape must match (one line listing the mismatches otherwise)."""
    if checkpoint is None:
        try:
            model = get_model(cfg.model.name, options=cfg.model.options)
        except RegistryError as err:
            raise ConfigError(f"config key `model.name`: {err}") from None
        what = "model builds"
    else:
        model, _ = _model_from_checkpoint(cfg, Path(checkpoint))
        what = "model built, its weights fit"
    n = sum(p.numel() for p in model.parameters())
    return f"{what} ({len(model.state_dict())} tensors, {n:,} parameters)"


def check_denoisers(cfg: ExperimentConfig) -> None:
    """Every ``receiver.denoisers`` entry builds; selection applies to MMSE_pb only."""
    check_receivers(cfg.receiver.denoisers)


def check_components(cfg: ExperimentConfig) -> torch.device:
    """Build or check every component of ``cfg`` that is cheap to (``--dry-run``).

    The device must exist; the link (channel, scheme, each compared scheme)
    and every denoiser are built; the model and dataset names and their
    options are checked against their registries. Returns the device.
    """
    device = build_device(cfg)
    build_link(cfg, device)
    check_denoisers(cfg)
    t = cfg.transmitter
    for i, entry in enumerate(t.compare):
        sub = replace(
            t,
            scheme=entry["scheme"],
            digital=dict(entry.get("digital", {})),
            precision=entry.get("precision", t.precision),
            compare=[],
            **compare_budget(t, entry, i),
        )
        try:
            build_scheme(replace(cfg, transmitter=sub), device)
        except ConfigError as err:
            raise ConfigError(f"config key `transmitter.compare[{i}]`: {err}") from err
    try:
        check_model(cfg.model.name, cfg.model.options)
    except RegistryError as err:
        raise ConfigError(f"config key `model`: {err}") from err
    try:
        DATASETS.check(cfg.data.dataset, cfg.data.options)
    except RegistryError as err:
        raise ConfigError(f"config key `data`: {err}") from err
    return device


def build_device(cfg: ExperimentConfig) -> torch.device:
    """``evaluation.device`` resolved (``auto`` = cuda if present)."""
    try:
        return resolve_device(cfg.evaluation.device)
    except (RuntimeError, ValueError) as err:
        raise ConfigError(
            f"config key `evaluation.device`: {err} E.g. --set evaluation.device=cpu"
        ) from None


def check_model_fits_data(
    cfg: ExperimentConfig, model: nn.Module, ckpt: dict, info: DatasetInfo
) -> None:
    """Refuse a checkpoint whose input channels, classes or image size do not fit
    the dataset (it would fail deep inside a convolution)."""
    want = {"in_channels": info.in_channels, "num_classes": info.num_classes}
    got = {k: ckpt.get(k) for k in want}
    recorded = (ckpt.get("dataset_info") or {}).get("image_size")
    if recorded is not None:
        want["image_size"], got["image_size"] = tuple(info.image_size), tuple(recorded)
    diff = {
        k: (got[k], want[k]) for k in want if got[k] is not None and got[k] != want[k]
    }
    if diff:
        where = cfg.model.checkpoint or "the model.train checkpoint"
        shown = ", ".join(f"{k} {a} vs dataset {b}" for k, (a, b) in diff.items())
        raise ConfigError(
            f"config key `model.checkpoint`: {where} was trained on "
            f"{ckpt.get('dataset')!r} and does not fit dataset {cfg.data.dataset!r} "
            f"({shown}). Use a checkpoint trained on this dataset, or set data.dataset/"
            "data.root to the data it was trained on."
        )


def score_clean(
    cfg: ExperimentConfig,
    model: nn.Module,
    ckpt: dict,
    data: Data,
    accept_accuracy_gap: bool = False,
) -> float:
    """Clean test accuracy of ``model``, checked against what its checkpoint records.

    See :func:`airmodel.training.checkpoint.check_clean_accuracy`; with
    ``accept_accuracy_gap`` a gap is only reported (CLI ``--accept-accuracy-gap``).
    """
    check_model_fits_data(cfg, model, ckpt, data.info)
    acc = data.test.accuracy(model)
    path = cfg.model.checkpoint or f"{cfg.model.train.out}/final.pt"
    try:
        check_clean_accuracy(acc, ckpt.get("test_accuracy"), len(data.test), path)
    except UserError as err:
        if not accept_accuracy_gap:
            raise
        print(f"airmodel: warning: {err}", file=sys.stderr)
    return acc


# ---------------------------------------------------------------- federated


def check_federated(cfg: ExperimentConfig) -> None:
    """What ``experiment: federated`` refuses before any work (one line each)."""
    check_denoisers(cfg)
    check_execution(cfg.execution)
    t = cfg.transmitter
    if not cfg.sweep.snr_db:
        raise ConfigError(
            "config key `sweep.snr_db`: give at least one Es/N0 in dB (.inf: no noise)."
        )
    if t.scheme != "analog":
        raise ConfigError(
            "config key `transmitter.scheme`: over-the-air aggregation is analog; "
            "set scheme: analog."
        )
    if not isinstance(t.policy, str) or t.policy != "paper":
        raise ConfigError(
            "config key `transmitter.policy`: federated runs choose the payload with "
            "`federated.bn_policy` (clean | noisy); leave policy at 'paper'."
        )
    if t.allocation != "uniform":
        raise ConfigError(
            "config key `transmitter.allocation`: per-tensor power allocation applies "
            "to inference runs only; use `uniform` for federated experiments."
        )
    for den in cfg.receiver.denoisers:
        post = den.adapt is not None or den.views > 1
        if den.select not in ("fixed", "validation", "oracle") or post:
            raise ConfigError(
                f"config key `receiver.denoisers` entry {den.key!r}: the federated "
                "server supports select fixed|validation|oracle (and `recalibrate`) "
                "without `adapt` or `views`; remove them for this experiment."
            )
        if den.recalibrate and den.select != "fixed":
            raise ConfigError(
                f"config key `receiver.denoisers` entry {den.key!r}: `recalibrate` "
                "(batch-norm statistics re-estimated after each round) applies to "
                "select: fixed receivers only in federated runs; drop one of them."
            )


def build_split(cfg: ExperimentConfig, labels: np.ndarray) -> list[np.ndarray]:
    """Per-device training indices for ``federated.split`` (seeded by ``seed``)."""
    f = cfg.federated
    try:
        if f.split == "paper":
            return paper_split(
                labels, f.num_devices, f.iid_per_device, f.shard_size, cfg.seed
            )
        if f.split == "dirichlet":
            return dirichlet_split(labels, f.num_devices, f.alpha, cfg.seed)
        return iid_split(labels, f.num_devices, cfg.seed)
    except ValueError as err:
        keys = {
            "paper": "federated.iid_per_device / federated.shard_size",
            "dirichlet": "federated.alpha",
            "iid": "federated.num_devices",
        }[f.split]
        raise ConfigError(
            f"config key `{keys}` (split {f.split!r}, {len(labels)} training "
            f"images): {err}"
        ) from err


def uplink_args(cfg: ExperimentConfig) -> dict[str, Any]:
    """:func:`~airmodel.federated.run.make_uplink`'s arguments (but the device).

    ``channel.options`` may hold ``power_control: truncated_inversion`` and
    ``inversion_threshold`` (over fading; default 0.1); the rest go to the channel.
    """
    opts = dict(cfg.channel.options)
    opts.pop("power_control", None)
    thr = opts.pop("inversion_threshold", None)
    return {
        "channel": cfg.channel.name,
        "options": opts,
        "precision": cfg.transmitter.precision,
        "inversion_threshold": 0.1 if thr is None else thr,
    }


def build_uplink(cfg: ExperimentConfig, device: torch.device) -> OverTheAirUplink:
    """The over-the-air uplink from ``channel`` and ``transmitter.precision``."""
    pc = cfg.channel.options.get("power_control")
    thr = cfg.channel.options.get("inversion_threshold")
    try:
        uplink = make_uplink(**uplink_args(cfg), device=device)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config key `channel`: {err}") from err
    fading = uplink.channel.is_fading
    if fading and pc not in (None, "truncated_inversion"):
        raise ConfigError(
            "config key `channel.options.power_control`: over-the-air aggregation "
            "over fading needs aligned devices; use truncated_inversion."
        )
    if not fading and (pc not in (None, "none") or thr is not None):
        raise ConfigError(
            "config key `channel.options`: power_control / inversion_threshold "
            f"apply to fading channels only; drop them for {cfg.channel.name!r}."
        )
    return uplink


def build_federated(
    cfg: ExperimentConfig, device: torch.device
) -> tuple[FederatedContext, dict[str, Any]]:
    """What every federated unit shares, and the results folder's metadata.

    The model is trained from scratch (``model.checkpoint``/``model.train``
    are not used); ``federated`` becomes the round loop's :class:`Rounds`.
    """
    f = cfg.federated
    uplink = build_uplink(cfg, device)
    data = build_data(cfg, device)
    x_tr, y_tr, info = _load(cfg, "train")
    parts = build_split(cfg, y_tr)
    pad, flip = default_augmentation(info)
    amp = bf16_is_fast(device) if f.amp_bf16 is None else f.amp_bf16
    policy = bn_policy_to_payload(f.bn_policy)
    try:
        probe = get_model(cfg.model.name, info.num_classes, info.in_channels)
    except ValueError as err:
        raise ConfigError(f"config key `model.name`: {err}") from err
    _, spec = flatten(probe.state_dict(), policy)
    rounds = Rounds(
        active=f.active, rounds=f.rounds, local_epochs=f.local_epochs,
        batch_size=f.batch_size, lr=f.lr, momentum=f.momentum,
        weight_decay=f.weight_decay, schedule=f.schedule, eval_every=f.eval_every,
        divergence_loss=f.divergence_loss,
    )  # fmt: skip
    ctx = FederatedContext(
        model_name=cfg.model.name, receivers=tuple(cfg.receiver.denoisers),
        rounds=rounds, lam_grid=cfg.receiver.lam_grid,
        beta_grid=cfg.receiver.beta_grid, recalibrate_batch=cfg.evaluation.batch_size,
        uplink=uplink, uplink_args=uplink_args(cfg), data=data, parts=parts,
        images=torch.from_numpy(x_tr).to(device),
        labels=torch.from_numpy(y_tr).to(device), info=info, pad=pad, flip=flip,
        amp=amp, policy=policy,
    )  # fmt: skip
    meta = {
        "model": {"name": cfg.model.name, "num_air": spec.num_air, "numel": spec.numel},
        "complex_symbols_per_round": math.ceil(spec.num_air / 2),
        "device_images": [len(p) for p in parts],
        "device_labels": [
            np.bincount(y_tr[p], minlength=info.num_classes).tolist() for p in parts
        ],
        "test_images": len(data.test),
        "validation_images": len(data.validation),
        "amp_bf16": amp,
        "snr_convention": (
            "snr_db is Es/N0 of the aligned over-the-air sum (unit-energy symbols, "
            "two weights per complex symbol): noise per real weight = mean(sum^2) / "
            "10^(snr_db/10) (/c under truncated inversion)"
        ),
    }
    return ctx, meta
