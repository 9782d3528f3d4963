# SPDX-License-Identifier: Apache-2.0
"""Typed, frozen experiment configs; YAML maps onto them 1:1 and is validated."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from airmodel._validation import MIN_ESNO_DB, ranged
from airmodel.errors import ConfigError
from airmodel.evaluation.sweep_settings import AutoDraws, Refine, SweepSettings
from airmodel.execution.settings import ExecutionSettings
from airmodel.paths import resolve_input_paths
from airmodel.receiver.denoiser.selection import PAPER_BETA_GRID, PAPER_LAM_GRID
from airmodel.receiver.spec import ReceiverSpec

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "ModelConfig",
    "TrainConfig",
    "DataConfig",
    "TransmitterConfig",
    "ChannelConfig",
    "DenoiserConfig",
    "ReceiverConfig",
    "SweepConfig",
    "EvaluationConfig",
    "FederatedConfig",
    "ExecutionConfig",
    "load_config",
    "from_dict",
    "to_dict",
    "apply_overrides",
]


@dataclass(frozen=True)
class TrainConfig:
    """Train the model on the fly when no checkpoint exists (cached in ``out``)."""

    epochs: int = ranged(10, 1, 10_000)
    batch_size: int = ranged(128, 1, 1 << 20)
    lr: float = ranged(0.1, 1e-12, 100.0)
    weight_decay: float = ranged(5e-4, 0.0, 1.0)
    schedule: Literal["onecycle", "cosine"] = "onecycle"
    label_smoothing: float = ranged(0.0, 0.0, 0.99)
    amp_bf16: bool | None = None  # None: bf16 only where native (GPUs, AMX/AVX512-BF16)
    out: str = "runs/models/default"


@dataclass(frozen=True)
class ModelConfig:
    """Which network to send: a registered name plus a checkpoint or training recipe."""

    #: A registered name (``airmodel.models`` plugins too) or ``package.module:factory``.
    name: str = "resnet20"
    #: airmodel checkpoint, plain ``torch.save(state_dict)`` file or ``.safetensors``.
    checkpoint: str | None = None
    train: TrainConfig | None = None
    #: The model builder's own keyword options (checked against its signature).
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataConfig:
    """Dataset by registry name; ``root`` is a folder or archive."""

    #: ``digits``, ``cifar10``, ``image_folder`` or an ``airmodel.datasets`` plugin.
    dataset: str = "digits"
    root: str | None = None
    download: bool = False
    cache_dir: str | None = None
    test_samples: int | None = ranged(None, 1, 1 << 31)
    #: The dataset loader's own keyword options (plugins).
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetConfig:
    """How an analog link meets ``transmitter.channel_uses_per_weight``
    (airmodel/transmitter/budget.py, docs/bandwidth.md)."""

    #: Below 0.5: magnitude pruning over all weight tensors or per tensor.
    prune: Literal["global", "layer"] = "global"
    #: Below 0.5: the mask as counted side information, or known from the
    #: (pruned) architecture at no cost.
    mask: Literal["side_info", "architecture"] = "side_info"
    #: Bits of side information per complex channel use (1: rate-1/2 QPSK).
    mask_bits_per_use: float = ranged(1.0, 1e-3, 64.0)
    #: Above 0.5: repetition spread evenly, or per tensor by Fisher information.
    expansion: Literal["uniform", "fisher"] = "uniform"
    #: Kept fraction of the weight tensors' entries, or ``null`` (the budget
    #: decides). Set, the kept weights are repeated to fill the budget:
    #: ``keep: 0.5`` at 0.5 channel uses per weight sends each survivor twice.
    keep: float | None = ranged(None, 1e-3, 1.0)


@dataclass(frozen=True)
class TransmitterConfig:
    """Payload policy and transmission scheme."""

    policy: str | list[str] = "paper"
    #: ``analog``, ``digital`` or an ``airmodel.schemes`` plugin.
    scheme: str = "analog"
    precision: Literal["single", "double"] = "single"
    digital: dict[str, Any] = field(default_factory=dict)
    #: Options of a plugin scheme (``digital`` holds the digital scheme's).
    options: dict[str, Any] = field(default_factory=dict)
    #: Schemes to compare in one run, each ``{label, scheme, digital}``; every
    #: entry gets its own sub-folder and the plot overlays them.
    compare: list[dict[str, Any]] = field(default_factory=list)
    #: Per-tensor power allocation at equal total energy: ``uniform`` (off) or
    #: ``fisher`` (airmodel/transmitter/power_allocation.py; measured on the
    #: ``receiver.kappa`` validation images' pixels, labels sampled from the model).
    allocation: Literal["uniform", "fisher"] = "uniform"
    #: Clip of the gains' spread: ``g_t^2`` within [1/clip, clip] x their mean.
    allocation_clip: float = ranged(100.0, 1.0, 1e6)
    #: Analog bandwidth budget [complex channel uses per on-air weight, side
    #: information included]; ``null``: the scheme's own (analog 0.5). Below
    #: 0.5 the weights are pruned, above it repeated (``budget``).
    channel_uses_per_weight: float | None = ranged(None, 1e-3, 64.0)
    budget: BudgetConfig = field(default_factory=BudgetConfig)


@dataclass(frozen=True)
class ChannelConfig:
    """Registered channel name and its constructor arguments."""

    name: str = "awgn"
    options: dict[str, Any] = field(default_factory=dict)


#: A ``receiver.denoisers`` entry; the receiver's own type (airmodel/receiver/spec.py).
DenoiserConfig = ReceiverSpec


@dataclass(frozen=True)
class ReceiverConfig:
    """Denoisers to compare and how MMSE_pb's (lam, beta) are selected.

    ``lam_grid``/``beta_grid`` are the grid of ``select: validation|oracle``;
    their extent is the box ``select: fit|fit_layer`` searches. Batch-norm
    recalibration runs ``evaluation.batch_size`` images per forward pass.
    ``recalibrate_augment``: the unlabelled images get the training
    augmentation (random crop + flip, seeded) before recalibration, so the
    re-estimated statistics match the ones the network was trained with
    (plain images cost ~3 points on CIFAR-10 ResNet-20, docs/results.md).
    """

    denoisers: list[DenoiserConfig] = field(
        default_factory=lambda: [DenoiserConfig("ml"), DenoiserConfig("mmse")]
    )
    kappa: int = ranged(100, 1, 1 << 31)
    recalibrate_augment: bool = True
    lam_grid: list[float] = field(default_factory=lambda: list(PAPER_LAM_GRID))
    beta_grid: list[float] = field(default_factory=lambda: list(PAPER_BETA_GRID))


#: The ``sweep`` section and its parts: the sweep's own types
#: (airmodel/evaluation/sweep_settings.py).
AutoDrawsConfig, RefineConfig, SweepConfig = AutoDraws, Refine, SweepSettings


@dataclass(frozen=True)
class EvaluationConfig:
    """Scoring settings."""

    device: str = "auto"
    #: 128 is ~2x faster than 1000 on a 2-core CPU (benchmarks/scoring_throughput.py).
    batch_size: int = ranged(128, 1, 1 << 20)
    #: Scoring, recalibration and adaptation precision: ``fp32`` (exact),
    #: ``bf16`` (weights cast once, batch-norm folded first; autocast on GPUs)
    #: or ``auto`` (bf16 only where native and a start-of-run check on the test
    #: images finds it within ``precision_tolerance`` of fp32 and faster; else
    #: fp32 with one line saying why). airmodel/evaluation/precision.py.
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    #: ``auto``: largest clean-accuracy gap (fraction, 0.005 = 0.5 points)
    #: between bf16 and fp32 on the test images that still picks bf16.
    precision_tolerance: float = ranged(0.005, 0.0, 1.0)
    #: Deprecated spelling of ``precision: bf16`` (kept so old configs load).
    bf16: bool = False
    #: CPU, fp32, airmodel ResNets: score a batch-norm-folded copy with oneDNN
    #: fused ops (airmodel/evaluation/fused.py); false = the eager model.
    fused: bool = True
    threads: int | None = ranged(None, 1, 1024)
    #: CPU scoring asks glibc's malloc to keep freed memory (process-wide; ~6 s
    #: less system time per 10,000-image ResNet-20 pass, benchmarks/allocator.py).
    #: The CLI's own process opts in; the Python API's Scorer does not by default.
    keep_freed_memory: bool = True


@dataclass(frozen=True)
class FederatedConfig:
    """Federated edge learning with over-the-air aggregation (``experiment: federated``).

    ``num_devices`` devices hold a split of the training set (``split``:
    ``paper`` = ``iid_per_device`` IID images plus one single-label shard of
    ``shard_size`` images each; ``dirichlet`` = label proportions ~ Dir(``alpha``);
    ``iid``). Each round ``active`` of them, sampled with a seeded generator,
    train ``local_epochs`` epochs (SGD, ``momentum``, ``weight_decay``, batch
    ``batch_size``, learning rate ``lr`` held constant or cosine-decayed over the
    rounds) and send their model deltas over the air. ``bn_policy: clean``
    averages batch-norm entries noise-free; ``noisy`` sends them too. A round
    whose mean local loss is not finite or exceeds ``divergence_loss`` ends the
    run as diverged. Test accuracy every ``eval_every`` rounds and at the last;
    ``runs`` independent runs per (SNR, denoiser). ``amp_bf16``: bfloat16
    autocast for local training (``null`` = only where it is native).
    """

    num_devices: int = ranged(10, 1, 100_000)
    active: int = ranged(4, 1, 100_000)
    rounds: int = ranged(10, 1, 1_000_000)
    local_epochs: int = ranged(1, 1, 10_000)
    batch_size: int = ranged(64, 1, 1 << 20)
    lr: float = ranged(0.1, 1e-12, 1e6)
    momentum: float = ranged(0.9, 0.0, 0.999)
    weight_decay: float = ranged(5e-4, 0.0, 1.0)
    schedule: Literal["cosine", "constant"] = "cosine"
    split: Literal["paper", "dirichlet", "iid"] = "paper"
    iid_per_device: int = ranged(2000, 0, 1 << 31)
    shard_size: int = ranged(500, 0, 1 << 31)
    alpha: float = ranged(0.5, 1e-6, 1e6)
    eval_every: int = ranged(5, 1, 1_000_000)
    runs: int = ranged(1, 1, 10_000)
    divergence_loss: float = ranged(20.0, 1e-6, math.inf)
    bn_policy: Literal["clean", "noisy"] = "clean"
    amp_bf16: bool | None = None


#: The ``execution`` section; the backends' own type (airmodel/execution/settings.py).
ExecutionConfig = ExecutionSettings


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment; ``airmodel run`` takes one as YAML."""

    name: str = "experiment"
    experiment: Literal["inference", "federated"] = "inference"
    seed: int = ranged(0, 0, 2**63 - 1)
    out_dir: str | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    transmitter: TransmitterConfig = field(default_factory=TransmitterConfig)
    channel: ChannelConfig = field(default_factory=ChannelConfig)
    receiver: ReceiverConfig = field(default_factory=ReceiverConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    federated: FederatedConfig = field(default_factory=FederatedConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)

    @property
    def results_dir(self) -> Path:
        """Where results go: ``out_dir`` or ``results/<name>``."""
        return Path(self.out_dir or f"results/{self.name}")


# ---------------------------------------------------------------- validation

#: Largest Es/N0 [dB] a sweep may name: above it the noise variance (10^(-Es/N0/10)
#: of a unit-power payload) leaves float32's range; from ~60 dB on a model is noiseless.
MAX_ESNO_DB = 200.0



def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return f"a mapping of {tp.__name__} keys"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}[
        tp
    ]


#: A number as YAML 1.1 leaves it a string (``5e-4``, ``1E3``: no dot).
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _fix(key: str) -> str:
    """How to set ``key`` from the command line (a list item: the whole list)."""
    base = key.split("[", 1)[0]
    if base != key:
        return f"--set {base}=[...] (the whole list)"
    return f"--set {key}=..."


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    hint = ""
    if tp is int and isinstance(value, float | str) and not isinstance(value, bool):
        hint = " (write a whole number with digits only, e.g. 1000)"
    bad = ConfigError(
        f"config key `{key}`: expected {_type_name(tp)}; got {value!r}{hint}. "
        f"Fix it in the YAML file or with {_fix(key)}"
    )
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return _convert(arg, value, key)  # keep the precise message
        for arg in typing.get_args(tp):
            try:
                return _convert(arg, value, key)
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise bad
    if origin is list:
        if not isinstance(value, list):
            raise bad
        (inner,) = typing.get_args(tp)
        return [_convert(inner, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if tp is DenoiserConfig and isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict):
            raise bad
        return from_dict(tp, value, key)
    if tp is type(None):
        if value is None:
            return None
        raise bad
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads 5e-4 as a string
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isnan(value):
                raise bad
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    raise bad


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``data``; unknown keys and bad types raise."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    ranges = {f.name: f.metadata["range"] for f in dataclasses.fields(cls)
              if "range" in f.metadata}  # fmt: skip
    for k in data:
        if k not in names:
            where = f"{prefix}." if prefix else ""
            raise ConfigError(
                f"Unknown config key `{where}{k}`. Valid keys here: {sorted(names)}."
            )
    kwargs = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else k
        val = _convert(hints[k], v, key)
        lo_hi = ranges.get(k)
        if (
            lo_hi is not None and isinstance(val, int | float)
            and not lo_hi[0] <= val <= lo_hi[1]
        ):  # fmt: skip
            raise ConfigError(
                f"config key `{key}`: {val!r} is out of range; expected a value "
                f"in [{lo_hi[0]}, {lo_hi[1]}]."
            )
        kwargs[k] = val
    return cls(**kwargs)


def _check(cfg: ExperimentConfig) -> None:
    """Cross-field checks (beyond types and ranges)."""
    if not cfg.sweep.snr_db and cfg.experiment == "inference":
        raise ConfigError("config key `sweep.snr_db`: give at least one Es/N0 in dB.")
    for i, v in enumerate(cfg.sweep.snr_db):
        if v < MIN_ESNO_DB:
            raise ConfigError(
                f"config key `sweep.snr_db[{i}]`: {v:g} dB is below {MIN_ESNO_DB:g} "
                "dB, where the noise overflows to NaN (a model is pure noise from "
                f"about -10 dB on). Use values >= {MIN_ESNO_DB:g}, e.g. --set "
                "sweep.snr_db=[-10,0,10]."
            )
        if math.isfinite(v) and v > MAX_ESNO_DB:
            raise ConfigError(
                f"config key `sweep.snr_db[{i}]`: {v:g} dB is above {MAX_ESNO_DB:g} "
                "dB, where the noise underflows to zero (a model is noiseless from "
                f"about 60 dB on). Use values <= {MAX_ESNO_DB:g}, or .inf for no "
                "noise, e.g. --set sweep.snr_db=[0,10,20,.inf]."
            )
    twice = sorted({v for v in cfg.sweep.snr_db if cfg.sweep.snr_db.count(v) > 1})
    if twice:
        raise ConfigError(
            f"config key `sweep.snr_db`: {[float(v) for v in twice]} appear(s) twice; "
            "each Es/N0 is one row per draw: list each value once (more draws: "
            "sweep.draws)."
        )
    if cfg.out_dir is None and (
        cfg.name in ("", ".", "..") or any(c in cfg.name for c in "/\\\0")
    ):
        raise ConfigError(
            f"config key `name`: {cfg.name!r} would put the results outside "
            "results/ (it names the folder results/<name>); use a plain name such as "
            "my_run, or give the folder itself with --set out_dir=PATH."
        )
    if cfg.evaluation.bf16 and cfg.evaluation.precision == "auto":
        raise ConfigError(
            "config key `evaluation.bf16`: true (the old spelling of precision: bf16) "
            "contradicts evaluation.precision: auto. Drop `bf16` and keep only "
            "`evaluation.precision`."
        )
    keys = [d.key for d in cfg.receiver.denoisers]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ConfigError(
            f"config key `receiver.denoisers`: labels {dup} appear twice; give each "
            "entry a distinct `label`."
        )
    if not keys:
        raise ConfigError(
            "config key `receiver.denoisers`: list at least one denoiser."
        )
    if cfg.federated.active > cfg.federated.num_devices:
        raise ConfigError(
            f"config key `federated.active`: {cfg.federated.active} active devices "
            f"exceed federated.num_devices={cfg.federated.num_devices}."
        )
    labels = []
    for i, entry in enumerate(cfg.transmitter.compare):
        extra = set(entry) - {"label", "scheme", "digital", "precision", *_BUDGET_KEYS}
        if "label" not in entry or "scheme" not in entry or extra:
            raise ConfigError(
                f"config key `transmitter.compare[{i}]`: expected a mapping with "
                "`label` and `scheme` (optional `digital`, `precision`, "
                f"`channel_uses_per_weight`, `budget`); got {entry!r}."
            )
        if not re.fullmatch(r"[A-Za-z0-9._-]+", str(entry["label"])):
            raise ConfigError(
                f"config key `transmitter.compare[{i}].label`: {entry['label']!r} names "
                "a results sub-folder; use letters, digits, '.', '_' or '-' only."
            )
        labels.append(entry["label"])
    if len(set(labels)) != len(labels):
        raise ConfigError("config key `transmitter.compare`: labels must be distinct.")
    if cfg.data.dataset in ("cifar10", "image_folder") and cfg.data.root is None:
        raise ConfigError(
            f"config key `data.root`: dataset {cfg.data.dataset!r} needs the folder "
            "or archive holding it, e.g. --set data.root=/path/to/cifar10-jpeg.tar.gz"
        )


#: Budget keys a ``transmitter.compare`` entry may set (see :func:`compare_budget`).
_BUDGET_KEYS = ("channel_uses_per_weight", "budget")


def compare_budget(
    t: TransmitterConfig, entry: dict[str, Any], i: int
) -> dict[str, Any]:
    """``channel_uses_per_weight`` and ``budget`` of compare entry ``i`` (else ``t``'s)."""
    data = {k: entry[k] for k in _BUDGET_KEYS if k in entry}
    sub = from_dict(TransmitterConfig, data, f"transmitter.compare[{i}]")
    return {
        "channel_uses_per_weight": sub.channel_uses_per_weight
        if "channel_uses_per_weight" in entry
        else t.channel_uses_per_weight,
        "budget": sub.budget if "budget" in entry else t.budget,
    }


def to_dict(cfg: Any) -> Any:
    """Plain-data form of a config (for YAML/JSON)."""
    return dataclasses.asdict(cfg)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """One line: what the YAML parser found and where."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{problem}{where}"


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item or item.startswith("="):
        raise ConfigError(
            f"Malformed override {item!r}: expected key=value with a dotted key, "
            "e.g. --set sweep.draws=5 or --set sweep.snr_db=[0,5,10]."
        )
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError as err:
        raise ConfigError(
            f"Override {item!r}: the value is not valid YAML ({_yaml_problem(err)}); "
            "quote text and close brackets, e.g. --set sweep.snr_db=[0,5,10]."
        ) from None
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``--set a.b=value`` overrides (values parsed as YAML) to raw config data."""
    for item in overrides:
        path, value = _parse_override(item)
        node = data
        for part in path[:-1]:
            if not isinstance(node.get(part, {}), dict):
                raise ConfigError(f"Override {item!r}: `{part}` is not a section.")
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return data


def load_config(
    path: str | Path | None, overrides: list[str] | None = None
) -> ExperimentConfig:
    """Read a YAML file, apply overrides, validate, and return the config."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"Config file {path} not found; pass a YAML file path.")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ConfigError(
                f"{path} is not valid YAML: {_yaml_problem(err)}; fix that line."
            ) from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"Config file {path} cannot be read: {err}.") from None
        if data is None:
            raise ConfigError(
                f"Config file {path} is empty (no config keys); start from a bundled "
                "one: `airmodel configs quickstart --out .` writes quickstart.yaml."
            )
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a mapping of config keys at the top.")
        resolve_input_paths(data, path.resolve().parent)  # airmodel/paths.py
    data = apply_overrides(data, overrides or [])
    resolve_input_paths(data, None)  # --set model.checkpoint=bundled:...
    cfg = from_dict(ExperimentConfig, data)
    _check(cfg)
    return cfg
