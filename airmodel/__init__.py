# SPDX-License-Identifier: Apache-2.0
"""airmodel: send a trained neural network over a simulated wireless link."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

__all__ = ["__version__"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("airmodel")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.1.0+source"


__version__ = _version()

# The repository keeps `channels/` (and the data folders `configs/`,
# `checkpoints/`) beside `airmodel/`; a wheel installs them as
# `airmodel.channels`, `airmodel/configs`, `airmodel/checkpoints`
# (pyproject's package-dir mapping). When airmodel is imported from a source
# tree (tests from the repo root, PYTHONPATH=checkout, an editable install),
# this finder maps `airmodel.channels` to the sibling folder of *this* tree,
# so the import never reaches another checkout's editable mapping.
_HERE = Path(__file__).resolve().parent
_SIBLING_CHANNELS = _HERE.parent / "channels"


class _SourceTreeFinder(importlib.abc.MetaPathFinder):
    """``airmodel.channels`` -> ``<tree>/channels`` when airmodel runs from a tree."""

    def find_spec(self, fullname, path=None, target=None) -> ModuleSpec | None:  # noqa: ANN001
        if fullname != "airmodel.channels":
            return None
        return importlib.util.spec_from_file_location(
            fullname,
            _SIBLING_CHANNELS / "__init__.py",
            submodule_search_locations=[str(_SIBLING_CHANNELS)],
        )


if (
    not (_HERE / "channels").is_dir()  # an installed wheel has the real subpackage
    and (_HERE.parent / "pyproject.toml").is_file()  # a source tree, not site-packages
    and (_SIBLING_CHANNELS / "registry.py").is_file()  # ... whose channels/ is ours
):
    sys.meta_path.insert(0, _SourceTreeFinder())
