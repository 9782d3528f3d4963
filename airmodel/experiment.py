# SPDX-License-Identifier: Apache-2.0
"""Run an experiment config end to end: build, sweep, write results and plot."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from airmodel.builder import (
    _load as _load_split,
)
from airmodel.builder import (
    build_data,
    build_device,
    build_federated,
    build_link,
    build_model,
    check_checkpoint_path,
    check_components,
    check_denoisers,
    check_federated,
    check_model_builds,
    fit_links,
    resolve_precision,
    score_clean,
)
from airmodel.config import (
    ConfigError,
    ExperimentConfig,
    SweepConfig,
    compare_budget,
    from_dict,
    to_dict,
)
from airmodel.errors import UserError
from airmodel.evaluation.adaptive import adaptive_sweep, max_draws, max_points
from airmodel.evaluation.estimate import (
    WallTimeEstimate,
    calibrate_cell,
    estimate,
    format_seconds,
)
from airmodel.evaluation.plot import ew_n0_db, plot_accuracy, plot_scheme_comparison
from airmodel.evaluation.precision import bf16_native, requested_precision
from airmodel.evaluation.results import ResultsFolder
from airmodel.evaluation.shard import shard_dir, shard_label
from airmodel.evaluation.sweep import ROW_KEY, SweepPlan, run_sweep, selection_key
from airmodel.execution import check_execution, driver_device, get_backend
from airmodel.federated.results import FederatedResults
from airmodel.federated.run import federated_units, run_units
from airmodel.link import Link
from airmodel.progress import enabled as progress_enabled
from airmodel.provenance import provenance
from airmodel.receiver.denoiser import FIT_EVALUATIONS
from airmodel.receiver.denoiser.fit import FIT_LAYER_STEPS
from airmodel.registry import installed_plugins

__all__ = [
    "run_experiment", "run_federated", "dry_run", "check_denoisers", "plan_cost",
    "plan_counts", "estimate_wall_time",
]  # fmt: skip


def dry_run(cfg: ExperimentConfig) -> str:
    """Validate what can be checked without heavy work; describe the plan."""
    check_components(cfg)  # device, link, denoisers, model and dataset names
    check_execution(cfg.execution)
    m = cfg.model
    ckpt = m.checkpoint or (f"{m.train.out}/final.pt" if m.train else None)
    federated = cfg.experiment == "federated"  # trains from scratch: no checkpoint
    cost = "; ".join(line.strip() for line in plan_cost(cfg))
    if not federated and m.checkpoint is not None:
        try:
            check_checkpoint_path(cfg, Path(m.checkpoint))  # never trained over
        except ConfigError as err:
            raise ConfigError(f"{err} (The plan's {cost}.)") from None
    if not federated and ckpt is None:
        raise ConfigError(
            f"config key `model.checkpoint`: None does not exist. Point it at a "
            f"final.pt. (The plan's {cost}.)"
        )
    if cfg.data.root is not None and not Path(cfg.data.root).exists():
        raise ConfigError(
            f"config key `data.root`: {cfg.data.root!r} does not exist. Point it at "
            f"the dataset folder or archive. (The plan's {cost}.)"
        )
    if federated:
        status = "not needed: federated training starts from scratch"
    elif Path(ckpt).is_file():
        status = "found"
    else:
        status = f"missing: will train ({m.train})"
    built = check_model_builds(cfg, ckpt if status == "found" else None)
    dens = ", ".join(d.key for d in cfg.receiver.denoisers)
    rows = max_points(cfg.sweep) * max_draws(cfg.sweep) * len(cfg.receiver.denoisers)
    grid = len(cfg.receiver.lam_grid) * len(cfg.receiver.beta_grid)
    sels = {selection_key(d) for d in cfg.receiver.denoisers if d.select != "fixed"}
    evals = sum(_SELECTION_COST(grid)[d.select] for d in sels)
    if cfg.experiment == "federated":
        f = cfg.federated
        body = (
            f"  federated: {f.num_devices} devices, {f.active} active, {f.rounds} "
            f"rounds x {f.local_epochs} local epochs, split={f.split}, runs={f.runs}"
        )
    else:
        body = (
            f"  sweep: Es/N0 {list(cfg.sweep.snr_db)} dB x {cfg.sweep.draws} draws "
            f"{_adaptive_note(cfg.sweep)}"
            f"x {len(cfg.receiver.denoisers)} denoisers = {rows} rows\n"
            f"  selection: {len(sels)} selection(s), up to {evals} model evaluations "
            f"per (point, draw) (grid {grid} cells, fit {FIT_EVALUATIONS}) on "
            f"kappa={cfg.receiver.kappa} validation images (oracles: test images)"
        )
    ex = cfg.execution
    where = "this process, one trial after another"
    if ex.backend == "ray":
        where = (
            f"Ray at {ex.address}, one task per "
            f"{'(Es/N0, receiver, run)' if federated else '(Es/N0, draw)'} with "
            f"{ex.cpus_per_trial} CPU(s) and {ex.gpus_per_trial:g} GPU(s)"
        )
    return "\n".join(
        [
            f"plan for {cfg.name!r} (config OK)",
            f"  model: {m.name}, checkpoint {ckpt} ({status})",
            f"  model check: {built}",
            f"  data: {cfg.data.dataset} root={cfg.data.root}",
            f"  link: {cfg.transmitter.scheme} ({cfg.transmitter.precision}), policy="
            f"{cfg.transmitter.policy}, channel {cfg.channel.name} {cfg.channel.options}",
            *(
                [f"  compare schemes: {[e['label'] for e in cfg.transmitter.compare]}"]
                if cfg.transmitter.compare
                else []
            ),
            f"  denoisers: {dens}",
            f"  plugins: {installed_plugins()}",
            body,
            *plan_cost(cfg),
            _estimate_line(cfg),
            f"  execution: {where}",
            f"  results: {cfg.results_dir}/",
        ]
    )


def _estimate_line(cfg: ExperimentConfig) -> str:
    """The dry run's wall-time line (a short calibration: seconds)."""
    try:
        est, why = estimate_wall_time(cfg)
    except (UserError, RuntimeError, ValueError, OSError) as err:  # the plan stands
        return f"  wall time: not estimated ({str(err).splitlines()[0]})"
    return est.line() if est is not None else f"  wall time: {why}"


def _SELECTION_COST(grid: int) -> dict[str, int]:  # noqa: N802
    """Model evaluations of one selection, by ``select``."""
    return {
        "fixed": 0,
        "validation": grid,
        "oracle": grid,
        "fit": FIT_EVALUATIONS,
        "oracle_fit": FIT_EVALUATIONS,
        "fit_layer": FIT_EVALUATIONS + FIT_LAYER_STEPS + 1,
    }


#: Test-split sizes of the built-in datasets (``data.test_samples`` overrides).
_TEST_IMAGES = {"digits": 360, "cifar10": 10_000}


def plan_cost(cfg: ExperimentConfig) -> list[str]:
    """The plan's cost lines: trials, model evaluations, forward images.

    Counts what :func:`~airmodel.evaluation.sweep.run_trial` runs: per trial,
    every selection (grid cells or fit evaluations, each on ``kappa``
    validation images or, for oracles, the test images, plus
    ``recalibrate`` images per evaluation when selection recalibrates), then
    per receiver one test pass (plus its recalibration images). Upper bounds
    for the grid: cells with ``lam >= 1 + eta`` are skipped at run time.
    """
    r, variants = cfg.receiver, max(len(cfg.transmitter.compare), 1)
    if cfg.experiment == "federated":
        f = cfg.federated
        units = len(cfg.sweep.snr_db) * len(r.denoisers) * f.runs
        return [
            f"  cost: {units} units (Es/N0 x receiver x run), each {f.rounds} rounds "
            f"of {f.active} devices x {f.local_epochs} local epochs"
        ]
    n_test = cfg.data.test_samples or _TEST_IMAGES.get(cfg.data.dataset)
    unknown = n_test is None
    c = plan_counts(cfg, n_test or 0)
    trials, evals, images = c["trials"], c["evaluations"], c["images"]
    note = " (+ test images x evaluations: size of the test split unknown)"
    return [
        f"  cost: {trials} trials (Es/N0 x draw{' x scheme' if variants > 1 else ''})"
        f", {trials * evals:,} model evaluations ({evals:,} per trial), "
        f"{trials * images:,} forward images ({images:,} per trial)"
        + (note if unknown else "")
    ]


def plan_counts(cfg: ExperimentConfig, n_test: int) -> dict[str, int]:
    """Trials, and per trial the model evaluations and forward images (see
    :func:`plan_cost`), for a test split of ``n_test`` images."""
    r, variants = cfg.receiver, max(len(cfg.transmitter.compare), 1)
    cost = _SELECTION_COST(len(r.lam_grid) * len(r.beta_grid))
    evals = images = 0
    for d in {selection_key(d) for d in r.denoisers if d.select != "fixed"}:
        per = (n_test if d.select.startswith("oracle") else r.kappa) + (
            d.recalibrate if d.recalibrate_select else 0
        )
        evals += cost[d.select]
        images += cost[d.select] * per
    evals += len(r.denoisers)  # one test pass per receiver
    images += sum(n_test * d.views + d.recalibrate for d in r.denoisers)
    trials = max_points(cfg.sweep) * max_draws(cfg.sweep) * variants
    adapt = sum(d.adapt.steps * d.adapt.batch_size for d in r.denoisers if d.adapt)
    return {"trials": trials, "evaluations": evals, "images": images,
            "test_images": n_test, "adapt_images": adapt}  # fmt: skip


def estimate_wall_time(
    cfg: ExperimentConfig,
    model: torch.nn.Module | None = None,
    data: Any = None,
    setup_s: float | None = None,
    precision: str | None = None,
) -> tuple[WallTimeEstimate | None, str]:
    """The run's wall time from a short calibration (:mod:`airmodel.evaluation.estimate`).

    Without ``model`` the checkpoint is loaded (a model still to be trained is
    not estimated); without ``data`` both splits are loaded and timed.
    ``precision``: the one the run resolved (default: what ``auto`` would
    try). Returns ``(estimate, "")`` or ``(None, why not)``.
    """
    if cfg.experiment == "federated":
        return None, "federated runs are not estimated"
    if cfg.execution.backend != "local":
        return None, "estimated for the local backend only"
    if cfg.evaluation.threads:
        torch.set_num_threads(cfg.evaluation.threads)
    device = driver_device(cfg.execution, build_device(cfg))
    if model is None:
        m = cfg.model
        ckpt = m.checkpoint or (f"{m.train.out}/final.pt" if m.train else None)
        if ckpt is None or not Path(ckpt).is_file():
            return None, "the model is trained first (not estimated)"
        model, _ = build_model(cfg, device)
    if data is None:
        t0 = time.perf_counter()
        x_te, _, info = _load_split(cfg, "test")
        _load_split(cfg, "train")
        setup_s = time.perf_counter() - t0
        n_test, token_len = len(x_te), (x_te.shape[1] if x_te.ndim == 2 else None)
    else:
        info, n_test = data.info, len(data.test)
        token_len = data.test.x.shape[1] if data.test.x.ndim == 2 else None
    if cfg.data.test_samples is not None:
        n_test = min(n_test, cfg.data.test_samples)
    ev = cfg.evaluation
    wanted = requested_precision(ev.precision, ev.bf16)
    native = bf16_native(device)[0]
    if precision is None:
        auto_bf16 = wanted == "auto" and native
        precision = "bf16" if wanted == "bf16" or auto_bf16 else "fp32"
    link = build_link(cfg, device)
    clean = {k: v.detach().clone() for k, v in model.state_dict().items()}
    snr = max(cfg.sweep.snr_db)
    link.transmit(clean, snr, seed=0)  # warm-up
    t0 = time.perf_counter()
    tx = link.transmit(clean, snr, seed=1)
    link_s = time.perf_counter() - t0
    kw = {"device": device, "batch_size": ev.batch_size, "precision": precision,
          "fused": ev.fused, "keep_freed_memory": ev.keep_freed_memory}  # fmt: skip
    a, b = calibrate_cell(model, info, tx, kw, cfg.receiver.kappa, token_len)
    est = estimate(
        plan_counts(cfg, n_test), a, b, link_s, setup_s or 0.0, precision,
        auto_check=wanted == "auto" and native,
    )  # fmt: skip
    return est, ""


def _normalize(data: dict) -> dict:
    """A stored config in resolved form (keys added later get their defaults)."""
    try:
        return to_dict(from_dict(ExperimentConfig, data))
    except ConfigError:
        return data


def _adaptive_note(sweep: SweepConfig) -> str:
    """What ``sweep.draws: auto`` / ``sweep.refine`` may add (the cost is the most)."""
    notes = []
    if sweep.draws == "auto":
        a = sweep.auto
        notes.append(
            f"(auto: {a.min_draws}..{a.max_draws} draws until every gain over "
            f"{a.versus} is within ±{a.half_width_db:g} dB)"
        )
    if sweep.refine is not None:
        notes.append(f"(refine: up to {sweep.refine.max_points} more points)")
    return " ".join(notes)


def _scheme_variants(cfg: ExperimentConfig) -> list[tuple[str, ExperimentConfig]]:
    """``(label, config)`` per compared scheme; one entry when nothing is compared."""
    t = cfg.transmitter
    if not t.compare:
        return [("", cfg)]
    out = []
    for i, entry in enumerate(t.compare):
        sub_t = replace(
            t,
            scheme=entry["scheme"],
            digital=dict(entry.get("digital", {})),
            precision=entry.get("precision", t.precision),
            compare=[],
            **compare_budget(t, entry, i),
        )
        sub = replace(
            cfg, transmitter=sub_t, out_dir=str(cfg.results_dir / entry["label"])
        )
        out.append((entry["label"], sub))
    return out


def run_experiment(
    cfg: ExperimentConfig,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
    accept_accuracy_gap: bool = False,
) -> Path:
    """Run ``cfg``; return the results folder.

    The model's clean accuracy must match what its checkpoint records
    (:func:`airmodel.builder.score_clean`) unless ``accept_accuracy_gap``.

    ``shard=(i, N)`` runs shard ``i`` of ``N`` of the plan into
    ``out_dir/shard-i-of-N`` (:mod:`airmodel.evaluation.shard`; join the
    shards with ``airmodel merge``). ``progress=False`` hides every bar
    (:mod:`airmodel.progress`); they show only on a terminal anyway.
    """
    if not progress:
        with progress_enabled(False):
            return _run_experiment(cfg, progress, shard, accept_accuracy_gap)
    return _run_experiment(cfg, progress, shard, accept_accuracy_gap)


def _run_experiment(
    cfg: ExperimentConfig,
    progress: bool,
    shard: tuple[int, int] | None,
    accept_accuracy_gap: bool,
) -> Path:
    if cfg.experiment == "federated":
        return run_federated(cfg, progress=progress, shard=shard)
    cfg = check_inference(cfg, shard)  # check: before any work
    if cfg.evaluation.threads:
        torch.set_num_threads(cfg.evaluation.threads)
    device = driver_device(cfg.execution, build_device(cfg))
    variants = [  # build: one link per compared scheme
        Variant(label, sub, build_link(sub, device))
        for label, sub in _scheme_variants(cfg)
    ]
    with ExitStack() as stack:  # folders first: a refused folder costs no work
        top, folders = _open_folders(stack, cfg, variants, shard)
        model, ckpt = build_model(cfg, device)
        started = time.perf_counter()  # the estimate covers data on (no training)
        data = build_data(cfg, device)
        setup_s = time.perf_counter() - started
        fit_links(cfg, [v.link for v in variants], model, data)
        clean_acc = score_clean(cfg, model, ckpt, data, accept_accuracy_gap)
        precision = resolve_precision(cfg, model, data)
        est, _ = estimate_wall_time(cfg, model, data, setup_s, precision.precision)
        prov = provenance(cfg.seed, device)
        for f in [top, *folders] if top is not None else folders:
            f.add_provenance(prov)
        run = Run(model, data, stack.enter_context(get_backend(cfg.execution)),
                  progress, shard)  # fmt: skip
        curves = []
        for v, folder in zip(variants, folders, strict=True):  # run and report
            folder.set_meta(provenance=prov, **_run_meta(cfg, v, ckpt, clean_acc,
                                                         data, precision))  # fmt: skip
            rows = _sweep(cfg, v, folder, run)
            plot_accuracy(
                rows, v.cfg.results_dir / "accuracy_vs_snr.png",
                title=_title(cfg, v.cfg.transmitter.scheme, len(data.test)),
                clean_accuracy=clean_acc,
            )  # fmt: skip
            curves.append(_curve_rows(v, rows))
        if top is not None:
            _report_comparison(cfg, top, variants, curves, prov, clean_acc, len(data.test))
        if est is not None:  # estimate vs actual (the CLI's summary prints it)
            wall = {**est.as_dict(), "actual_s": time.perf_counter() - started}
            for f in [top, *folders] if top is not None else folders:
                f.set_meta(wall_time=wall)
    return cfg.results_dir


def check_inference(
    cfg: ExperimentConfig, shard: tuple[int, int] | None
) -> ExperimentConfig:
    """Refuse what an inference run cannot do before any work; ``cfg`` for ``shard``
    (its folder ``out_dir/shard-i-of-N``)."""
    check_denoisers(cfg)
    check_execution(cfg.execution)  # a missing extra fails at once
    if shard is None:
        return cfg
    if cfg.transmitter.compare:
        raise ConfigError(
            "config key `transmitter.compare`: --shard splits one link's sweep; "
            "run each compared scheme as its own config to shard it."
        )
    return replace(cfg, out_dir=str(shard_dir(cfg.results_dir, shard)))


@dataclass(frozen=True)
class Variant:
    """One compared scheme (``label`` empty when nothing is compared): its config
    (``transmitter`` and ``out_dir`` replaced) and its link."""

    label: str
    cfg: ExperimentConfig
    link: Link


@dataclass(frozen=True)
class Run:
    """What every variant's sweep shares."""

    model: torch.nn.Module
    data: Any
    backend: Any
    progress: bool
    shard: tuple[int, int] | None


def _open_folders(
    stack: ExitStack,
    cfg: ExperimentConfig,
    variants: list[Variant],
    shard: tuple[int, int] | None,
) -> tuple[ResultsFolder | None, list[ResultsFolder]]:
    """The comparison's top folder (``None`` without ``compare``) and one per variant."""
    top = None
    if cfg.transmitter.compare:
        top = stack.enter_context(
            ResultsFolder(cfg.results_dir, to_dict(cfg), ("curve", *ROW_KEY),
                          normalize=_normalize)  # fmt: skip
        )
    folders = [
        stack.enter_context(
            ResultsFolder(v.cfg.results_dir, to_dict(v.cfg), ROW_KEY,
                          normalize=_normalize, shard=shard_label(shard))  # fmt: skip
        )
        for v in variants
    ]
    return top, folders


def _run_meta(
    cfg: ExperimentConfig, v: Variant, ckpt: dict, clean_acc: float, data: Any,
    precision: Any,
) -> dict[str, Any]:  # fmt: skip
    """A variant folder's ``meta.json`` entries (after ``provenance``)."""
    return {
        "model": {
            "name": cfg.model.name,
            "dataset": ckpt.get("dataset"),
            "checkpoint_test_accuracy": ckpt.get("test_accuracy"),
        },
        "clean_accuracy": clean_acc,
        "test_images": len(data.test),
        "validation_images": len(data.validation),
        "scheme": v.label or v.cfg.transmitter.scheme,
        "channel_uses_per_weight": v.link.channel_uses_per_weight,  # MIMO streams too
        "allocation_gains": getattr(v.link.scheme, "gains", None),
        "precision": precision.as_dict(),
    }


def _sweep(
    cfg: ExperimentConfig, v: Variant, folder: ResultsFolder, run: Run
) -> list[dict[str, Any]]:
    """Every row of ``v``'s sweep (``sweep.draws: auto`` / ``sweep.refine`` run in
    stages; else one plan), stored in ``folder``."""

    def stage(plan: SweepPlan) -> list[dict]:
        return run_sweep(
            v.link, run.model,
            {"test": run.data.test, "validation": run.data.validation},
            cfg.receiver.denoisers, plan, folder, cfg.receiver.lam_grid,
            cfg.receiver.beta_grid, progress=run.progress, subsets=run.data.subsets,
            backend=run.backend,
        )  # fmt: skip

    return adaptive_sweep(cfg.sweep, cfg.seed, run.shard, stage)


def _title(cfg: ExperimentConfig, scheme: str, n_test: int) -> str:
    return (
        f"{cfg.model.name} on {cfg.data.dataset}, {scheme} "
        f"over {cfg.channel.name}; {cfg.sweep.draws} draws, "
        f"n={n_test} test images"
    )


def _curve_rows(v: Variant, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``v``'s rows for the comparison: column ``curve`` (``"label receiver"``) and,
    with a known bandwidth, the energy per weight (docs/results.md)."""
    cu, out = v.link.channel_uses_per_weight, []
    for r in rows:
        key = f"{v.label} {r['denoiser']}" if v.label else r["denoiser"]
        if cu is not None:
            r = {"channel_uses_per_weight": cu, **r}  # a row's measured one wins
            r["ew_n0_db"] = ew_n0_db(r["esno_db"], r["channel_uses_per_weight"])
        out.append({**r, "curve": key})
    return out


def _report_comparison(
    cfg: ExperimentConfig, top: ResultsFolder, variants: list[Variant],
    curves: list[list[dict[str, Any]]], prov: dict, clean_acc: float, n_test: int,
) -> None:  # fmt: skip
    """The compared schemes' rows, meta and overlay plot in the top folder."""
    all_rows = [r for rows in curves for r in rows]
    legend = {}
    for v, rows in zip(variants, curves, strict=True):
        cu = v.link.channel_uses_per_weight
        for r in rows:
            k = r["curve"]
            legend[k] = f"{k} ({cu:g} ch. uses/weight)" if cu is not None else k
    for r in all_rows:
        if not top.done(curve=r["curve"], esno_db=r["esno_db"], draw=r["draw"],
                        denoiser=r["denoiser"]):  # fmt: skip
            top.add(r)
    top.set_meta(
        provenance=prov,
        clean_accuracy=clean_acc,
        schemes={v.label: to_dict(v.cfg.transmitter) for v in variants},
    )
    plot_scheme_comparison(
        all_rows,
        cfg.results_dir / "accuracy_vs_snr.png",
        title=(
            f"{cfg.model.name} on {cfg.data.dataset} over {cfg.channel.name}: "
            f"schemes compared; {cfg.sweep.draws} draws, n={n_test}"
        ),
        clean_accuracy=clean_acc,
        curve="curve",
        labels=legend,
    )


def run_federated(
    cfg: ExperimentConfig,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
) -> Path:
    """Run every (Es/N0, denoiser, run) of ``cfg`` not yet stored; return the folder.

    Build (:func:`~airmodel.builder.build_federated`), run the units
    (:func:`~airmodel.federated.run.run_units`), plot. The receivers of one
    (Es/N0, run) share its seed (:func:`~airmodel.federated.run.federated_units`).
    ``shard=(i, N)`` runs shard ``i`` of ``N`` into ``out_dir/shard-i-of-N``.
    """
    if shard is not None:
        cfg = replace(cfg, out_dir=str(shard_dir(cfg.results_dir, shard)))
    check_federated(cfg)
    if cfg.evaluation.threads:
        torch.set_num_threads(cfg.evaluation.threads)
    device = driver_device(cfg.execution, build_device(cfg))
    ctx, meta = build_federated(cfg, device)
    f, keys = cfg.federated, [d.key for d in cfg.receiver.denoisers]
    units = federated_units(cfg.sweep.snr_db, keys, f.runs, cfg.seed, shard)
    with FederatedResults(cfg.results_dir, to_dict(cfg), shard_label(shard)) as folder:
        folder.set_meta(provenance=provenance(cfg.seed, device), **meta)
        folder.add_provenance(folder.meta["provenance"])
        with get_backend(cfg.execution) as backend:
            run_units(ctx, units, folder, backend, progress)
        plot_accuracy(
            folder.rows,
            cfg.results_dir / "accuracy_vs_round.png",
            title=(
                f"FEEL {cfg.model.name} on {cfg.data.dataset}: {f.num_devices} devices, "
                f"{f.active} active, split {f.split}, {cfg.channel.name}\nmean ± std over "
                f"{f.runs} run(s); dB = Es/N0 of the summed signal per complex symbol"
            ),
            x="round",
            curve="denoiser",
            dash="snr_db",  # colour = receiver, line style = SNR
            dash_unit=" dB",
            xlabel="communication round",
        )
    return cfg.results_dir


def wall_time_line(meta: dict[str, Any]) -> str | None:
    """``Wall time: estimated ..., took ... (actual/estimate)`` from ``meta.json``."""
    w = meta.get("wall_time")
    if not w or not w.get("seconds"):
        return None
    return (
        f"Wall time: estimated {format_seconds(w['seconds'])}, took "
        f"{format_seconds(w['actual_s'])} ({w['actual_s'] / w['seconds']:.2f}x the "
        f"estimate; {w['threads']} thread(s), {w['precision']})"
    )
