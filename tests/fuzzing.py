"""Hypothesis settings shared by the fuzz tests.

The default suite runs each fuzz body with :func:`fast` (a few dozen
derandomized examples: seconds, reproducible); ``tests/integration/
test_fuzz_many.py`` runs the same bodies with :func:`many` (1,000 random
examples each, marked ``slow``; ``make test-all``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


def fast(body: Callable[..., Any], examples: int = 40, **strategies: Any) -> Any:
    """``body`` as a test of ``examples`` derandomized hypothesis examples."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=_QUIET,
    )(given(**strategies)(body))


def many(body: Callable[..., Any], examples: int = 1000, **strategies: Any) -> Any:
    """``body`` as a ``slow`` test of ``examples`` random hypothesis examples."""
    return pytest.mark.slow(
        settings(max_examples=examples, deadline=None, suppress_health_check=_QUIET)(
            given(**strategies)(body)
        )
    )
