# SPDX-License-Identifier: Apache-2.0
"""The backend interface: map a trial function over trials, results as they finish."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import torch

#: The one line printed when backend ray is asked for without the extra.
RAY_MISSING = (
    "config key `execution.backend`: ray is not installed; install the extra with "
    "`pip install 'airmodel[ray]'` or use backend: local."
)

__all__ = ["RAY_MISSING", "Backend", "Place"]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

#: ``place(shared, device) -> shared``: moves what trials share to a worker's device.
Place = Callable[[Any, torch.device], Any]


class Backend(ABC):
    """Runs ``fn(shared, trial)`` for every trial.

    ``fn`` must be deterministic given ``shared`` and the trial and must not
    write results itself: :meth:`map` hands each result back to the caller,
    which stores it. Use a backend as a context manager (or call
    :meth:`close`) so a cluster it started is shut down.
    """

    @abstractmethod
    def map(
        self,
        fn: Callable[[S, T], R],
        trials: Iterable[T],
        shared: S,
        place: Place | None = None,
    ) -> Iterator[tuple[T, R]]:
        """Yield ``(trial, fn(shared, trial))`` for every trial, as each finishes.

        ``shared`` is sent to each worker once (not once per trial). ``place``,
        if given, moves it to the worker's device before its first trial
        (workers that were assigned a GPU); the local backend never calls it.
        The order of the pairs is the order of completion.
        """

    def close(self) -> None:
        """Release what the backend started (nothing by default)."""
        return None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
