"""Audit: energy per weight of each scheme (Ew/N0 = Es/N0 · channel uses per weight)."""

from __future__ import annotations

import math

import pytest

from airmodel.evaluation.plot import ew_n0_db, plot_scheme_comparison
from airmodel.modulation import DigitalScheme, get_scheme

pytestmark = pytest.mark.science


@pytest.mark.parametrize(
    ("scheme", "cu"),
    [
        (get_scheme("analog"), 0.5),  # 2 real weights per complex symbol
        (DigitalScheme("q4", code_rate=None, num_bits_per_symbol=4), 1.0),
        (DigitalScheme("q4", code_rate=None, num_bits_per_symbol=8), 0.5),
        (DigitalScheme("q8", code_rate=0.5, k=4096, num_bits_per_symbol=8), 2.0),
        (DigitalScheme("q8", code_rate=0.5, k=4096, num_bits_per_symbol=4), 4.0),
    ],
)
def test_channel_uses_and_energy_per_weight(scheme, cu):
    """Channel uses per weight from the scheme (exact for k = 4096: n = 8192), and
    Ew/N0 [dB] = Es/N0 [dB] + 10 log10(cu): e.g. -3.01 dB analog, +6.02 dB for
    q8 LDPC 1/2 16-QAM (to 1e-9)."""
    assert scheme.channel_uses_per_weight == pytest.approx(cu, rel=1e-12)
    assert ew_n0_db(10.0, cu) == pytest.approx(10.0 + 10 * math.log10(cu), abs=1e-9)


def test_scheme_comparison_plot_has_both_axes(tmp_path):
    """The two-panel plot is written (PNG signature) from rows with ew_n0_db."""
    rows = [
        {"curve": c, "esno_db": s, "ew_n0_db": ew_n0_db(s, cu), "accuracy": a}
        for c, cu in (("analog ml", 0.5), ("ldpc ml", 4.0))
        for s, a in ((0.0, 0.2), (10.0, 0.9))
    ]
    path = plot_scheme_comparison(rows, tmp_path / "cmp.png", clean_accuracy=0.9)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
