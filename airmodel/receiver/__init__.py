# SPDX-License-Identifier: Apache-2.0
"""Receiver side: demodulation, channel statistics and denoising."""

from airmodel.receiver.receiver import Reception

__all__ = ["Reception"]
