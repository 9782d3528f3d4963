"""Training: fit a registered model and read/write checkpoints."""

from airmodel.training.checkpoint import (
    accuracy_tolerance,
    check_clean_accuracy,
    check_state_dict,
    load_checkpoint,
    portable_state_dict,
    read_checkpoint,
    save_atomic,
)
from airmodel.training.trainer import make_scheduler, resolve_device, train

__all__ = [
    "accuracy_tolerance",
    "check_clean_accuracy",
    "check_state_dict",
    "load_checkpoint",
    "make_scheduler",
    "portable_state_dict",
    "read_checkpoint",
    "resolve_device",
    "save_atomic",
    "train",
]
