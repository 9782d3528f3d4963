# SPDX-License-Identifier: Apache-2.0
"""Job arrays without Ray: a run's plan split into N disjoint shards, and merged back.

A trial belongs to shard ``1 + blake2b(its key) mod N``, its key being the
values that seed it (Es/N0 value and draw for a sweep; Es/N0, receiver and
run for a federated run). So a trial's shard does not depend on the other
trials: adding points or draws never moves a finished trial to another shard.
Shard ``i`` of ``N`` writes to ``out_dir/shard-i-of-N``; :func:`merge` joins
the shard folders of one config into a folder whose rows equal the unsharded
run's (same seeds, same trial function).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from airmodel.evaluation.results import (
    IDENTITY_IGNORES,
    ResultsFolder,
    _load_json,
    _under,
    config_diff,
    read_results,
)
from airmodel.evaluation.store import FolderLock, read_nofollow
from airmodel.paths import resolve_input_paths
from airmodel.receiver.spec import ReceiverSpec
from airmodel.seed import SEED_SCHEME, point_key

__all__ = ["Shard", "parse_shard", "shard_of", "merge"]

Shard = tuple[int, int]


def parse_shard(text: str) -> Shard:
    """``"i/N"`` (1 <= i <= N) as ``(i, N)``; a clear error otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ValueError(
            f"--shard {text!r}: give I/N with 1 <= I <= N, e.g. --shard 2/8 "
            "(Slurm: --shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT)."
        )
    return int(m.group(1)), int(m.group(2))


def shard_label(shard: Shard | None) -> str | None:
    """``"i/N"`` as stored in a folder's ``store.json`` (``None``: unsharded)."""
    return None if shard is None else f"{shard[0]}/{shard[1]}"


def shard_dir(results_dir: str | Path, shard: Shard) -> Path:
    """The default folder of shard ``(i, N)``: ``results_dir/shard-i-of-N``."""
    return Path(results_dir) / f"shard-{shard[0]}-of-{shard[1]}"


def shard_of(snr_db: float, *key: Any, n: int) -> int:
    """The shard (1..n) of the trial keyed by an Es/N0 value and further parts."""
    text = json.dumps([point_key(snr_db), *key])
    h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
    return 1 + h % n


def in_shard(shard: Shard | None, snr_db: float, *key: Any) -> bool:
    """True if the trial belongs to ``shard`` (always, for ``None``)."""
    return shard is None or shard_of(snr_db, *key, n=shard[1]) == shard[0]


def _order(cfg: dict[str, Any]) -> Any:
    """Sort key putting rows in the unsharded run's order (points, draws, receivers).

    ``cfg`` is the stored, resolved config (``config.yaml``) as plain data.
    """
    snr = {point_key(s): i for i, s in enumerate(cfg["sweep"]["snr_db"])}
    specs = cfg["receiver"]["denoisers"]
    den = {ReceiverSpec.from_plain(d).key: i for i, d in enumerate(specs)}
    if cfg.get("experiment") == "federated":
        return lambda r: (snr[point_key(r["snr_db"])], den[r["denoiser"]], r["run"],
                          r["round"])  # fmt: skip
    # points added by sweep.refine are not in the config: after its own, by value
    return lambda r: (snr.get(point_key(r["esno_db"]), len(snr)), float(r["esno_db"]),
                      r["draw"], den[r["denoiser"]])  # fmt: skip


def merge(out: str | Path, folders: Sequence[str | Path]) -> tuple[Path, int]:
    """Join the shard folders of one run into ``out``; return it and the row count.

    Every folder must hold the same config (up to its location), the same
    seed scheme and a distinct shard of the same N, all N present; a row
    stored in two shards with different values is refused. ``out`` is an
    ordinary (unsharded) results folder: rerunning the config into it adds
    any row the shards had not finished. Each shard folder is read under a
    shared lock (:class:`~airmodel.evaluation.store.FolderLock`): a shard still
    being written is refused, naming its writer.
    """
    if not folders:
        raise ValueError("airmodel merge: name the shard folders to join.")
    with contextlib.ExitStack() as stack:
        for f in map(Path, folders):  # no shard is written while it is read
            if (f / "store.json").is_file():
                stack.callback(FolderLock(f, shared=True).release)
        return _merge(Path(out), folders)


def _merge(out: Path, folders: Sequence[str | Path]) -> tuple[Path, int]:
    seen: dict[int, Path] = {}
    ref_cfg, ref_store, ref_path = None, None, None
    rows: dict[tuple, dict[str, Any]] = {}
    records: list[Any] = []
    meta: dict[str, Any] = {}
    for f in map(Path, folders):
        store_f, cfg_f = f / "store.json", f / "config.yaml"
        if not store_f.is_file() or not cfg_f.is_file():
            raise ValueError(
                f"airmodel merge: {f} is not a results folder of this airmodel (no "
                f"store.json/config.yaml); give the folders `airmodel run --shard` wrote."
            )
        store = _load_json(store_f, "folder identity")
        cfg = resolve_input_paths(yaml.safe_load(read_nofollow(cfg_f)) or {}, f)
        if store.get("seed_scheme") != SEED_SCHEME:
            raise ValueError(
                f"airmodel merge: {f} was written with seed scheme "
                f"{store.get('seed_scheme')!r}, not {SEED_SCHEME!r}; rerun that shard."
            )
        m = re.fullmatch(r"(\d+)/(\d+)", str(store.get("shard")))
        if not m:
            raise ValueError(
                f"airmodel merge: {f} is not a shard folder (shard "
                f"{store.get('shard')}); merge joins folders of `airmodel run --shard`."
            )
        i, n = int(m.group(1)), int(m.group(2))
        if ref_cfg is None:
            ref_cfg, ref_store, ref_path = cfg, store, f
        else:
            diff = [
                k for k in config_diff(ref_cfg, cfg) if not _under(k, IDENTITY_IGNORES)
            ]
            if diff:
                raise ValueError(
                    f"airmodel merge: {f} and {ref_path} hold different configs (keys "
                    f"differ: {diff[:8]}); merge only the shards of one run."
                )
            if store.get("key_fields") != ref_store["key_fields"]:
                raise ValueError(
                    f"airmodel merge: {f} and {ref_path} hold different row kinds."
                )
            if n != int(ref_store["shard"].split("/")[1]):
                raise ValueError(
                    f"airmodel merge: {f} is shard {i}/{n} but {ref_path} is of "
                    f"{ref_store['shard']}; all shards must split the run the same way."
                )
        if i in seen:
            raise ValueError(
                f"airmodel merge: {f} and {seen[i]} are both shard {i}/{n}; give each "
                "shard once."
            )
        seen[i] = f
        part_meta, part_rows = read_results(f)
        meta = meta or part_meta
        key_fields = tuple(store["key_fields"])
        for r in part_rows:
            k = tuple(r[c] for c in key_fields)
            if k in rows and _strip(rows[k]) != _strip(r):
                raise ValueError(
                    f"airmodel merge: row {k} differs between shards; rerun them."
                )
            rows[k] = r
        prov = f / "provenance.json"
        if prov.is_file():
            records += _load_json(prov, "provenance")
    n = int(ref_store["shard"].split("/")[1])
    missing = sorted(set(range(1, n + 1)) - set(seen))
    if missing:
        raise ValueError(
            f"airmodel merge: shard(s) {', '.join(f'{i}/{n}' for i in missing)} "
            "missing; give all N shard folders."
        )
    cfg = {**ref_cfg, "out_dir": str(out)}
    ordered = sorted(rows.values(), key=_order(cfg))
    with ResultsFolder(out, cfg, ref_store["key_fields"]) as folder:
        for r in ordered:
            if not folder.done(**{c: r[c] for c in folder.key_fields}):
                folder.add(r)
        folder.set_meta(**meta, merged_from=[str(seen[i]) for i in sorted(seen)])
        from airmodel.provenance import provenance

        folder.add_provenance(
            {
                **provenance(ref_cfg.get("seed", 0), "cpu"),
                "command": "merge",
                "shards": records,
            }  # fmt: skip
        )
        return out, len(folder.rows)


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "seconds"}
