"""The fuzz tests of tests/unit/test_fuzz_*.py with 1,000 random examples each
(``slow``; ``make test-all``). The bodies and strategies are the unit tests' own."""

from __future__ import annotations

from hypothesis import strategies as st

import tests.unit.test_fuzz_config as fuzz_config
import tests.unit.test_fuzz_files as fuzz_files
import tests.unit.test_fuzz_link as fuzz_link
from tests.fuzzing import many
from tests.unit.test_fuzz_files import sealed  # noqa: F401  (fixture)

test_config_no_traceback_many = many(
    fuzz_config._no_traceback,
    cfg=fuzz_config.configs(),
    overrides=fuzz_config.OVERRIDES,
)
test_checkpoint_damage_detected_many = many(
    fuzz_files._checkpoint_damage_detected, **fuzz_files.CHECKPOINT_DAMAGE
)
test_results_damage_detected_many = many(
    fuzz_files._results_damage_detected, rows=fuzz_files.ROWS, **fuzz_files.DAMAGE
)
test_link_round_trip_or_refused_many = many(
    fuzz_link._round_trip_or_refused,
    sd=fuzz_link.state_dicts(),
    policy=st.sampled_from(["paper", "all_float"]),
)
