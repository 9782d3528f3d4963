# SPDX-License-Identifier: Apache-2.0
"""Bundled configs and checkpoints: found by name, installed or in a checkout.

A wheel installs the repository's ``configs/`` and ``checkpoints/`` as
``airmodel/configs`` and ``airmodel/checkpoints`` (package data); in a source
tree they sit beside ``airmodel/``. Either way they are siblings, so a bundled
config's ``../checkpoints/...`` resolves the same (paths in a config file are
relative to that file, see :func:`airmodel.config.load_config`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from airmodel.errors import UserError
from airmodel.paths import bundled_dir

__all__ = ["bundled_dir", "list_configs", "find_config", "copy_config"]


def list_configs() -> list[str]:
    """Names of the bundled configs (``airmodel run NAME`` takes them)."""
    return sorted(p.stem for p in bundled_dir("configs").glob("*.yaml"))


def find_config(name_or_path: str | Path) -> Path:
    """A config file: an existing path as given, else a bundled config by name.

    ``quickstart``, ``quickstart.yaml`` and ``configs/quickstart.yaml`` all
    name the bundled quickstart when no such file exists in the working
    directory.
    """
    from airmodel.errors import ConfigError

    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = bundled_dir("configs") / (path.stem + ".yaml")
    if path.suffix in ("", ".yaml") and bundled.is_file():
        return bundled
    raise ConfigError(
        f"Config {str(name_or_path)!r} not found: not a file and not a bundled "
        f"config. Bundled: {', '.join(list_configs())} (`airmodel configs`)."
    )


def copy_config(name: str, dest: str | Path = ".") -> Path:
    """Copy bundled config ``name`` to ``dest`` (a folder or file) for editing.

    Relative input paths inside it (``model.checkpoint``, ``data.root``) are
    rewritten to absolute ones, so the copy still finds the bundled
    checkpoints from its new place. An existing file is never overwritten.
    """
    from airmodel.paths import relocate_paths

    src = find_config(name)
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / src.name
    if dest.exists():
        raise UserError(
            f"{dest} exists; pass another destination (--out) or remove it."
        )
    text = relocate_paths(src.read_text(), src.parent)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    shutil.copymode(src, dest)
    return dest
