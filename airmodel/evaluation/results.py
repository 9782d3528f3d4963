# SPDX-License-Identifier: Apache-2.0
"""Results folder: rows written atomically as they finish, resumable, with provenance."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from airmodel.provenance import write_atomic, write_json_atomic

__all__ = ["ResultsFolder", "config_diff"]


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two config dicts."""
    fa, fb = _flat(a), _flat(b)
    return sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))


class ResultsFolder:
    """A folder holding ``config.yaml``, ``provenance.json``, ``results.{json,csv}``.

    Rows are keyed by ``key_fields``; :meth:`add` rewrites both result files
    through a temporary file and ``os.replace``, so an interrupted run loses at
    most the row in flight and a rerun skips every finished row.

    :param path: the folder.
    :param config: resolved config (plain dict); a folder holding a different
        config is refused, naming the keys that differ.
    :param key_fields: columns that identify a row.
    :param normalize: maps a stored config to its resolved form, so keys added
        to the schema later (with defaults) do not count as a difference.
    :param ignore: keys (or prefixes: ``execution.``) that may differ between
        runs: thread count, where trials run.
    :param extendable: keys a rerun may change to add rows (more SNR points,
        draws or denoisers); finished rows are kept and ``config.yaml`` updated.
    """

    def __init__(
        self,
        path: str | Path,
        config: dict[str, Any],
        key_fields: Sequence[str],
        normalize: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        ignore: Sequence[str] = ("evaluation.threads", "execution."),
        extendable: Sequence[str] = (
            "sweep.snr_db",
            "sweep.draws",
            "receiver.denoisers",
        ),
    ) -> None:
        self.path = Path(path)
        self.key_fields = tuple(key_fields)
        self.path.mkdir(parents=True, exist_ok=True)
        cfg_file = self.path / "config.yaml"
        if cfg_file.is_file():
            old = yaml.safe_load(cfg_file.read_text()) or {}
            if normalize is not None:  # fill keys added since with their defaults
                old = normalize(old)
            diff = [
                k for k in config_diff(old, config) if not k.startswith(tuple(ignore))
            ]
            fixed = [k for k in diff if not k.startswith(tuple(extendable))]
            if fixed:
                raise ValueError(
                    f"Results folder {self.path} holds a run of a different config "
                    f"(keys differ: {fixed[:8]}). Use another output folder "
                    "(--set out_dir=...) or delete this one to start over."
                )
            if diff:  # more points, draws or denoisers: rows stay valid, keyed by them
                write_atomic(cfg_file, yaml.safe_dump(config, sort_keys=False))
        else:
            write_atomic(cfg_file, yaml.safe_dump(config, sort_keys=False))
        self.meta: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []
        res = self.path / "results.json"
        if res.is_file():
            saved = json.loads(res.read_text())
            self.rows = list(saved.get("rows", []))
            self.meta = dict(saved.get("meta", {}))
        self._keys = {self.key(r) for r in self.rows}

    def key(self, row: dict[str, Any]) -> tuple:
        """The identifying tuple of ``row``."""
        return tuple(row[k] for k in self.key_fields)

    def done(self, **key: Any) -> bool:
        """True if a row with these key values is already stored."""
        return tuple(key[k] for k in self.key_fields) in self._keys

    def set_meta(self, **meta: Any) -> None:
        """Store run-level facts (clean accuracy, provenance) in results.json."""
        self.meta.update(meta)
        self._flush()

    def add(self, row: dict[str, Any]) -> None:
        """Store a finished row (atomically)."""
        self.rows.append(row)
        self._keys.add(self.key(row))
        self._flush()

    def _flush(self) -> None:
        write_json_atomic(
            self.path / "results.json", {"meta": self.meta, "rows": self.rows}
        )
        write_atomic(self.path / "results.csv", to_csv(self.rows))


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as CSV text, columns in first-seen order."""
    rows = list(rows)
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()
