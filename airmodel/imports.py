# SPDX-License-Identifier: Apache-2.0
"""Consent before importing code that a config or a file names.

A ``model.name: package.module:factory`` in a config (or a ``model_name`` a
checkpoint records) imports ``package.module`` and calls ``factory``: that is
running code. It happens only for modules the user allowed *outside* the file:

- ``--allow-import MODULE`` on the command line (repeatable), or
- ``AIRMODEL_ALLOW_IMPORT=mod1,mod2`` in the environment, or
- :func:`allow_import` in Python.

Allowing ``mypkg`` allows ``mypkg.nets`` too. Without consent
:func:`import_allowed` raises :class:`ImportNotAllowed`, one line naming the
module and how to allow it. Installed entry-point plugins (``airmodel.models``
etc.) are installed code, not named by a file: they need no consent, and
``airmodel run --dry-run`` lists them.

With consent, the module is looked up on ``sys.path`` and then in the folders
of :func:`add_search_dir` (the config file's folder, which ``airmodel run``
adds) and the working directory, so ``mynets.py`` next to the config is found
without ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

from airmodel.errors import UserError
from airmodel.registry import RegistryError

__all__ = [
    "ENV",
    "ImportNotAllowed",
    "add_search_dir",
    "allow_import",
    "allowed",
    "import_allowed",
    "is_allowed",
]

#: Environment variable holding the allowed modules (comma-separated).
ENV = "AIRMODEL_ALLOW_IMPORT"
#: Extra folders searched for an allowed module (``os.pathsep``-separated), set by
#: :func:`add_search_dir` so that worker processes inherit them.
_DIRS_ENV = "AIRMODEL_IMPORT_DIRS"


class ImportNotAllowed(RegistryError):
    """A config or file names a module the user has not allowed (exit code 2)."""


def _split(text: str, sep: str) -> list[str]:
    return [s.strip() for s in text.split(sep) if s.strip()]


def allowed() -> list[str]:
    """The modules allowed now (``--allow-import``, :data:`ENV`), sorted."""
    return sorted(set(_split(os.environ.get(ENV, ""), ",")))


def allow_import(*modules: str) -> None:
    """Allow importing ``modules`` (and their submodules) for this process and
    the processes it starts (recorded in :data:`ENV`)."""
    for m in modules:
        if not m or any(c.isspace() or c in ",:/\\" for c in m):
            raise UserError(
                f"--allow-import {m!r}: give a module name such as mynets or "
                "mypkg.models (no spaces, commas, colons or slashes)."
            )
    if modules:
        os.environ[ENV] = ",".join(sorted(set(allowed()) | set(modules)))


def is_allowed(module: str) -> bool:
    """Whether ``module`` or a package above it is allowed."""
    return any(module == a or module.startswith(a + ".") for a in allowed())


def add_search_dir(folder: str | Path) -> None:
    """Also look for allowed modules in ``folder`` (e.g. the config's folder)."""
    dirs = _split(os.environ.get(_DIRS_ENV, ""), os.pathsep)
    folder = str(Path(folder).resolve())
    if folder not in dirs:
        os.environ[_DIRS_ENV] = os.pathsep.join([*dirs, folder])


def import_allowed(module: str, what: str) -> ModuleType:
    """Import ``module`` if the user allowed it; ``what`` names who asks
    (e.g. ``"config key `model.name` 'mynets:build'"``)."""
    if not is_allowed(module):
        top = module.split(".")[0]
        raise ImportNotAllowed(
            f"{what} wants to import the Python module {module!r}, which runs its "
            f"code; if you trust it, allow it with --allow-import {top} (or "
            f"{ENV}={top}), or register the factory as a plugin."
        )
    extra = [
        d
        for d in (*_split(os.environ.get(_DIRS_ENV, ""), os.pathsep), os.getcwd())
        if d not in sys.path
    ]
    sys.path.extend(extra)  # after sys.path: an installed module wins
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        where = ", ".join(extra) or "the working directory"
        raise RegistryError(
            f"{what}: {err} (looked on sys.path and in {where}); put {module}.py "
            "next to the config, or install its package."
        ) from None
    except Exception as err:  # the module's own error, named as the module's
        raise RegistryError(
            f"{what}: importing {module!r} failed: {type(err).__name__}: {err}."
        ) from err
    finally:
        for d in extra:
            sys.path.remove(d)
