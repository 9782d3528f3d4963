"""Evaluation: score models on a fixed test or validation set."""

from airmodel.evaluation.scoring import (
    Scorer,
    bf16_is_fast,
    default_device,
    sample_indices,
)

__all__ = ["Scorer", "bf16_is_fast", "default_device", "sample_indices"]
