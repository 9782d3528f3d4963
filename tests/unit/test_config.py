"""Config loading: defaults, overrides, and errors that name key, value and fix."""

from __future__ import annotations

import pytest

from airmodel.config import ConfigError, DenoiserConfig, load_config


def write(tmp_path, text: str):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


class TestConfig:
    def test_defaults_and_shorthand_denoisers(self, tmp_path):
        cfg = load_config(
            write(
                tmp_path,
                "receiver:\n  denoisers: [ml, {name: mmse_pb, select: validation}]\n",
            )
        )
        assert cfg.receiver.denoisers[0] == DenoiserConfig("ml")
        assert cfg.receiver.denoisers[1].key == "mmse_pb[validation]"
        assert len(cfg.receiver.lam_grid) * len(cfg.receiver.beta_grid) == 299
        assert cfg.sweep.snr_db == [0.0, 5.0, 10.0]

    def test_overrides_parse_yaml(self, tmp_path):
        cfg = load_config(
            write(tmp_path, "seed: 1\n"),
            ["sweep.snr_db=[1, 2.5]", "sweep.draws=7", "channel.name=rayleigh"],
        )
        assert cfg.sweep.snr_db == [1.0, 2.5] and cfg.sweep.draws == 7
        assert cfg.channel.name == "rayleigh"

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("sweeps: {}\n", "Unknown config key `sweeps`"),
            ("sweep: {draw: 3}\n", "Unknown config key `sweep.draw`"),
            (
                "sweep: {draws: three}\n",
                "`sweep.draws`: expected an integer or one of 'auto'; got 'three'",
            ),
            ("sweep: {draws: 0}\n", "`sweep.draws`: 0 is out of range"),
            ("sweep: {snr_db: [0, ten]}\n", "`sweep.snr_db\\[1\\]`: expected a number"),
            ("sweep: {snr_db: [.nan]}\n", "`sweep.snr_db\\[0\\]`"),
            # an unknown scheme name (plugins allowed) fails at --dry-run: test_registry.py
            ("data: {dataset: cifar10}\n", "`data.root`"),
            ("receiver: {denoisers: [ml, ml]}\n", "appear twice"),
            ("model: {train: {epoch: 3}}\n", "Unknown config key `model.train.epoch`"),
            ("- just a list\n", "mapping"),
        ],
    )
    def test_errors_name_the_key(self, tmp_path, text, match):
        with pytest.raises(ConfigError, match=match):
            load_config(write(tmp_path, text))

    @pytest.mark.parametrize("bad", ["sweep.draws", "=3", "sweep.draws=[1"])
    def test_malformed_override(self, tmp_path, bad):
        with pytest.raises(ConfigError, match="verride"):
            load_config(write(tmp_path, "seed: 0\n"), [bad])

    def test_missing_file(self, tmp_path):
        with pytest.raises(ConfigError, match="not found"):
            load_config(tmp_path / "nope.yaml")

    def test_shipped_configs_load(self):
        for name in (
            "quickstart",
            "cifar10_resnet20_awgn",
            "paper_resnet34_inference",
            "league_cifar10_e2e",
            "league_cifar10_hardened",
        ):
            cfg = load_config(f"configs/{name}.yaml", ["data.root=/tmp"])
            assert cfg.name


def test_compare_labels_must_be_path_safe(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("transmitter:\n  compare:\n    - {label: a/b, scheme: analog}\n")
    with pytest.raises(ConfigError, match="compare\\[0\\].label"):
        load_config(p)
