# SPDX-License-Identifier: Apache-2.0
"""Results folder: one locked writer, rows journaled as they finish, resumable.

Files (see README "results folder"):

* ``config.yaml``: the resolved config, its input paths portable (relative to
  the folder or ``bundled:``, :func:`airmodel.paths.portable_paths`); ``store.json``: the folder's format,
  seed scheme, row key and shard.
* ``rows.jsonl``: the journal, the rows' one source of truth (one checksummed
  JSON line per finished row, fsync'd; :class:`~airmodel.evaluation.store.Journal`).
* ``results.json`` / ``results.csv``: views derived from the journal, rewritten
  on open, every ``views_every_s`` seconds of writing and on close.
  ``results.json`` is standard JSON: non-finite numbers are the strings
  ``"nan"``, ``"inf"``, ``"-inf"`` (:func:`read_results` turns them back).
* ``meta.json``: run-level facts; ``provenance.json``: one record per invocation.
* ``.lock``: the writer lock (:class:`~airmodel.evaluation.store.FolderLock`).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from airmodel.evaluation.store import (
    FolderLock,
    Journal,
    SymlinkRefusedError,
    read_nofollow,
    standard_json,
)
from airmodel.paths import INPUT_PATH_KEYS, portable_paths, resolve_input_paths
from airmodel.provenance import write_atomic
from airmodel.seed import SEED_SCHEME

__all__ = ["ResultsFolder", "config_diff", "read_results", "to_csv", "FORMAT"]

#: Version of the folder layout (``store.json``'s ``format``).
FORMAT = 1
#: Files whose temporary copies (``.NAME.*``) a killed writer may leave.
_ATOMIC = (
    "config.yaml", "store.json", "meta.json", "provenance.json",
    "results.json", "results.csv",
)  # fmt: skip
#: Config keys that are not part of a folder's identity.
IDENTITY_IGNORES = ("out_dir", "evaluation.threads", "execution")


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


def _path_diff(old: dict[str, Any], new: dict[str, Any], folder: Path) -> list[str]:
    """:func:`config_diff` of a stored config and a resolved one, input paths compared
    as the files they name: stored ones relative to ``folder`` or ``bundled:`` (this
    version), absolute or as given (older folders)."""
    stored = resolve_input_paths(copy.deepcopy(old), folder)
    resolved = resolve_input_paths(copy.deepcopy(new), Path.cwd())
    flat_old, flat_new = _flat(old), _flat(new)
    return [
        k for k in config_diff(stored, resolved)
        if not (k in INPUT_PATH_KEYS and flat_old.get(k) == flat_new.get(k))
    ]  # fmt: skip


def _under(key: str, prefixes: Iterable[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(read_nofollow(path))
    except SymlinkRefusedError:
        raise
    except (OSError, ValueError) as err:
        raise ValueError(
            f"{path} ({what}) is unreadable or corrupt ({err}). Restore it from a "
            "copy, or start over in another folder (--set out_dir=...)."
        ) from None


class ResultsFolder:
    """A results folder written by one process at a time (see module docstring).

    Opening it takes the writer lock, checks that the folder holds this config
    (without its location: a moved or copied folder resumes), removes
    temporary files of killed writers and loads the journal; :meth:`close`
    (or leaving a ``with`` block) rewrites the views and releases the lock.

    :param path: the folder.
    :param config: resolved config (plain dict); a folder holding a different
        config is refused, naming the keys that differ.
    :param key_fields: columns that identify a row.
    :param normalize: maps a stored config to its resolved form, so keys added
        to the schema later (with defaults) do not count as a difference.
    :param ignore: keys that may differ between runs (beside
        :data:`IDENTITY_IGNORES`).
    :param extendable: keys a rerun may change to add rows (more SNR points,
        draws or denoisers); finished rows are kept and ``config.yaml`` updated.
    :param shard: ``"i/N"`` for a shard folder (``airmodel run --shard``);
        part of the identity.
    :param views_every_s: least seconds between view rewrites while adding
        rows (a rewrite also waits ten times its own last duration, so views
        cost at most ~10 % of the writing time at any size).
    """

    def __init__(
        self,
        path: str | Path,
        config: dict[str, Any],
        key_fields: Sequence[str],
        normalize: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        ignore: Sequence[str] = (),
        extendable: Sequence[str] = (
            "sweep.snr_db",
            "sweep.draws",
            "sweep.auto",
            "sweep.refine",
            "receiver.denoisers",
        ),
        shard: str | None = None,
        views_every_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.key_fields = tuple(key_fields)
        self.views_every_s = views_every_s
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(
                f"results folder {self.path} is a file; set out_dir to a folder."
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = FolderLock(self.path)
        self._journal: Journal | None = None
        #: Keys of an earlier config whose row-less folder this run took over.
        self.reused: list[str] = []
        try:
            self._clean_temporaries()
            self._check_identity(config, normalize, (*IDENTITY_IGNORES, *ignore),
                                 extendable, shard)  # fmt: skip
            self._journal = Journal(self.path / Journal.NAME)
            self.rows: list[dict[str, Any]] = []
            self._replay(self._journal.entries)
            self._journal.entries = []
            meta = self.path / "meta.json"
            self.meta: dict[str, Any] = (
                _load_json(meta, "run facts") if meta.is_file() else {}
            )
            self.store = {"format": FORMAT, "seed_scheme": SEED_SCHEME,
                          "key_fields": list(self.key_fields), "shard": shard}  # fmt: skip
            write_atomic(self.path / "store.json", json.dumps(self.store, indent=1))
            portable = portable_paths(config, self.path)  # runs from a fresh clone
            write_atomic(
                self.path / "config.yaml", yaml.safe_dump(portable, sort_keys=False)
            )
        except BaseException:
            self.close(views=False)
            raise
        self.dropped_tail = self._journal.dropped_tail
        self.previous_writer = self._lock.previous
        self._write_views()

    # -- opening -----------------------------------------------------------
    def _clean_temporaries(self) -> None:
        for f in self.path.iterdir():
            n = f.name
            if f.is_file() and n.startswith(".") and (
                n.endswith(".tmp") or any(n.startswith(f".{a}.") for a in _ATOMIC)
            ):  # fmt: skip
                f.unlink(missing_ok=True)

    def _check_identity(self, config, normalize, ignore, extendable, shard) -> None:
        cfg_file, store_file = self.path / "config.yaml", self.path / "store.json"
        has_rows = any(
            (self.path / n).is_file() and (self.path / n).stat().st_size
            for n in (Journal.NAME, "results.json", "results.csv")
        )
        if not cfg_file.is_file():
            if has_rows:
                raise ValueError(
                    f"results folder {self.path} holds rows but no config.yaml, so "
                    "what produced them is unknown; it is not adopted. Restore its "
                    "config.yaml, or write to another folder (--set out_dir=...)."
                )
            return
        if not store_file.is_file():
            if has_rows:
                raise ValueError(
                    f"results folder {self.path} was written by an older airmodel "
                    f"(seed = base + trial index, before seed scheme {SEED_SCHEME!r}): "
                    "its noise draws differ from this version's, so resuming would "
                    "mix two schemes. Write to another folder (--set out_dir=...) "
                    "or delete this one to start over."
                )
            return
        store = _load_json(store_file, "folder identity")
        if store.get("seed_scheme") != SEED_SCHEME:
            raise ValueError(
                f"results folder {self.path} was written with seed scheme "
                f"{store.get('seed_scheme')!r}, this airmodel uses {SEED_SCHEME!r}: "
                "the draws differ, so it is not resumed. Write to another folder "
                "(--set out_dir=...) or delete this one."
            )
        if store.get("shard") != shard:
            raise ValueError(
                f"results folder {self.path} holds shard {store.get('shard')} of a "
                f"run, this is shard {shard}. Give each shard its own folder (the "
                "default out_dir/shard-I-of-N does)."
            )
        if tuple(store.get("key_fields", ())) != self.key_fields:
            raise ValueError(
                f"results folder {self.path} holds rows keyed by "
                f"{store.get('key_fields')}, not {list(self.key_fields)}; use another "
                "folder (--set out_dir=...)."
            )
        try:
            old = yaml.safe_load(read_nofollow(cfg_file)) or {}
        except yaml.YAMLError as err:
            raise ValueError(
                f"{cfg_file} is corrupt ({err}). Restore it, or write to another "
                "folder (--set out_dir=...)."
            ) from None
        if normalize is not None:  # fill keys added since with their defaults
            old = normalize(old)
        diff = [k for k in _path_diff(old, config, self.path) if not _under(k, ignore)]
        fixed = [k for k in diff if not _under(k, extendable)]
        if fixed and not self._holds_rows():
            # A run that failed before its first row (a bad model, a typo): the
            # corrected config takes the folder over; its old facts go.
            (self.path / "meta.json").unlink(missing_ok=True)
            self.reused = fixed
            print(
                f"results folder {self.path} held no rows of its earlier config "
                f"(keys differ: {fixed[:8]}); reusing it for this one.",
                file=sys.stderr,
            )
            return
        if fixed:
            raise ValueError(
                f"Results folder {self.path} holds a run of a different config "
                f"(keys differ: {fixed[:8]}). Use another output folder "
                "(--set out_dir=...) or delete this one to start over."
            )

    def _holds_rows(self) -> bool:
        """True if the journal (or an older layout's results.json) holds any row."""
        journal = self.path / Journal.NAME
        if journal.is_file():
            probe = object.__new__(ResultsFolder)
            probe.rows = []
            probe.key_fields = ()
            probe._replay(Journal(journal, write=False).entries)
            return bool(probe.rows)
        views = self.path / "results.json"
        if views.is_file():
            return bool(_load_json(views, "results").get("rows"))
        return False

    def _replay(self, entries: Iterable[dict[str, Any]]) -> None:
        for e in entries:
            if "row" in e:
                self.rows.append(e["row"])
            elif "drop" in e:
                self.rows = [r for r in self.rows if not _matches(r, e["drop"])]
        self._keys = {self.key(r) for r in self.rows}

    # -- rows --------------------------------------------------------------
    def key(self, row: dict[str, Any]) -> tuple:
        """The identifying tuple of ``row``."""
        return tuple(row[k] for k in self.key_fields)

    def done(self, **key: Any) -> bool:
        """True if a row with these key values is already stored."""
        return tuple(key[k] for k in self.key_fields) in self._keys

    def add(self, row: dict[str, Any]) -> None:
        """Store a finished row: journaled and fsync'd before this returns."""
        if self.key(row) in self._keys:
            raise ValueError(f"{self.path}: row {self.key(row)} is already stored.")
        self._writer().append({"row": row})
        self.rows.append(row)
        self._keys.add(self.key(row))
        if time.monotonic() >= self._views_due:
            self._write_views()

    def drop(self, **match: Any) -> int:
        """Drop the stored rows whose columns equal ``match``; return how many."""
        n = sum(_matches(r, match) for r in self.rows)
        if n:
            self._writer().append({"drop": match})
            self._replay([{"drop": match}])
        return n

    def set_meta(self, **meta: Any) -> None:
        """Store run-level facts (clean accuracy, provenance) in meta.json."""
        self.meta.update(meta)
        write_atomic(self.path / "meta.json", standard_json(self.meta))
        self._write_views()

    def add_provenance(self, record: dict[str, Any]) -> None:
        """Append this invocation's record to provenance.json (one per invocation)."""
        f = self.path / "provenance.json"
        records = _load_json(f, "provenance") if f.is_file() else []
        if not isinstance(records, list):
            raise ValueError(
                f"{f} is not a list of records; restore it or delete it "
                "(its invocations are then no longer recorded)."
            )
        record = {
            **record,
            "invoked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "argv": sys.argv,
            "rows_at_start": len(self.rows),
            "shard": self.store["shard"],
        }
        if self.previous_writer:
            record["took_over_lock_of"] = self.previous_writer
        if self.dropped_tail:
            record["dropped_torn_bytes"] = self.dropped_tail
        records.append(record)
        write_atomic(f, standard_json(records))

    # -- views and closing ---------------------------------------------------
    def _writer(self) -> Journal:
        if self._journal is None:
            raise ValueError(f"results folder {self.path} is closed.")
        return self._journal

    def _write_views(self) -> None:
        t0 = time.monotonic()
        write_atomic(
            self.path / "results.json",
            standard_json({"meta": self.meta, "rows": self.rows}),
        )
        write_atomic(self.path / "results.csv", to_csv(self.rows))
        now = time.monotonic()
        self._views_due = now + max(self.views_every_s, 10 * (now - t0))

    def close(self, views: bool = True) -> None:
        """Rewrite the views, close the journal, release the lock (idempotent)."""
        try:
            if views and self._journal is not None:
                self._write_views()
        finally:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self._lock.release()

    def __enter__(self) -> ResultsFolder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _matches(row: dict[str, Any], match: dict[str, Any]) -> bool:
    return all(row.get(k) == v for k, v in match.items())


def _number(v: Any) -> Any:
    return float(v) if v in ("nan", "inf", "-inf") else v


def read_results(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(meta, rows)`` of a results folder, read without taking its lock.

    Rows come from the journal (exact); a folder without one (older layout)
    is read from ``results.json``, with ``"nan"``/``"inf"``/``"-inf"`` back as floats.
    """
    path = Path(path)
    meta_f, journal = path / "meta.json", path / Journal.NAME
    if journal.is_file():
        folder = object.__new__(ResultsFolder)
        folder.rows, folder.key_fields = [], ()
        folder._replay(Journal(journal, write=False).entries)
        meta = _load_json(meta_f, "run facts") if meta_f.is_file() else {}
        return meta, folder.rows
    data = _load_json(path / "results.json", "results")
    rows = [{k: _number(v) for k, v in r.items()} for r in data.get("rows", [])]
    return data.get("meta", {}), rows


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as CSV text, columns in first-seen order."""
    rows = list(rows)
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(cols), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()
