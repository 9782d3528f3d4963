# SPDX-License-Identifier: Apache-2.0
"""Errors users can cause, and the one layer that turns any error into a short message.

Library code raises :class:`UserError` (bad input: exit code 2) or
:class:`EnvironmentFailure` (disk, network, device: exit code 1), each with a
message that names the thing, the value and the fix. :func:`guarded` runs a
command and maps those, and the ``OSError`` s of the operating system, to one
or two lines on stderr; ``--debug`` (or ``AIRMODEL_DEBUG=1``) re-raises instead
so that the traceback shows.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import yaml

__all__ = [
    "ConfigError",
    "CorruptFileError",
    "EnvironmentFailure",
    "MissingFileError",
    "OneLineParser",
    "UserError",
    "debug_requested",
    "guarded",
    "message_for",
]


class UserError(ValueError):
    """Input the user can fix (a file, a value, an option); exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """A config key has a wrong value; the message names key, value and fix."""


class MissingFileError(UserError, FileNotFoundError):
    """A file the user named does not exist; the message says how to make one."""


class CorruptFileError(UserError):
    """A file fails its integrity check or cannot be parsed; the message says what to do."""

    def __init__(self, path: str | Path, detail: str, fix: str) -> None:
        self.path = Path(path)
        super().__init__(f"{path} is corrupt ({detail}). {fix}")


class EnvironmentFailure(RuntimeError):
    """The machine failed the run (disk full, no network, no device); exit code 1."""

    exit_code = 1


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors print one line and exit with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def debug_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """``(debug, argv without --debug)``; ``AIRMODEL_DEBUG=1`` also turns it on."""
    debug = "--debug" in argv or os.environ.get("AIRMODEL_DEBUG", "") not in ("", "0")
    return debug, [a for a in argv if a != "--debug"]


_HINT = "(--debug shows the traceback)"


def _os_message(err: OSError) -> tuple[str, int]:
    """One line and an exit code for an operating-system error."""
    if err.errno is None:  # raised by our code with a full message
        return str(err), 2
    name = err.filename if err.filename is not None else "a file"
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"disk full (or over quota) while writing {name}. Free space on that "
            "disk or write elsewhere, then rerun the same command: finished work "
            "is kept.",
            1,
        )
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"permission denied for {name} ({err.strerror}). Choose a path you may "
            "write to, or fix the permissions (ls -l shows them).",
            2,
        )
    if err.errno in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
        return (
            f"{name}: a file is where a folder is needed, or the other way round "
            f"({err.strerror}). Pick another path, or move the thing in the way.",
            2,
        )
    if err.errno == errno.ENOENT:
        return f"{name} not found ({err.strerror}). Check the path.", 2
    return f"{name}: {err.strerror or err} {_HINT}", 1


def message_for(err: BaseException) -> tuple[str, int]:
    """The line to print and the exit code for ``err``."""
    if isinstance(err, UserError | EnvironmentFailure):
        return str(err), err.exit_code
    if isinstance(err, OSError):
        return _os_message(err)
    if isinstance(err, MemoryError):
        return (
            "out of memory. Use a smaller evaluation.batch_size / --batch-size, "
            "or fewer data.test_samples.",
            1,
        )
    if isinstance(err, json.JSONDecodeError):  # until every reader names its file
        return (
            f"a JSON file is corrupt ({err}); a results folder's results.json: "
            f"restore it from a copy or move it away to recompute it {_HINT}",
            2,
        )
    if isinstance(err, yaml.YAMLError):
        return f"a YAML file is corrupt ({str(err).splitlines()[0]}) {_HINT}", 2
    if isinstance(err, ValueError | TypeError):  # library argument checks
        return f"{err} {_HINT}", 2
    return f"internal error {type(err).__name__}: {err} {_HINT}; please report it.", 1


def guarded(prog: str, command: Callable[[], int], debug: bool = False) -> int:
    """Run ``command``; print any error as ``prog: error: ...`` and return its code."""

    def one_line(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        print(f"{prog}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():  # restores showwarning on exit
            if not debug:
                warnings.showwarning = one_line
            return command()
    except KeyboardInterrupt:
        print(
            f"\n{prog}: interrupted; rerun the same command to resume.", file=sys.stderr
        )
        return 130
    except Exception as err:
        if debug:
            raise
        text, code = message_for(err)
        print(f"{prog}: error: {text}", file=sys.stderr)
        return code
