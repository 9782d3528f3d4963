# SPDX-License-Identifier: Apache-2.0
"""Run an experiment config end to end: build, sweep, write results and plot."""

from __future__ import annotations

from pathlib import Path

import torch

from airmodel.builder import build_data, build_device, build_link, build_model
from airmodel.config import ConfigError, ExperimentConfig, to_dict
from airmodel.evaluation.plot import plot_accuracy
from airmodel.evaluation.results import ResultsFolder
from airmodel.evaluation.sweep import ROW_KEY, SweepPlan, run_sweep
from airmodel.provenance import provenance, write_json_atomic

__all__ = ["run_experiment", "dry_run", "check_denoisers"]


def check_denoisers(cfg: ExperimentConfig) -> None:
    """Selection applies to MMSE_pb only."""
    for d in cfg.receiver.denoisers:
        if d.select != "fixed" and d.name != "mmse_pb":
            raise ConfigError(
                f"config key `receiver.denoisers` entry {d.key!r}: select={d.select!r} "
                "applies to mmse_pb only; use select: fixed."
            )


def dry_run(cfg: ExperimentConfig) -> str:
    """Validate what can be checked without heavy work; describe the plan."""
    check_denoisers(cfg)
    build_link(cfg)
    m = cfg.model
    ckpt = m.checkpoint or (f"{m.train.out}/final.pt" if m.train else None)
    if ckpt is None or (not Path(ckpt).is_file() and m.train is None):
        raise ConfigError(
            f"config key `model.checkpoint`: {ckpt!r} does not exist; train one with "
            "`airmodel train` or add a `model.train` section."
        )
    if cfg.data.root is not None and not Path(cfg.data.root).exists():
        raise ConfigError(
            f"config key `data.root`: {cfg.data.root!r} does not exist. Point it at "
            "the dataset folder or archive."
        )
    status = "found" if Path(ckpt).is_file() else f"missing: will train ({m.train})"
    dens = ", ".join(d.key for d in cfg.receiver.denoisers)
    rows = len(cfg.sweep.snr_db) * cfg.sweep.draws * len(cfg.receiver.denoisers)
    grid = len(cfg.receiver.lam_grid) * len(cfg.receiver.beta_grid)
    n_sel = sum(d.select != "fixed" for d in cfg.receiver.denoisers)
    if cfg.experiment == "federated":
        f = cfg.federated
        body = (
            f"  federated: {f.num_devices} devices, {f.active} active, {f.rounds} "
            f"rounds x {f.local_epochs} local epochs, split={f.split}, runs={f.runs}"
        )
    else:
        body = (
            f"  sweep: Es/N0 {list(cfg.sweep.snr_db)} dB x {cfg.sweep.draws} draws "
            f"x {len(cfg.receiver.denoisers)} denoisers = {rows} rows\n"
            f"  selection: {n_sel} denoiser(s) x {grid}-cell grid on "
            f"kappa={cfg.receiver.kappa} validation images per (point, draw)"
        )
    return "\n".join(
        [
            f"plan for {cfg.name!r} (config OK)",
            f"  model: {m.name}, checkpoint {ckpt} ({status})",
            f"  data: {cfg.data.dataset} root={cfg.data.root}",
            f"  link: {cfg.transmitter.scheme} ({cfg.transmitter.precision}), policy="
            f"{cfg.transmitter.policy}, channel {cfg.channel.name} {cfg.channel.options}",
            f"  denoisers: {dens}",
            body,
            f"  results: {cfg.results_dir}/",
        ]
    )


def run_experiment(cfg: ExperimentConfig, progress: bool = True) -> Path:
    """Run ``cfg``; return the results folder."""
    if cfg.experiment == "federated":
        from airmodel.federated.run import run_federated

        return run_federated(cfg, progress=progress)
    check_denoisers(cfg)
    if cfg.evaluation.threads:
        torch.set_num_threads(cfg.evaluation.threads)
    device = build_device(cfg)
    link = build_link(cfg)
    folder = ResultsFolder(cfg.results_dir, to_dict(cfg), ROW_KEY)
    model, ckpt = build_model(cfg, device)
    data = build_data(cfg, device)
    clean_acc = data.test.accuracy(model)
    folder.set_meta(
        provenance=provenance(cfg.seed, device),
        model={
            "name": cfg.model.name,
            "checkpoint_test_accuracy": ckpt.get("test_accuracy"),
            "dataset": ckpt.get("dataset"),
        },
        clean_accuracy=clean_acc,
        test_images=len(data.test),
        validation_images=len(data.validation),
        channel_uses_per_weight=getattr(link.scheme, "channel_uses_per_weight", None),
    )
    write_json_atomic(cfg.results_dir / "provenance.json", folder.meta["provenance"])
    plan = SweepPlan(cfg.sweep.snr_db, cfg.sweep.draws, cfg.seed)
    rows = run_sweep(
        link,
        model,
        {"test": data.test, "validation": data.validation},
        cfg.receiver.denoisers,
        plan,
        folder,
        cfg.receiver.lam_grid,
        cfg.receiver.beta_grid,
        progress=progress,
    )
    title = (
        f"{cfg.model.name} on {cfg.data.dataset}, {cfg.transmitter.scheme} over "
        f"{cfg.channel.name}; {cfg.sweep.draws} draws, n={len(data.test)} test images"
    )
    plot_accuracy(
        rows,
        cfg.results_dir / "accuracy_vs_snr.png",
        title=title,
        clean_accuracy=clean_acc,
    )
    return cfg.results_dir
