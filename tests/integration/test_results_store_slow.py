"""Results store under many kill -9s (slow: ``make test-all``)."""

from __future__ import annotations

import pytest

from tests.unit.test_results_store import _kill_repeatedly


@pytest.mark.slow
def test_kill_9_many_repetitions(tmp_path):
    """3 x 166 = 498 kill -9 (three random seeds): same property as the default test."""
    for s in range(3):
        _kill_repeatedly(tmp_path / str(s), 500 // 3, seed=s)
