# SPDX-License-Identifier: Apache-2.0
"""Which config paths are relative to the config file, and resolving them.

Paths a config *reads* (``model.checkpoint``, ``data.root``) resolve against
the folder of the config file that names them, so a config runs from any
working directory and a bundled config finds the bundled checkpoints. Paths
airmodel *writes* (``out_dir``, ``model.train.out``, ``data.cache_dir``) stay
relative to the working directory: results never land inside an installed
package. Values given with ``--set`` are relative to the working directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["INPUT_PATH_KEYS", "resolve_input_paths", "relocate_paths"]

#: Dotted config keys holding input paths.
INPUT_PATH_KEYS = ("model.checkpoint", "data.root")


def _resolve(value: Any, base: Path) -> Any:
    if not isinstance(value, str) or not value or Path(value).is_absolute():
        return value
    return str((base / value).resolve())


def resolve_input_paths(data: dict[str, Any], base: str | Path) -> dict[str, Any]:
    """Raw config ``data`` with its relative input paths made absolute from ``base``."""
    for key in INPUT_PATH_KEYS:
        section, name = key.split(".")
        node = data.get(section)
        if isinstance(node, dict) and name in node:
            node[name] = _resolve(node[name], Path(base))
    return data


def relocate_paths(text: str, base: str | Path) -> str:
    """YAML ``text`` (comments kept) with relative input paths made absolute.

    Rewrites ``checkpoint:`` / ``root:`` lines whose value is a relative
    path; used when a bundled config is copied out for editing.
    """
    names = "|".join(k.split(".")[1] for k in INPUT_PATH_KEYS)
    pattern = re.compile(rf"^(\s*(?:{names}):\s*)([^\s#{{}}\[\],'\"]+)", re.M)

    def fix(m: re.Match[str]) -> str:
        value = m.group(2)
        if value in ("null", "~") or Path(value).is_absolute():
            return m.group(0)
        return m.group(1) + _resolve(value, Path(base))

    return pattern.sub(fix, text)
