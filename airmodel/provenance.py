# SPDX-License-Identifier: Apache-2.0
"""Provenance for result folders: versions, git commit, device, atomic writes."""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
from pathlib import Path
from typing import Any

import torch

__all__ = ["provenance", "git_commit", "write_atomic", "write_json_atomic"]


def git_commit() -> str | None:
    """The airmodel checkout's commit (``+dirty`` if modified), or ``None``."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            text=True,
            capture_output=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            text=True,
            capture_output=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty.strip() else "")


def _version(pkg: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return None


def provenance(seed: int, device: str | torch.device) -> dict[str, Any]:
    """Seed, package versions, git commit, device and host of this run."""
    dev = torch.device(device)
    name = (
        torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor()
    )
    return {
        "seed": seed,
        "versions": {
            "airmodel": _version("airmodel"),
            "torch": torch.__version__,
            "sionna": _version("sionna-no-rt"),
            "numpy": _version("numpy"),
            "python": platform.python_version(),
        },
        "git_commit": git_commit(),
        "device": {
            "type": dev.type,
            "name": name or platform.machine(),
            "torch_threads": torch.get_num_threads(),
        },
        "host": platform.node(),
    }


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, fsync and ``os.replace``.

    The file follows the umask (``0o666 & ~umask``, like ``open()``); the
    temporary file is ``.NAME.PID.RANDOM.tmp`` beside it, which a results
    folder's next writer removes if a killed writer left it behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)  # the rename itself survives a crash
    finally:
        os.close(dfd)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """JSON version of :func:`write_atomic`."""
    write_atomic(path, json.dumps(obj, indent=2, default=str))
