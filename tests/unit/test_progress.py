# SPDX-License-Identifier: Apache-2.0
"""Progress bars (issue #27 item 2): every slow step shows one with the time left on a
terminal, through airmodel.progress; none off a terminal or with --no-progress."""

from __future__ import annotations

import io
import sys

import pytest
import torch

from airmodel import progress
from airmodel.link import Link
from tests.factories import make_state_dict


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def instant(monkeypatch):
    """Bars appear at once and redraw at every step; the switch at its default."""
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    monkeypatch.setattr(progress, "MININTERVAL_S", 0.0)
    monkeypatch.delenv("AIRMODEL_PROGRESS", raising=False)
    progress.set_enabled(None)
    yield
    progress.set_enabled(None)


@pytest.fixture
def tty(monkeypatch, instant):
    """Call it in the test body: standard error becomes a terminal (pytest puts its
    own capture back between a fixture's setup and the test)."""

    def install() -> FakeTTY:
        fake = FakeTTY()
        monkeypatch.setattr(sys, "stderr", fake)
        return fake

    return install


def _digital_round_trip():
    torch.manual_seed(0)
    sd = {"w": torch.randn(3000)}
    link = Link("awgn", scheme="digital")
    return link(sd, snr_db=8.0, seed=0)


def test_sub_steps_show_with_time_left_on_a_terminal(tty):
    """LDPC encoding and decoding of a trial show bars with [elapsed<remaining]."""
    import re

    err = tty()
    _digital_round_trip()
    out = err.getvalue()
    assert "LDPC encode + map" in out and "LDPC decode (6 codewords)" in out
    assert re.search(r"1/1 \[\d\d:\d\d<\d\d:\d\d", out), out


def test_selection_grid_shows_progress(tty):
    from airmodel.link import Link as L
    from airmodel.receiver.denoiser import MMSEpb

    err = tty()
    link = L("awgn")
    tx = link.transmit(make_state_dict(), 5.0, seed=0)
    L.denoise(tx, MMSEpb(), score=lambda w: -float(w.square().mean()),
              lam_grid=[0.1, 0.5], beta_grid=[0.0, 1.0])  # fmt: skip
    assert "select (lam, beta): 100%" in err.getvalue()


def test_quiet_when_not_a_terminal(instant, capsys):
    _digital_round_trip()
    assert capsys.readouterr().err == ""


def test_quiet_with_no_progress_even_on_a_terminal(tty):
    err = tty()
    with progress.enabled(False):
        _digital_round_trip()
    assert err.getvalue() == ""
    assert progress.active()  # the setting is restored after the block


def test_cli_no_progress_switches_every_bar_off(tty):
    from airmodel.cli import main

    tty()
    assert main(["run", "quickstart", "--dry-run", "--no-progress"]) == 0
    assert not progress.active()


def test_forced_on_off_a_terminal(instant, monkeypatch, capsys):
    monkeypatch.setenv("AIRMODEL_PROGRESS", "1")
    list(progress.steps(range(3), "three"))
    assert "three: 100%" in capsys.readouterr().err
