"""Training: fit a registered model and read/write checkpoints."""

from airmodel.training.checkpoint import (
    check_state_dict,
    load_checkpoint,
    portable_state_dict,
    save_atomic,
)
from airmodel.training.trainer import make_scheduler, resolve_device, train

__all__ = [
    "check_state_dict",
    "load_checkpoint",
    "make_scheduler",
    "portable_state_dict",
    "resolve_device",
    "save_atomic",
    "train",
]
