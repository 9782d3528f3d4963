# SPDX-License-Identifier: Apache-2.0
"""Transmitter side: serialize a state dict into a payload."""

from airmodel.transmitter.payload import (
    POLICIES,
    KeyMismatchError,
    PayloadSpec,
    TensorSpec,
    check_keys,
    flatten,
    is_batchnorm_key,
    select_on_air,
    unflatten,
)

__all__ = [
    "POLICIES",
    "KeyMismatchError",
    "PayloadSpec",
    "TensorSpec",
    "check_keys",
    "flatten",
    "is_batchnorm_key",
    "select_on_air",
    "unflatten",
]
