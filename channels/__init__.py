# SPDX-License-Identifier: Apache-2.0
"""Channel models wrapping Sionna, called as ``y = channel(x, no)``."""

from airmodel.channels.awgn import AWGNChannel
from airmodel.channels.fading import RayleighChannel, RicianChannel
from airmodel.channels.mimo import MIMOChannel
from airmodel.channels.mimo_ofdm import CDLMIMOChannel, MIMOOFDMChannel, TDLMIMOChannel
from airmodel.channels.ofdm import CDLChannel, OFDMFadingChannel, TDLChannel
from airmodel.channels.registry import get, list_channels, register_channel
from airmodel.channels.utils import db, from_db, snr_db_to_no

__all__ = [
    "AWGNChannel",
    "RayleighChannel",
    "RicianChannel",
    "OFDMFadingChannel",
    "TDLChannel",
    "CDLChannel",
    "MIMOChannel",
    "MIMOOFDMChannel",
    "CDLMIMOChannel",
    "TDLMIMOChannel",
    "get",
    "list_channels",
    "register_channel",
    "snr_db_to_no",
    "db",
    "from_db",
]
