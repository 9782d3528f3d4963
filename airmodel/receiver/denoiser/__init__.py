# SPDX-License-Identifier: Apache-2.0
"""Bayesian denoisers fed by the channel's per-weight noise variance."""

from airmodel.receiver.denoiser.base import (
    DENOISERS,
    PRIOR_FLOOR_WNR,
    Denoiser,
    Prior,
    Segments,
    constant_or_none,
    estimate_layer_prior,
    estimate_prior,
    genie_layer_prior,
    genie_prior,
    get_denoiser,
    list_denoisers,
    mean_noise,
    power_prior,
    register_denoiser,
)
from airmodel.receiver.denoiser.estimators import ML, MMSE, MMSEpb, mmse_pb
from airmodel.receiver.denoiser.fit import (
    FIT_EVALUATIONS,
    FIT_LAYER_STEPS,
    Fit,
    fit_mmse_pb,
    fit_mmse_pb_layer,
    fit_selector,
    layer_estimate,
)
from airmodel.receiver.denoiser.selection import (
    PAPER_BETA_GRID,
    PAPER_LAM_GRID,
    Selection,
    select_mmse_pb,
)
from airmodel.receiver.denoiser.structured import (
    JamesSteinFilter,
    StructuredDenoiser,
    SVDShrinkage,
)
from airmodel.receiver.denoiser.temporal import MomentumMMSE

__all__ = [
    "DENOISERS",
    "PRIOR_FLOOR_WNR",
    "Denoiser",
    "Prior",
    "Segments",
    "estimate_layer_prior",
    "genie_layer_prior",
    "constant_or_none",
    "estimate_prior",
    "mean_noise",
    "genie_prior",
    "power_prior",
    "get_denoiser",
    "list_denoisers",
    "register_denoiser",
    "ML",
    "MMSE",
    "MMSEpb",
    "MomentumMMSE",
    "mmse_pb",
    "JamesSteinFilter",
    "StructuredDenoiser",
    "SVDShrinkage",
    "PAPER_BETA_GRID",
    "PAPER_LAM_GRID",
    "Selection",
    "select_mmse_pb",
    "FIT_EVALUATIONS",
    "FIT_LAYER_STEPS",
    "Fit",
    "fit_mmse_pb",
    "fit_mmse_pb_layer",
    "fit_selector",
    "layer_estimate",
]
