# SPDX-License-Identifier: Apache-2.0
"""Which config paths are relative to the config file, and resolving them.

Paths a config *reads* (``model.checkpoint``, ``data.root``) resolve against
the folder of the config file that names them, so a config runs from any
working directory and a bundled config finds the bundled checkpoints. Paths
airmodel *writes* (``out_dir``, ``model.train.out``, ``data.cache_dir``) stay
relative to the working directory: results never land inside an installed
package. Values given with ``--set`` are relative to the working directory.
``bundled:checkpoints/FILE`` names a bundled checkpoint from anywhere.

A results folder's ``config.yaml`` records input paths *portably*
(:func:`portable_paths`): bundled resources as ``bundled:...``, others
relative to the folder, so a committed results folder's config runs from a
fresh clone (``airmodel run results/NAME/config.yaml``).

Caches live in one folder the user can see and clear, :func:`cache_root`
(``$AIRMODEL_CACHE_DIR``, default ``~/.cache/airmodel``): the image-folder
decode cache, and, for the command line (:func:`use_cache_root`),
matplotlib's config/cache (``MPLCONFIGDIR``) and the compiler caches of
torch inductor and Triton (``TORCHINDUCTOR_CACHE_DIR``, ``TRITON_CACHE_DIR``),
unless those variables are set already.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLED",
    "bundled_dir",
    "cache_root",
    "CACHE_VARS",
    "INPUT_PATH_KEYS",
    "portable_paths",
    "relocate_paths",
    "resolve_input_paths",
    "use_cache_root",
]

#: Environment variables of other tools' caches -> sub-folder of :func:`cache_root`.
CACHE_VARS = {
    "MPLCONFIGDIR": "matplotlib",
    "TORCHINDUCTOR_CACHE_DIR": "inductor",
    "TRITON_CACHE_DIR": "triton",
}


def cache_root() -> Path:
    """``$AIRMODEL_CACHE_DIR`` if set, else ``~/.cache/airmodel``."""
    env = os.environ.get("AIRMODEL_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "airmodel"


def use_cache_root() -> None:
    """Point matplotlib, torch inductor and Triton at sub-folders of
    :func:`cache_root` (each only if its variable is unset). Called by the
    command line before it imports them; a library import changes nothing."""
    root = cache_root()
    for var, sub in CACHE_VARS.items():
        os.environ.setdefault(var, str(root / sub))


#: Dotted config keys holding input paths.
INPUT_PATH_KEYS = ("model.checkpoint", "data.root")
#: Prefix of a bundled resource, e.g. ``bundled:checkpoints/resnet20_cifar10jpeg_e60.pt``
#: (the wheel's ``airmodel/checkpoints``, or ``checkpoints/`` of a source tree).
BUNDLED = "bundled:"
_KINDS = ("checkpoints", "configs")
_PKG = Path(__file__).resolve().parent


def bundled_dir(kind: str) -> Path:
    """The folder of bundled ``"configs"`` or ``"checkpoints"``."""
    inside = _PKG / kind  # installed wheel
    return inside if inside.is_dir() else _PKG.parent / kind


def _resolve(value: Any, base: Path) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(BUNDLED):
        from airmodel.errors import UserError

        kind, _, rest = value[len(BUNDLED) :].partition("/")
        if kind not in _KINDS or not rest:
            raise UserError(
                f"{value!r}: a bundled resource is bundled:KIND/FILE with KIND one "
                f"of {list(_KINDS)}, e.g. bundled:checkpoints/resnet20_cifar10jpeg_e60.pt."
            )
        return str(bundled_dir(kind) / rest)
    if Path(value).is_absolute():
        return value
    return str((base / value).resolve())


def _portable(value: Any, folder: Path) -> Any:
    if not isinstance(value, str) or not value or value.startswith(BUNDLED):
        return value
    path = Path(value).resolve()  # relative: to the working directory
    for kind in _KINDS:
        home = bundled_dir(kind).resolve()
        if path.is_relative_to(home):
            return f"{BUNDLED}{kind}/{path.relative_to(home).as_posix()}"
    return os.path.relpath(path, folder.resolve())


def portable_paths(data: dict[str, Any], folder: str | Path) -> dict[str, Any]:
    """A copy of resolved config ``data`` whose input paths run from any clone.

    A bundled checkpoint becomes ``bundled:checkpoints/FILE``; any other path
    becomes relative to ``folder`` (where the config is written), so
    :func:`resolve_input_paths` with that folder as ``base`` gives it back.
    """
    out = copy.deepcopy(data)
    for key in INPUT_PATH_KEYS:
        section, name = key.split(".")
        node = out.get(section)
        if isinstance(node, dict) and name in node:
            node[name] = _portable(node[name], Path(folder))
    return out


def resolve_input_paths(
    data: dict[str, Any], base: str | Path | None
) -> dict[str, Any]:
    """Raw config ``data`` with its relative input paths made absolute from ``base``
    and its ``bundled:`` ones made absolute (in place; returned too). ``base=None``
    resolves the ``bundled:`` ones only (``--set`` values)."""
    for key in INPUT_PATH_KEYS:
        section, name = key.split(".")
        node = data.get(section)
        if isinstance(node, dict) and name in node:
            value = node[name]
            if base is not None or (
                isinstance(value, str) and value.startswith(BUNDLED)
            ):
                node[name] = _resolve(value, Path(base or "."))
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
