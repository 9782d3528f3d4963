# SPDX-License-Identifier: Apache-2.0
"""Seals: a sha256 over every byte of a JSON document, journal line or checkpoint.

``dumps_sealed({"rows": ...})`` returns standard JSON whose first key is
``"sha256"``: the hash of the whole text with that hex replaced by zeros. Any
flipped, inserted or missing byte then fails :func:`loads_sealed`, which
raises :class:`~airmodel.errors.CorruptFileError` naming the file and the fix.
The same text serves a whole file (``results.json``) and one line of a
journal. :func:`read_json` reads an unsealed (older) file with the same error.

A checkpoint is ``torch.save``'s zip file whose zip comment holds
``airmodel-sha256=<hex>``, the sha256 of every byte before the comment
(:func:`seal_zip`); :func:`check_zip_seal` verifies it. The payload records
``"integrity": ZIP_INTEGRITY`` so that a damaged comment cannot pass the file
off as an older, unsealed one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from airmodel.errors import CorruptFileError

__all__ = [
    "ZIP_INTEGRITY",
    "check_zip_seal",
    "dumps_sealed",
    "loads_sealed",
    "read_json",
    "seal_zip",
]

_HEAD = '{"sha256": "'
_ZEROS = "0" * 64
_FIX = "Restore it from a copy, or move it away and rerun to recompute it."


def dumps_sealed(obj: dict[str, Any], newline: bool = True) -> str:
    """Standard JSON text of ``obj`` (no NaN/inf: pass them as null or strings)
    with a leading ``"sha256"`` over the whole text."""
    body = json.dumps(obj, allow_nan=False, separators=(", ", ": "))
    rest = body[1:] if body == "{}" else ", " + body[1:]
    text = f'{_HEAD}{_ZEROS}"{rest}' + ("\n" if newline else "")
    digest = hashlib.sha256(text.encode()).hexdigest()
    return _HEAD + digest + text[len(_HEAD) + 64 :]


def loads_sealed(
    text: str | bytes, path: str | Path = "<text>", fix: str = _FIX
) -> dict[str, Any]:
    """Check the seal of :func:`dumps_sealed` text and return the object."""
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError as err:
            raise CorruptFileError(path, f"not UTF-8 ({err.reason})", fix) from None
    n = len(_HEAD)
    want = text[n : n + 64]
    if not text.startswith(_HEAD) or text[n + 64 : n + 65] != '"':
        raise CorruptFileError(path, "its sha256 seal is missing or damaged", fix)
    got = hashlib.sha256((_HEAD + _ZEROS + text[n + 64 :]).encode()).hexdigest()
    if got != want:
        raise CorruptFileError(
            path, f"sha256 {got[:12]}... does not match the recorded {want[:12]}", fix
        )
    obj = json.loads(text)  # the hash matched: this is the text we wrote
    obj.pop("sha256")
    return obj


def read_json(path: str | Path, fix: str = _FIX) -> Any:
    """``json.loads`` of a file; unparsable text raises :class:`CorruptFileError`."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        detail = "empty file" if not data else f"not JSON: {err}"
        raise CorruptFileError(path, detail, fix) from None


_TAG = b"airmodel-sha256="
_SEAL_LEN = len(_TAG) + 64
_EOCD = b"PK\x05\x06"  # zip end-of-central-directory record (22 bytes + comment)
ZIP_INTEGRITY = "sha256-zip-comment"


def seal_zip(data: bytes) -> bytes:
    """Append ``airmodel-sha256=<hex>`` as the zip comment of ``torch.save`` bytes."""
    if len(data) < 22 or data[-22:-18] != _EOCD or data[-2:] != b"\0\0":
        raise ValueError("expected torch.save zip bytes without a zip comment")
    head = data[:-2] + _SEAL_LEN.to_bytes(2, "little")
    return head + _TAG + hashlib.sha256(head).hexdigest().encode()


def check_zip_seal(data: bytes, path: str | Path, fix: str) -> bool:
    """Whether ``data`` carries a :func:`seal_zip` seal; a seal that does not
    match raises :class:`CorruptFileError` naming ``path`` and ``fix``."""
    if not data[-_SEAL_LEN:].startswith(_TAG):
        return False
    want = data[-64:].decode("ascii", "replace")
    got = hashlib.sha256(data[:-_SEAL_LEN]).hexdigest()
    if got != want:
        raise CorruptFileError(
            path,
            f"sha256 {got[:12]}... does not match the recorded {want[:12]}...",
            fix,
        )
    return True
