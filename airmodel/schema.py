# SPDX-License-Identifier: Apache-2.0
"""JSON Schema of an experiment config, generated from the config dataclasses.

``airmodel schema > airmodel.schema.json``; editors with a YAML language server
then validate and complete config files (``# yaml-language-server:
$schema=airmodel.schema.json`` on a config's first line). The schema follows
:func:`airmodel.config.load_config`: the same keys, types, choices, ranges and
defaults; ``#:`` comments and class docstrings become descriptions. Checks
across fields (e.g. ``federated.active <= federated.num_devices``) stay in
``load_config``: the schema is what an editor can check as you type.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import textwrap
import types
import typing
from functools import cache
from typing import Any, Literal

__all__ = ["config_schema", "SCHEMA_ID"]

SCHEMA_ID = "https://airmodel.invalid/schema/config.json"
#: A number as YAML 1.1 (PyYAML) leaves it a string, e.g. ``5e-4`` (see config.py).
_NUMBER_TEXT = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


@cache
def _field_comments(cls: type) -> dict[str, str]:
    """``#:`` comment lines directly above each field of ``cls``."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    out = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            i, doc = node.lineno - 2, []
            while i >= 0 and lines[i].strip().startswith("#:"):
                doc.insert(0, lines[i].strip()[2:].strip())
                i -= 1
            if doc:
                out[node.target.id] = " ".join(doc)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _type_schema(tp: Any, key: str) -> dict[str, Any]:
    from airmodel.config import DenoiserConfig

    origin = typing.get_origin(tp)
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, key) for a in typing.get_args(tp)]}
    if origin is list:
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], key)}
    if origin is dict:
        return {"type": "object"}
    if dataclasses.is_dataclass(tp):
        obj = _object_schema(tp, key)
        if tp is DenoiserConfig:  # `- mmse` is short for `- {name: mmse}`
            return {"anyOf": [{"type": "string"}, obj]}
        return obj
    if tp is type(None):
        return {"type": "null"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {
            "anyOf": [{"type": "number"}, {"type": "string", "pattern": _NUMBER_TEXT}]
        }
    if tp is str:
        return {"type": "string"}
    raise TypeError(f"no JSON Schema for config type {tp!r} at `{key}`")


def _object_schema(cls: type, prefix: str = "") -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    comments = _field_comments(cls)
    props = {}
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        prop = _type_schema(hints[f.name], key)
        if f.name in comments:
            prop["description"] = comments[f.name]
        if f.default is not dataclasses.MISSING:
            prop["default"] = _plain(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            prop["default"] = _plain(f.default_factory())
        lo_hi = f.metadata.get("range")
        if lo_hi is not None:
            prop = _bounded(prop, lo_hi)
        props[f.name] = prop
    doc = inspect.getdoc(cls) or ""
    return {
        "type": "object",
        "description": doc.split("\n\n")[0].replace("\n", " "),
        "properties": props,
        "additionalProperties": False,
    }


def _bounded(prop: dict[str, Any], lo_hi: tuple[float, float]) -> dict[str, Any]:
    """``prop`` with ``[lo, hi]`` on its numeric branches (``int | None``: the int)."""
    if "anyOf" in prop:
        return {**prop, "anyOf": [_bounded(a, lo_hi) for a in prop["anyOf"]]}
    if prop.get("type") not in ("integer", "number"):
        return prop
    lo, hi = lo_hi
    return {**prop, "minimum": lo, **({"maximum": hi} if math.isfinite(hi) else {})}


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an ``airmodel run`` config file."""
    from airmodel import __version__
    from airmodel.config import ExperimentConfig

    schema = _object_schema(ExperimentConfig)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"airmodel {__version__} experiment config",
        **schema,
    }
