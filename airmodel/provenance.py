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

__all__ = [
    "provenance",
    "git_commit",
    "pid_alive",
    "remove_stale_temporaries",
    "write_atomic",
    "write_json_atomic",
]


def git_commit() -> str | None:
    """This airmodel checkout's commit (``+dirty`` if modified), or ``None``.

    ``None`` unless the package is imported from the top of a git checkout
    of airmodel itself: an installed airmodel inside someone else's
    repository (a venv in their project) never reports their commit; the
    installed version is in ``versions["airmodel"]``.
    """
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        # --no-optional-locks: `git status` must not refresh (rewrite) the index,
        # which takes .git/index.lock in the user's checkout.
        return subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=root,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            text=True,
            capture_output=True,
            check=True,
            timeout=10,
        ).stdout.strip()

    pyproject = root / "pyproject.toml"
    try:
        if not pyproject.is_file() or 'name = "airmodel"' not in pyproject.read_text():
            return None
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root:
            return None
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty else "")


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


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text or bytes) to ``path`` via a temporary file, fsync and
    ``os.replace``: a crash leaves the old file or the new one.

    The file follows the umask (``0o666 & ~umask``, like ``open()``); the
    temporary file is ``.NAME.PID.RANDOM.tmp`` beside it. Those a killed writer
    left behind are removed by the next write of the same file (their process
    is gone) or by a results folder's next writer. An ``OSError`` names ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
                f.write(data)
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
    except OSError as err:
        if err.filename is not None or err.errno is None:
            raise
        raise OSError(err.errno, err.strerror, str(path)) from err


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove ``.NAME.PID.*.tmp`` files of ``path`` whose writer process is gone."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """JSON version of :func:`write_atomic`."""
    write_atomic(path, json.dumps(obj, indent=2, default=str))
