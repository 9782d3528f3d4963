# SPDX-License-Identifier: Apache-2.0
"""Provenance for result folders: versions, git commit, device, atomic writes."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
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
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, delete=False, prefix=f".{path.name}."
    ) as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """JSON version of :func:`write_atomic`."""
    write_atomic(path, json.dumps(obj, indent=2, default=str))
