"""League-table arithmetic: crossings by linear interpolation, gains over ML."""

from __future__ import annotations

import math

import pytest

from airmodel.evaluation.report import accuracy_table, crossing, league_table


def test_crossing():
    assert crossing([0, 10], [0.0, 1.0], 0.6) == pytest.approx(6.0)
    assert math.isnan(crossing([0, 10], [0.0, 0.5], 0.6))
    assert crossing([0, 10], [0.7, 0.9], 0.6) == -math.inf


def test_league_table_gain():
    rows = []
    for snr in (0.0, 10.0):
        for d in range(2):
            rows.append(
                {
                    "denoiser": "ml",
                    "esno_db": snr,
                    "wnr_db": snr,
                    "draw": d,
                    "accuracy": snr / 10,
                }
            )
            rows.append(
                {
                    "denoiser": "better",
                    "esno_db": snr,
                    "wnr_db": snr,
                    "draw": d,
                    "accuracy": snr / 10 + 0.3,
                    "evaluations": 30,
                }
            )
    table = {r["denoiser"]: r for r in league_table(rows, (0.6,))}
    assert table["ml"]["wnr_db@60%"] == pytest.approx(6.0)
    assert table["better"]["wnr_db@60%"] == pytest.approx(3.0)
    assert table["better"]["gain_db@60%"] == pytest.approx(3.0)
    assert table["better"]["evaluations"] == 30


def test_accuracy_table_mean_and_std():
    rows = [
        {"denoiser": "ml", "esno_db": snr, "accuracy": acc}
        for snr, acc in ((10.0, 0.5), (10.0, 0.7), (-2.0, 0.1), (-2.0, 0.1))
    ]
    lines = accuracy_table(rows).splitlines()
    assert lines[0].endswith("| -2 | 10 |")
    assert lines[2] == "| ml | 10.0 ± 0.0 | 60.0 ± 10.0 |"
