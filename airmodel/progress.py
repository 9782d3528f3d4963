# SPDX-License-Identifier: Apache-2.0
"""Progress bars with an estimate of the time left, for every step that can be slow.

One switch for the whole process: :func:`set_enabled` (the CLI's
``--no-progress`` sets it to ``False``). By default (``None``) a bar shows only
when standard error is a terminal, so logs, pipes, notebooks' captured output
and CI stay quiet; ``True`` (or ``AIRMODEL_PROGRESS=1``) forces bars on. A bar
appears only after :data:`DELAY_S` seconds, so quick steps print nothing, and
disappears when its step ends (``leave=False``) unless asked to stay.
The bars are tqdm's (``{remaining}``: the time left at the current rate).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from tqdm import tqdm

__all__ = [
    "DELAY_S",
    "MININTERVAL_S",
    "active",
    "bar",
    "enabled",
    "set_enabled",
    "steps",
]

T = TypeVar("T")

#: Seconds a step runs before its bar appears.
DELAY_S = 1.0
#: Least seconds between two redraws of a bar.
MININTERVAL_S = 0.5
_setting: bool | None = None


def set_enabled(on: bool | None) -> None:
    """``False``: no bars; ``True``: bars even off a terminal; ``None``: on a terminal."""
    global _setting
    _setting = on


@contextmanager
def enabled(on: bool | None) -> Iterator[None]:
    """:func:`set_enabled` for the duration of a ``with`` block."""
    before = _setting
    set_enabled(on)
    try:
        yield
    finally:
        set_enabled(before)


def active() -> bool:
    """Whether bars show now (the setting, else ``AIRMODEL_PROGRESS``, else a terminal)."""
    if _setting is not None:
        return _setting
    env = os.environ.get("AIRMODEL_PROGRESS", "").strip().lower()
    if env in ("0", "false", "no", "off"):
        return False
    if env in ("1", "true", "yes", "on"):
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def bar(
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    show: bool = True,
    leave: bool = False,
    delay: float | None = None,
    **kwargs: Any,
) -> tqdm:
    """A tqdm bar on standard error that obeys the switch; ``show=False`` hides it too.

    :param total: steps expected (the time-left estimate needs it).
    :param delay: seconds before it appears (default :data:`DELAY_S`).
    """
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not (show and active()),
        leave=leave,
        delay=DELAY_S if delay is None else delay,
        dynamic_ncols=True,
        file=sys.stderr,
        **{"mininterval": MININTERVAL_S, **kwargs},
    )


def steps(
    iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it"
) -> Iterator[T]:
    """Iterate with a bar (``total``: ``len(iterable)`` if it has one)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with bar(total, desc, unit) as b:
        for item in iterable:
            yield item
            b.update(1)
