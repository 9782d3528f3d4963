# SPDX-License-Identifier: Apache-2.0
"""Modulation: weights to channel symbols and back."""

from airmodel.modulation.analog import (
    AnalogDemodulator,
    AnalogModulator,
    AnalogScheme,
    AnalogSideInfo,
)

__all__ = ["AnalogDemodulator", "AnalogModulator", "AnalogScheme", "AnalogSideInfo"]
