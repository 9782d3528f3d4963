# SPDX-License-Identifier: Apache-2.0
"""Storage under a results folder: a writer lock and an append-only row journal.

* :class:`FolderLock`: one writer per folder. ``fcntl.flock`` on ``.lock``
  (released by the kernel when its process dies, so a dead writer's lock is
  taken over); the file records the holder's PID, host and start time, which
  a refused writer's message names.
* :class:`Journal`: ``rows.jsonl``, one line per entry, ``CRC32 JSON\\n``,
  appended and fsync'd (O(1) per row). On open a torn last line (a writer
  killed mid-write) is dropped and cut off; a bad line before the last is
  corruption and refused.

Files of a results folder are opened with ``O_NOFOLLOW``
(:func:`open_nofollow`, :func:`read_nofollow`): a symbolic link the project
did not make (``.lock -> ~/thesis.tex``) is refused, never followed, so a
results folder from elsewhere cannot make a run truncate or read another file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import platform
import time
import zlib
from pathlib import Path
from typing import Any

from airmodel.errors import UserError
from airmodel.provenance import pid_alive

__all__ = [
    "FolderLock",
    "FolderLockedError",
    "Journal",
    "JournalCorruptError",
    "SymlinkRefusedError",
    "open_nofollow",
    "plain",
    "read_nofollow",
    "standard_json",
]


class SymlinkRefusedError(UserError):
    """A file in a results folder is a symbolic link; airmodel does not follow it."""


def open_nofollow(path: str | Path, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that refuses a symbolic link as the last component (O_NOFOLLOW)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as err:
        if err.errno == errno.ELOOP:  # O_NOFOLLOW met a link
            raise SymlinkRefusedError(
                f"{path} is a symbolic link; airmodel never opens a file of a results "
                "folder through a link (it could point at any file). Remove it "
                f"(rm {path}) and rerun."
            ) from None
        raise


def read_nofollow(path: str | Path) -> bytes:
    """The bytes of ``path``, refusing a symbolic link (:func:`open_nofollow`)."""
    fd = open_nofollow(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        return f.read()


class FolderLockedError(ValueError):
    """Another live process holds the folder's writer lock."""


class JournalCorruptError(ValueError):
    """A journal line other than the last fails its checksum or does not parse."""


class FolderLock:
    """Advisory writer lock on ``folder/.lock`` (``fcntl.flock``, non-blocking).

    :param folder: the results folder (exists).
    :param shared: a reader's lock (``LOCK_SH``, ``airmodel merge`` on its shard
        folders): any number of readers, no writer at the same time.
    :raises FolderLockedError: another process holds it; the message names
        its PID and host.

    ``previous`` is the record of a dead holder whose lock was taken over
    (``None`` if the lock was free and clean).
    """

    NAME = ".lock"

    def __init__(self, folder: str | Path, shared: bool = False) -> None:
        self.path = Path(folder) / self.NAME
        self.fd: int | None = None
        if shared:  # a reader (`airmodel merge`): no writer while it reads
            try:
                fd = open_nofollow(self.path, os.O_RDONLY | os.O_CREAT)
            except PermissionError:  # a read-only folder: nobody writes it either
                self.previous, self.record = None, {}
                return
        else:
            fd = open_nofollow(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(
                fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
            )
        except OSError as err:
            holder = _read_record(fd)
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            who = (
                f"PID {holder.get('pid')} on host {holder.get('host')} "
                f"(since {holder.get('started')})"
                if holder
                else "another process"
            )
            raise FolderLockedError(
                f"results folder {Path(folder)} is being written by {who}; one "
                "writer per folder. Wait for that run to finish, or write to "
                "another folder (--set out_dir=...)."
            ) from None
        self.fd = fd
        if shared:
            self.previous, self.record = None, {}
            return
        old = _read_record(fd)
        # We hold the lock, so any recorded holder is gone (flock dies with it).
        self.previous = old or None
        if old and old.get("host") == platform.node() and pid_alive(old.get("pid", -1)):
            # A live process of that PID without the lock: PID reused, still stale.
            self.previous = {**old, "note": "PID alive but not holding the lock"}
        self.record = {
            "pid": os.getpid(),
            "host": platform.node(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(self.record).encode(), 0)
        os.fsync(fd)

    def release(self) -> None:
        """Clear the record and unlock (idempotent)."""
        if self.fd is None:
            return
        try:
            if self.record:  # the writer's record; a reader wrote none
                os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None


def _read_record(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        rec = json.loads(raw.decode()) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def plain(obj: Any) -> Any:
    """JSON ``default=``: numpy/torch scalars as Python numbers, else ``str``."""
    item = getattr(obj, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    return str(obj)


def _line(entry: dict[str, Any]) -> bytes:
    body = json.dumps(entry, separators=(",", ":"), default=plain)
    return f"{zlib.crc32(body.encode()):08x} {body}\n".encode()


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        crc, body = line.split(b" ", 1)
        if int(crc, 16) != zlib.crc32(body):
            return None
        entry = json.loads(body)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


class Journal:
    """Append-only entries of a results folder (``rows.jsonl``).

    Entries are dicts (``{"row": {...}}`` or ``{"drop": {...}}``), one line
    each: 8 hex digits of CRC32, a space, compact JSON (Python's float repr,
    so numbers round-trip exactly; non-finite ones as ``NaN``/``Infinity``).

    :param path: the journal file.
    :param write: open for appending (the caller holds the folder's lock);
        a torn last line is then cut off the file.
    """

    NAME = "rows.jsonl"

    def __init__(self, path: str | Path, write: bool = True) -> None:
        self.path = Path(path)
        self.entries: list[dict[str, Any]] = []
        self.dropped_tail = 0  # bytes of a torn last line dropped on open
        data = (
            read_nofollow(self.path)
            if self.path.exists() or self.path.is_symlink()
            else b""
        )
        good = 0
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            last = i >= len(lines) - 2  # the final line, or the text after it
            if i == len(lines) - 1:  # no newline after it: torn (or empty)
                self.dropped_tail = len(line)
                break
            entry = _parse(line)
            if entry is None:
                if last:
                    self.dropped_tail = len(line) + 1
                    break
                raise JournalCorruptError(
                    f"{self.path} line {i + 1} is corrupt (checksum or JSON fails); "
                    "rows cannot be trusted. Restore the folder from a copy, or "
                    "start over in another folder (--set out_dir=...)."
                )
            self.entries.append(entry)
            good += len(line) + 1
        self._fd = None
        if write:
            fresh = not self.path.exists()
            self._fd = open_nofollow(self.path, os.O_WRONLY | os.O_CREAT)
            if good < len(data):
                os.ftruncate(self._fd, good)
                os.fsync(self._fd)
            os.lseek(self._fd, 0, os.SEEK_END)
            if fresh:
                _fsync_dir(self.path.parent)

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry and fsync it (the entry is durable on return)."""
        if self._fd is None:
            raise ValueError(f"{self.path} is open read-only.")
        data = _line(entry)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _finite(obj: Any) -> Any:
    if not isinstance(obj, (str, int, float, dict, list, tuple, type(None))):
        obj = plain(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def standard_json(obj: Any) -> str:
    """Standard JSON (RFC 8259): non-finite floats as the strings nan/inf/-inf."""
    return json.dumps(_finite(obj), indent=1, allow_nan=False, default=plain)
