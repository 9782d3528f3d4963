"""Scoring precision: resolve ``evaluation.precision`` (fp32, bf16, auto) for a run.

``auto`` picks bf16 only where it is native (CPU: oneDNN bf16, i.e.
AVX512-BF16/AMX/AVX-NE; CUDA: compute capability >= 8.0) *and* a check at
the start of the run, on the run's own test images, finds the clean accuracy
within ``tolerance`` of fp32 *and* bf16 faster than fp32 (passes alternated).
Otherwise fp32, with one line saying why. fp32 is exact: the scorer's fp32
path is the one every pinned accuracy was measured with.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from airmodel.evaluation.scoring import Scorer, bf16_is_fast

__all__ = ["PrecisionChoice", "bf16_native", "choose_precision", "requested_precision"]

#: Images per timed pass of the ``auto`` check (after one full pass each).
CHECK_TIMING_IMAGES = 2000


@dataclass(frozen=True)
class PrecisionChoice:
    """What a run scores at and why (stored in ``meta.json`` as ``precision``).

    ``fp32_accuracy`` / ``bf16_accuracy``: clean accuracy of the model on
    the scored images at each precision (``None`` where not measured);
    ``*_images_per_s``: the best of the check's timed passes.
    """

    requested: str
    precision: str
    reason: str
    fp32_accuracy: float | None = None
    bf16_accuracy: float | None = None
    fp32_images_per_s: float | None = None
    bf16_images_per_s: float | None = None
    tolerance: float | None = None

    def line(self) -> str:
        """The one line a run prints about its precision."""
        return (
            f"airmodel: precision {self.requested} -> {self.precision}: {self.reason}"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def requested_precision(precision: str, bf16: bool = False) -> str:
    """``evaluation.precision`` with the deprecated ``evaluation.bf16: true`` mapped in."""
    return "bf16" if bf16 and precision == "fp32" else precision


def bf16_native(device: str | torch.device) -> tuple[bool, str]:
    """Whether bf16 is native on ``device``, and what was found (for the reason line)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return False, "CUDA is not available"
        major, minor = torch.cuda.get_device_capability(dev)
        ok = major >= 8 and bf16_is_fast(dev)
        return ok, f"CUDA compute capability {major}.{minor} (bf16 needs >= 8.0)"
    if dev.type == "cpu":
        cap = torch.backends.cpu.get_cpu_capability()
        if bf16_is_fast(dev):
            return True, f"oneDNN bf16 native on this CPU ({cap})"
        return False, (
            f"this CPU ({cap}) has no native bf16 (AVX512-BF16/AMX); emulated bf16 "
            "was measured ~40x slower than fp32"
        )
    return False, f"no bf16 check for device type {dev.type!r}"


def _timed_rate(scorer: Scorer, model: nn.Module) -> tuple[float, float]:
    """Images/s and accuracy of one pass (ends with a host sync)."""
    t0 = time.perf_counter()
    acc = scorer.accuracy(model)
    return len(scorer) / max(time.perf_counter() - t0, 1e-9), acc


def choose_precision(
    requested: str,
    scorer: Scorer,
    model: nn.Module,
    tolerance: float = 0.005,
    native: tuple[bool, str] | None = None,
) -> PrecisionChoice:
    """Resolve ``requested`` (``fp32``, ``bf16`` or ``auto``) for ``scorer``'s device.

    ``auto``: bf16 needs :func:`bf16_native` and, on ``scorer``'s images,
    ``|acc_bf16 - acc_fp32| <= tolerance`` and bf16 images/s > fp32 images/s
    (each the best of two passes, alternated: one full pass, then one on the
    first :data:`CHECK_TIMING_IMAGES` images, after a one-batch warm-up).
    ``native`` overrides the capability check (tests). ``scorer`` is not
    changed; set ``scorer.precision`` from the result.
    """
    if requested not in ("fp32", "bf16", "auto"):
        raise ValueError(
            f"`precision` must be 'fp32', 'bf16' or 'auto'; got {requested!r}."
        )
    ok, found = native if native is not None else bf16_native(scorer.device)
    if requested == "fp32":
        return PrecisionChoice(requested, "fp32", "as configured (exact)")
    if requested == "bf16":
        why = "as configured" + ("" if ok else f"; warning: {found}")
        return PrecisionChoice(requested, "bf16", why)
    if not ok:
        return PrecisionChoice(requested, "fp32", f"bf16 not native: {found}")
    if len(scorer) == 0:
        return PrecisionChoice(requested, "fp32", "no scored images to check bf16 on")
    fp32, bf16 = _copy(scorer, "fp32"), _copy(scorer, "bf16")
    small = {p: s.subset(range(min(len(s), CHECK_TIMING_IMAGES))) for p, s in
             (("fp32", fp32), ("bf16", bf16))}  # fmt: skip
    for s in small.values():  # warm-up: oneDNN primitives, the bf16 copy
        s.subset(range(min(len(s), s.batch_size))).accuracy(model)
    rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
    acc: dict[str, float] = {}
    for p, s in (("fp32", fp32), ("bf16", bf16)):
        rate, acc[p] = _timed_rate(s, model)
        rates[p].append(rate)
    for p, s in small.items():
        rates[p].append(_timed_rate(s, model)[0])
    best = {p: max(r) for p, r in rates.items()}
    gap = abs(acc["bf16"] - acc["fp32"])
    facts = dict(
        fp32_accuracy=acc["fp32"], bf16_accuracy=acc["bf16"],
        fp32_images_per_s=best["fp32"], bf16_images_per_s=best["bf16"],
        tolerance=tolerance,
    )  # fmt: skip
    n = len(scorer)
    measured = (
        f"on {n} test images bf16 {acc['bf16']:.2%} vs fp32 {acc['fp32']:.2%} "
        f"(gap {gap * 100:.2f} points, tolerance {tolerance * 100:.2f}), "
        f"{best['bf16']:.0f} vs {best['fp32']:.0f} img/s"
    )
    if gap > tolerance:
        return PrecisionChoice(requested, "fp32", f"bf16 off by too much: {measured}",
                               **facts)  # fmt: skip
    if best["bf16"] <= best["fp32"]:
        return PrecisionChoice(requested, "fp32", f"bf16 not faster: {measured}",
                               **facts)  # fmt: skip
    return PrecisionChoice(requested, "bf16", f"{found}; {measured}", **facts)


def _copy(scorer: Scorer, precision: str) -> Scorer:
    """``scorer`` with its views and settings at ``precision`` (a shallow copy)."""
    new = object.__new__(type(scorer))
    new.__dict__.update(scorer.__dict__)
    new.precision = precision
    return new
