# SPDX-License-Identifier: Apache-2.0
"""The one place that reads a config and builds plain-argument components."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import channels
from airmodel.config import ConfigError, DenoiserConfig, ExperimentConfig
from airmodel.data import DatasetInfo, DatasetNotFoundError, load_dataset
from airmodel.evaluation.scoring import Scorer, sample_indices
from airmodel.link import Link
from airmodel.receiver.denoiser import Denoiser, get_denoiser, list_denoisers
from airmodel.seed import derive_seed
from airmodel.training import load_checkpoint, resolve_device, train

__all__ = ["build_link", "build_denoiser", "build_model", "build_data", "Data"]


def build_scheme(cfg: ExperimentConfig) -> Any:
    """Transmission scheme named by ``transmitter.scheme``."""
    t = cfg.transmitter
    if t.scheme == "analog":
        from airmodel.modulation import AnalogScheme

        return AnalogScheme(t.precision)
    from airmodel.modulation import get_scheme

    try:
        return get_scheme("digital", **t.digital)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config key `transmitter.digital`: {err}") from err


def build_link(cfg: ExperimentConfig) -> Link:
    """The link (payload policy, scheme, channel) described by ``cfg``."""
    opts = dict(cfg.channel.options)
    # Options the Link itself takes (equalizer, power control, ...) go to the Link.
    link_params = set(inspect.signature(Link.__init__).parameters) - {"self", "channel"}
    link_kwargs = {k: opts.pop(k) for k in list(opts) if k in link_params}
    try:
        channel = channels.get(cfg.channel.name, **opts)
    except ValueError as err:
        raise ConfigError(f"config key `channel`: {err}") from err
    except TypeError as err:
        raise ConfigError(
            f"config key `channel.options`: {err}. See the channel's docstring "
            "for its arguments."
        ) from err
    return Link(
        channel,
        policy=cfg.transmitter.policy,
        precision=cfg.transmitter.precision,
        scheme=build_scheme(cfg),
        **link_kwargs,
    )


def build_denoiser(d: DenoiserConfig) -> Denoiser:
    """A denoiser from its config entry (selection is the sweep's job)."""
    kwargs: dict[str, Any] = {"prior": d.prior, "prior_scope": d.prior_scope}
    if d.name == "mmse_pb":
        kwargs.update(lam=d.lam, beta=d.beta)
    try:
        return get_denoiser(d.name, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"config key `receiver.denoisers` entry {d.name!r}: {err} "
            f"Registered denoisers: {list_denoisers()}."
        ) from err


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
            d.dataset, d.root, split, download=d.download, cache_dir=d.cache_dir
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
    kw = {"device": device, "batch_size": ev.batch_size, "bf16": ev.bf16,
          "fused": ev.fused, "cells_per_pass": cfg.execution.cells_per_pass}  # fmt: skip
    test = Scorer(x_te, y_te, info, **kw)
    subsets = TrainingSubsets(
        x_tr, y_tr, info, kappa=cfg.receiver.kappa,
        pool=max((d.recalibrate for d in cfg.receiver.denoisers), default=0),
        augment=cfg.receiver.recalibrate_augment, scorer_kwargs=kw,
    )  # fmt: skip
    val = subsets(derive_seed(cfg.seed, "selection"))
    return Data(test=test, validation=val, info=info, subsets=subsets)


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
        model, ckpt = load_checkpoint(path, device=device)
    except (ValueError, KeyError) as err:
        raise ConfigError(f"config key `model.checkpoint`: {err}") from err
    if ckpt.get("model_name") not in (None, m.name):
        raise ConfigError(
            f"config key `model.name`: {m.name!r} but checkpoint {path} holds "
            f"{ckpt.get('model_name')!r}. Set model.name={ckpt.get('model_name')}."
        )
    return model, ckpt


def build_device(cfg: ExperimentConfig) -> torch.device:
    """``evaluation.device`` resolved (``auto`` = cuda if present)."""
    try:
        return resolve_device(cfg.evaluation.device)
    except RuntimeError as err:
        raise ConfigError(f"config key `evaluation.device`: {err}") from err
