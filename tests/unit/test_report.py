"""League-table arithmetic: crossings by linear interpolation, gains over ML."""

from __future__ import annotations

import math

import pytest

from airmodel.evaluation.report import (
    accuracy_table,
    crossing,
    league_table,
    markdown_report,
    summary,
)


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


def test_league_table_keeps_x_per_curve():
    """Curves of different schemes have different x at one Es/N0 (energy per weight):
    each curve's crossing uses its own x, not the mean over all curves there."""
    rows = []
    for snr in (0.0, 10.0):
        for name, cu_db in (("analog", -3.0), ("coded", 6.0)):
            rows.append(
                {"denoiser": name, "esno_db": snr, "ew_n0_db": snr + cu_db,
                 "accuracy": snr / 10}
            )  # fmt: skip
    table = {r["denoiser"]: r for r in league_table(rows, (0.6,), x="ew_n0_db")}
    assert table["analog"]["ew_n0_db@60%"] == pytest.approx(3.0)
    assert table["coded"]["ew_n0_db@60%"] == pytest.approx(12.0)


def test_summary_is_empty_for_federated_rows(tmp_path):
    """Federated rows carry accuracy and WNR but no Es/N0 point: no inference summary
    (it raised KeyError 'esno_db' after every federated run)."""
    folder = _folder(tmp_path, federated=True)
    assert summary(folder) == ""


def _folder(tmp_path, federated=False):
    """A results folder in the results.json layout, with config and provenance."""
    import json

    import yaml

    folder = tmp_path / ("feel" if federated else "league")
    folder.mkdir()
    if federated:
        rows = [
            {"snr_db": s, "denoiser": d, "run": r, "round": 10, "last": True,
             "accuracy": a + 0.02 * r, "peak_accuracy": a + 0.05, "wnr_db": s}
            for s, d, a in ((-5.0, "ml", 0.9), (-5.0, "mmse", 0.6))
            for r in (0, 1)
        ]  # fmt: skip
        cfg = {"experiment": "federated", "model": {"name": "resnet8"},
               "data": {"dataset": "digits"}, "channel": {"name": "awgn"},
               "transmitter": {"scheme": "analog"},
               "federated": {"num_devices": 10, "active": 4, "rounds": 10, "runs": 2,
                             "split": "paper", "local_epochs": 2},
               "receiver": {"kappa": 100, "denoisers": [{"name": "ml"}, {"name": "mmse"}]}}  # fmt: skip
    else:
        rows = [
            {"denoiser": d, "esno_db": s, "wnr_db": s, "draw": k, "accuracy": a(s)}
            for d, a in (("ml", lambda s: s / 10), ("mmse_pb[oracle]", lambda s: 0.5))
            for s in (0.0, 10.0)
            for k in (0, 1, 2)
        ]  # fmt: skip
        cfg = {"model": {"name": "resnet8"}, "data": {"dataset": "digits"},
               "transmitter": {"scheme": "analog"}, "channel": {"name": "awgn"},
               "sweep": {"draws": 3},
               "receiver": {"kappa": 100, "denoisers": [
                   {"name": "ml", "recalibrate": 500},
                   {"name": "mmse_pb", "select": "oracle"}]}}  # fmt: skip
    meta = {"clean_accuracy": 0.9944, "test_images": 360}
    (folder / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}))
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    prov = [{"seed": 0, "git_commit": "abcdef1234", "invoked_at": "2026-11-30T10:00:00Z",
             "versions": {"airmodel": "0.1.0"},
             "argv": ["/x/bin/airmodel", "run", "configs/league_digits.yaml"]}]  # fmt: skip
    (folder / "provenance.json").write_text(json.dumps(prov))
    return folder


def test_markdown_report_names_what_produced_the_numbers(tmp_path):
    """Command, commit, model and clean accuracy, draws, selection (oracle flagged)."""
    text = markdown_report(_folder(tmp_path))
    assert "`airmodel run configs/league_digits.yaml`" in text
    assert "git abcdef1" in text and "clean test accuracy 99.44 %" in text
    assert "3 noise draws per point; Es/N0 0 … 10 dB (2 points)" in text
    assert "unlabelled training images (N = 500)" in text and "an oracle" in text
    assert "| `ml` | 3 | 6.00 ± 0.00 | 0 (reference) |" in text  # 60 % at 6 dB, 3 draws


def test_federated_table_final_accuracy_over_runs(tmp_path):
    text = markdown_report(_folder(tmp_path, federated=True))
    assert "10 devices (4 active per round" in text
    assert "| -5 | `ml` | 91.0 ± 1.0 | 95.0 | 2 | 10 |" in text
    assert "| -5 | `mmse` | 61.0 ± 1.0 | 65.0 | 2 | 10 |" in text


def test_report_cli_markdown_takes_several_folders(tmp_path, capsys):
    """`airmodel report A B --markdown`: one section per folder; without --markdown a
    federated folder prints its final-accuracy table (it used to raise KeyError)."""
    from airmodel.cli import main

    league, feel = _folder(tmp_path), _folder(tmp_path, federated=True)
    assert main(["report", str(league), str(feel), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "### league\n" in out and "### feel\n" in out
    assert out.count("- **command**:") == 2
    assert main(["report", str(feel)]) == 0
    assert "| -5 | ml | 91.0 ± 1.0 |" in capsys.readouterr().out


def _curve_rows(draws=1):
    """ml rises 0 -> 100 % over 0..10 dB; ``early`` is above 80 % from the start."""
    return [
        {"denoiser": d, "esno_db": s, "wnr_db": s, "draw": k, "accuracy": a(s),
         "evaluations": 0}
        for d, a in (("ml", lambda s: s / 10), ("early", lambda s: 0.85 + s / 100))
        for s in (0.0, 5.0, 10.0)
        for k in range(draws)
    ]  # fmt: skip


def test_report_prints_no_inf_and_integer_counts():
    """A curve above the target at its lowest point: `< 0` and a bound `≥ +6.00`,
    never inf; evaluations `0`, not `0.00`; one draw: no ± anywhere."""
    from airmodel.evaluation.report import format_league

    table = league_table(_curve_rows(), (0.6,))
    text = format_league(table, (0.6,))
    assert "inf" not in text and "| early | 1 | < 0.00 | ≥ +6.00 | 95.0 | 0 |" in text
    assert "±" not in text and text.rstrip().endswith("| 0 |")
    assert "0.00 |" not in text.split("\n")[-1]
    assert "±" not in accuracy_table(_curve_rows())
    assert "±" in accuracy_table(_curve_rows(2))


def test_report_cli_lists_results_folders(tmp_path, monkeypatch, capsys):
    """`airmodel report` without a folder lists those under results/ (any depth)."""
    from airmodel.evaluation.report import main

    monkeypatch.chdir(tmp_path)
    main([])
    assert "no results folders under results/" in capsys.readouterr().out
    (tmp_path / "results").mkdir()
    _folder(tmp_path / "results")
    main([])
    out = capsys.readouterr().out
    assert "results/league" in out and "(12 rows)" in out
