# SPDX-License-Identifier: Apache-2.0
"""Federated edge learning with over-the-air aggregation, denoised at the server."""

from airmodel.federated.local import local_train, round_lr
from airmodel.federated.loop import derive_seed, federated_run
from airmodel.federated.results import ROW_KEY, RUN_KEY, FederatedResults
from airmodel.federated.server import (
    ServerUpdate,
    aggregate,
    bn_policy_to_payload,
    model_delta,
)
from airmodel.federated.split import SPLITS, dirichlet_split, iid_split, paper_split
from airmodel.federated.uplink import OverTheAirUplink, UplinkReception, UplinkRound

__all__ = [
    "local_train",
    "round_lr",
    "derive_seed",
    "federated_run",
    "ROW_KEY",
    "RUN_KEY",
    "FederatedResults",
    "ServerUpdate",
    "aggregate",
    "bn_policy_to_payload",
    "model_delta",
    "SPLITS",
    "dirichlet_split",
    "iid_split",
    "paper_split",
    "OverTheAirUplink",
    "UplinkReception",
    "UplinkRound",
]
