"""``markdown_report(x="esno_db")``: the league read on the Es/N0 axis (fading pages)."""

from __future__ import annotations

import json

import yaml

from airmodel.evaluation.report import markdown_report


def _folder(tmp_path):
    """A league folder whose WNR is Es/N0 − 20 dB: the two axes give different crossings."""
    folder = tmp_path / "fading"
    folder.mkdir()
    rows = [
        {"denoiser": d, "esno_db": s, "wnr_db": s - 20.0, "draw": k, "accuracy": a(s)}
        for d, a in (("ml", lambda s: s / 10), ("ml+bn500", lambda s: 0.9))
        for s in (0.0, 10.0)
        for k in (0, 1, 2)
    ]  # fmt: skip
    cfg = {"model": {"name": "resnet20"}, "data": {"dataset": "cifar10"},
           "transmitter": {"scheme": "analog"}, "channel": {"name": "rayleigh"},
           "sweep": {"draws": 3},
           "receiver": {"kappa": 100, "denoisers": [
               {"name": "ml"}, {"name": "ml", "recalibrate": 500}]}}  # fmt: skip
    meta = {"clean_accuracy": 0.9, "test_images": 1000}
    (folder / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}))
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    prov = [{"seed": 0, "git_commit": "abcdef1234", "versions": {"airmodel": "0.1.0"},
             "argv": ["/x/bin/airmodel", "run", "configs/league_cifar10_fading.yaml"]}]  # fmt: skip
    (folder / "provenance.json").write_text(json.dumps(prov))
    return folder


def test_markdown_report_reads_the_league_on_the_axis_asked_for(tmp_path):
    """ml crosses 60 % at Es/N0 6 dB = WNR −14 dB; each axis prints its own."""
    folder = _folder(tmp_path)
    esno = markdown_report(folder, by_snr=False, x="esno_db")
    wnr = markdown_report(folder, by_snr=False)
    assert "Es/N0 [dB]" in esno and "WNR [dB]" not in esno
    assert "6.00" in esno and "-14.00" not in esno
    assert "WNR [dB]" in wnr and "-14.00" in wnr
