# SPDX-License-Identifier: Apache-2.0
"""The one place that reads a config and builds plain-argument components."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from airmodel.channels.registry import CHANNELS
from airmodel.config import ConfigError, ExperimentConfig
from airmodel.data import DATASETS, DatasetInfo, DatasetNotFoundError, load_dataset
from airmodel.devices import resolve_device, sionna_device
from airmodel.evaluation.scoring import Scorer, sample_indices
from airmodel.link import Link
from airmodel.models.loading import load_weights, model_from_weights
from airmodel.models.registry import check_model
from airmodel.modulation import SCHEMES
from airmodel.plugins import build_denoiser, check_denoisers
from airmodel.protocols import Scheme
from airmodel.registry import RegistryError
from airmodel.seed import make_generator
from airmodel.training import train

__all__ = [
    "build_link",
    "build_scheme",
    "build_denoiser",
    "build_model",
    "build_data",
    "build_device",
    "check_components",
    "Data",
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
        return SCHEMES.build(t.scheme, opts, **ctx)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config key `{key}`: {err}") from err


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
    try:
        return Link(
            channel,
            policy=cfg.transmitter.policy,
            precision=cfg.transmitter.precision,
            scheme=build_scheme(cfg, device),
            device=device,
            **link_kwargs,
        )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config key `channel.options`: {err}") from err


@dataclass
class Data:
    """Test scorer, validation scorer and the dataset's description."""

    test: Scorer
    validation: Scorer
    info: DatasetInfo


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

    The validation scorer also holds the receiver's unlabelled pool for
    batch-norm recalibration: ``max(recalibrate)`` training images drawn with
    the same seeded permutation, so the first ``kappa`` are the validation
    images (labels of the others are never loaded onto the device). With
    ``receiver.recalibrate_augment`` the pool gets the training augmentation.
    """
    from airmodel.data.transforms import augment, default_augmentation, to_tensor
    from airmodel.evaluation.sweep import ValidationScorer

    x_te, y_te, info = _load(cfg, "test")
    if cfg.data.test_samples is not None and cfg.data.test_samples < len(y_te):
        idx = sample_indices(len(y_te), cfg.data.test_samples, seed=cfg.seed).numpy()
        x_te, y_te = x_te[idx], y_te[idx]
    x_tr, y_tr, _ = _load(cfg, "train")
    kappa = min(cfg.receiver.kappa, len(y_tr))
    pool = min(
        max((d.recalibrate for d in cfg.receiver.denoisers), default=0), len(y_tr)
    )
    # randperm(n)[:k] is a prefix of randperm(n)[:m] for k < m: the first kappa
    # images of the pool are exactly the validation images.
    order = sample_indices(len(y_tr), max(kappa, pool), seed=cfg.seed + 1).numpy()
    idx = order[:kappa]
    ev = cfg.evaluation
    test = Scorer(
        x_te,
        y_te,
        info,
        device=device,
        batch_size=ev.batch_size,
        bf16=ev.bf16,
        fused=ev.fused,
        keep_freed_memory=ev.keep_freed_memory,
    )
    unlabelled = None
    if pool:
        raw = torch.as_tensor(x_tr[order[:pool]])
        if cfg.receiver.recalibrate_augment:
            pad, flip = default_augmentation(info)
            raw = augment(raw, make_generator(cfg.seed + 2), pad, flip)
        unlabelled = to_tensor(raw, info, device, channels_last=True)
    val = ValidationScorer(
        x_tr[idx],
        y_tr[idx],
        info,
        device=device,
        batch_size=ev.batch_size,
        bf16=ev.bf16,
        fused=ev.fused,
        keep_freed_memory=ev.keep_freed_memory,
        unlabelled=unlabelled,
    )
    return Data(test=test, validation=val, info=info)


def build_model(cfg: ExperimentConfig, device: torch.device) -> tuple[nn.Module, dict]:
    """Load ``model.checkpoint``, or train it once with ``model.train`` and cache it."""
    m = cfg.model
    path = Path(m.checkpoint) if m.checkpoint else None
    if path is None and m.train is not None:
        path = Path(m.train.out) / "final.pt"
    if path is None:
        raise ConfigError(
            "config key `model.checkpoint`: no checkpoint given. Point it at a "
            "final.pt written by `airmodel train`, or add a `model.train` section "
            "to train one on the fly."
        )
    if not path.is_file():
        if m.train is None:
            raise ConfigError(
                f"config key `model.checkpoint`: {str(path)!r} does not exist. Train "
                f"one with `airmodel train --model {m.name} --out {path.parent}` or "
                "add a `model.train` section."
            )
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
    except (ValueError, KeyError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"config key `model.checkpoint`: {err}") from err
    return model.to(device).eval(), {"model_name": m.name, **ckpt}


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
    except RuntimeError as err:
        raise ConfigError(f"config key `evaluation.device`: {err}") from err
