# SPDX-License-Identifier: Apache-2.0
"""Federated results folder: a row per evaluated round; whole runs are the resume unit."""

from __future__ import annotations

from typing import Any

from airmodel.evaluation.results import ResultsFolder

__all__ = ["ROW_KEY", "RUN_KEY", "FederatedResults"]

#: Columns that identify a result row.
ROW_KEY = ("snr_db", "denoiser", "run", "round")
#: Config keys a rerun may extend (more Es/N0 points, receivers or runs): the
#: seeds depend on (seed, Es/N0, run) only, so stored runs stay valid.
EXTENDABLE = ("sweep.snr_db", "receiver.denoisers", "federated.runs")
#: Columns that identify a run.
RUN_KEY = ("snr_db", "denoiser", "run")


class FederatedResults(ResultsFolder):
    """:class:`ResultsFolder` keyed by ``ROW_KEY`` that resumes by whole runs.

    Rows are stored as each round is evaluated. A run is finished once its
    row with ``last: true`` (final round, or divergence) is stored; a rerun
    skips finished runs and restarts an unfinished one from scratch after
    :meth:`discard_run` drops its partial rows (continuing mid-run would need
    the global model, every device's RNG state and the sampler's, so it is
    simpler and exactly reproducible to redo the run).
    """

    def __init__(
        self, path: Any, config: dict[str, Any], shard: str | None = None
    ) -> None:
        super().__init__(path, config, ROW_KEY, shard=shard, extendable=EXTENDABLE)

    @staticmethod
    def _same(row: dict[str, Any], key: dict[str, Any]) -> bool:
        return all(row[k] == key[k] for k in RUN_KEY)

    def finished(self, **run_key: Any) -> bool:
        """True if the run ``(snr_db, denoiser, run)`` has its last row stored."""
        return any(r.get("last") and self._same(r, run_key) for r in self.rows)

    def discard_run(self, **run_key: Any) -> int:
        """Drop the stored rows of an unfinished run (journaled); return how many."""
        return self.drop(**{k: run_key[k] for k in RUN_KEY})
