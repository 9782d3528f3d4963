"""Ranges live beside the fields (``ranged``, docs/conventions.md): the converter
and the JSON Schema read the same metadata, and each range is enforced."""

from __future__ import annotations

import dataclasses
import math
import typing

import pytest

from airmodel.config import ConfigError, ExperimentConfig, load_config
from airmodel.schema import config_schema


def ranged_fields(cls: type = ExperimentConfig, prefix: str = "") -> dict:
    """``{dotted key: (lo, hi)}`` of every field with a range, sections included."""
    out = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if "range" in f.metadata:
            out[key] = f.metadata["range"]
        for tp in (hints[f.name], *typing.get_args(hints[f.name])):
            if dataclasses.is_dataclass(tp) and not key.startswith(
                "receiver.denoisers"
            ):
                out.update(ranged_fields(tp, f"{key}."))
    return out


RANGES = ranged_fields()


def test_every_range_is_found():
    """40 fields carry a range (the former ``_RANGES`` table's 39 and budget.keep)."""
    assert len(RANGES) == 40
    assert RANGES["sweep.auto.min_draws"] == (2, 1_000_000)
    assert RANGES["execution.cpus_per_trial"] == (1, 1024)


@pytest.mark.parametrize("key", sorted(RANGES))
def test_range_enforced_and_in_schema(key):
    """Just outside the range is refused naming the key; the schema states it."""
    lo, hi = RANGES[key]
    bad = hi * 2 + 1 if math.isfinite(hi) else lo - 1
    with pytest.raises(ConfigError, match=rf"`{key}`: .* out of range"):
        load_config(None, ["federated.active=1", f"{key}={bad}"])
    node = config_schema()
    for part in key.split("."):
        node = node["properties"][part]
        node = next((a for a in node.get("anyOf", []) if "properties" in a), node)
    assert _minima(node) == {lo}


def _minima(node: dict) -> set:
    """Every ``minimum`` in a schema node and its ``anyOf`` branches."""
    found = {node["minimum"]} if "minimum" in node else set()
    for branch in node.get("anyOf", []):
        found |= _minima(branch)
    return found
