# SPDX-License-Identifier: Apache-2.0
"""The default backend: trials one after another in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from airmodel.execution.base import Backend, Place

__all__ = ["LocalBackend"]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


class LocalBackend(Backend):
    """In-process, in order, lazily: a trial runs when the caller asks for it.

    No new dependency, no copies of ``shared``; torch uses the process's
    thread count (``evaluation.threads``).
    """

    def map(
        self,
        fn: Callable[[S, T], R],
        trials: Iterable[T],
        shared: S,
        place: Place | None = None,
    ) -> Iterator[tuple[T, R]]:
        """Yield ``(trial, fn(shared, trial))`` in order (see :meth:`Backend.map`)."""
        for trial in trials:
            yield trial, fn(shared, trial)
