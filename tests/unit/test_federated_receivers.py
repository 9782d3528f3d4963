"""Server receivers of federated runs: momentum-prior MMSE, BN refresh, shared noise."""

from __future__ import annotations

import json

import pytest
import torch

import airmodel.federated.loop as loop
from airmodel.config import load_config
from airmodel.experiment import run_federated
from airmodel.federated import OverTheAirUplink
from airmodel.receiver.denoiser import ML, MomentumMMSE, get_denoiser

N = 200_000


def _draw(seed, mean, var, no):
    g = torch.Generator().manual_seed(seed)
    s = mean + var**0.5 * torch.randn(N, generator=g, dtype=torch.float64)
    y = s + no**0.5 * torch.randn(N, generator=g, dtype=torch.float64)
    return s, y, torch.full((N,), no, dtype=torch.float64)


class TestMomentumMMSE:
    def test_registered_and_checked(self):
        assert isinstance(get_denoiser("mmse_momentum", momentum=0.5), MomentumMMSE)
        with pytest.raises(ValueError, match="momentum"):
            MomentumMMSE(momentum=1.0)

    def test_shrinkage_is_the_gaussian_posterior_mean(self):
        """Round 2's estimate is m + v/(v+no)(y-m), m = momentum * round-1 estimate.

        Round 1 (prior mean 0): the estimated variance is mean(y^2) - no. Round 2:
        s ~ N(m, v) with v = 0.5, no = 1.5 (WNR -4.8 dB), N = 2e5 weights. The
        estimated innovation variance is within 3 % of v (standard error
        sqrt(2/N)(v+no)/v = 1.3 %), the output equals the closed form to float64
        rounding, and its MSE is the Bayes MSE v*no/(v+no) = 0.375 within 3 %
        (ML's is no = 1.5).
        """
        den = MomentumMMSE(momentum=0.8)
        s1, y1, no = _draw(0, 0.0, 2.0, 1.5)
        out1 = den(y1, no)
        v1 = float((y1**2).mean()) - 1.5
        torch.testing.assert_close(out1, v1 / (v1 + 1.5) * y1)
        m = 0.8 * out1
        g = torch.Generator().manual_seed(1)
        s2 = m + 0.5**0.5 * torch.randn(N, generator=g, dtype=torch.float64)
        y2 = s2 + 1.5**0.5 * torch.randn(N, generator=g, dtype=torch.float64)
        prior = den.fit_prior(y2, no)
        assert prior.var == pytest.approx(0.5, rel=0.03)
        out2 = den.denoise(y2, no, prior)
        v = float(((y2 - m) ** 2).mean()) - 1.5
        torch.testing.assert_close(out2, m + v / (v + 1.5) * (y2 - m))
        assert float(((out2 - s2) ** 2).mean()) == pytest.approx(0.375, rel=0.03)

    def test_layer_scope_gives_each_tensor_its_variance(self):
        """Two tensors with variances 4 and 0.25, no = 1: per-tensor gains 0.8, 0.2 (3 %)."""
        g = torch.Generator().manual_seed(3)
        s = torch.cat([2 * torch.randn(N // 2, generator=g),
                       0.5 * torch.randn(N // 2, generator=g)]).double()  # fmt: skip
        y = s + torch.randn(N, generator=g, dtype=torch.float64)
        no = torch.ones(N, dtype=torch.float64)
        prior = MomentumMMSE(prior_scope="layer").fit_prior(
            y, no, segments=[(0, N // 2), (N // 2, N // 2)]
        )
        gain = prior.var / (prior.var + 1.0)
        assert float(gain[0]) == pytest.approx(0.8, rel=0.03)
        assert float(gain[-1]) == pytest.approx(0.2, rel=0.03)

    def test_noise_free_is_fedavg_and_length_is_checked(self):
        den = MomentumMMSE()
        y = torch.randn(100, dtype=torch.float64)
        assert torch.equal(den(y, torch.zeros(100, dtype=torch.float64)), y)
        assert torch.equal(den(2 * y, torch.zeros(100, dtype=torch.float64)), 2 * y)
        with pytest.raises(ValueError, match="every weight every round"):
            den(y[:50], torch.ones(50, dtype=torch.float64))


def test_uplink_noise_is_the_same_draw_for_every_receiver():
    """Same (SNR, run, round) seed, different sums (as two receivers' models give):
    the unit-variance noise (y - s) / sqrt(noise_var) is identical."""
    up = OverTheAirUplink("awgn")

    def unit_noise(sum_):
        rnd = up.round(-10.0, seed=123)
        rnd.add(sum_)
        rx = rnd.receive()
        return (rx.y.double() - sum_.double()) / rx.info["noise_var"] ** 0.5

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5000, generator=g), 3 * torch.randn(5000, generator=g) + 1
    torch.testing.assert_close(unit_noise(a), unit_noise(b), rtol=1e-4, atol=1e-4)


TINY = [
    "experiment=federated", "model.name=resnet8", "data.dataset=digits",
    "data.test_samples=60", "receiver.kappa=20", "sweep.snr_db=[0]",
    "federated.num_devices=4", "federated.active=2", "federated.rounds=2",
    "federated.local_epochs=1", "federated.batch_size=25",
    "federated.iid_per_device=40", "federated.shard_size=10",
    "federated.eval_every=1", "evaluation.device=cpu",
]  # fmt: skip


def test_receivers_share_channel_seeds_and_bn_refresh_runs_each_round(
    tmp_path, monkeypatch
):
    """Every receiver of one (SNR, run) gets the same uplink seed in every round;
    `recalibrate: N` re-estimates the BN statistics once per round on N images."""
    seeds: dict[int, list[int]] = {}
    calls = []
    real_round, real_recal = OverTheAirUplink.round, loop.recalibrate_bn

    def spy_round(self, snr_db, seed):
        seeds.setdefault(len(calls), []).append(seed)
        return real_round(self, snr_db, seed)

    def spy_recal(model, images, batch_size):
        calls.append(images.shape[0])
        return real_recal(model, images, batch_size)

    monkeypatch.setattr(OverTheAirUplink, "round", spy_round)
    monkeypatch.setattr(loop, "recalibrate_bn", spy_recal)
    dens = "[ml,mmse_momentum,{name: ml, recalibrate: 30}]"
    cfg = load_config(
        None, [*TINY, f"receiver.denoisers={dens}", f"out_dir={tmp_path / 'r'}"]
    )
    out = run_federated(cfg, progress=False)
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert {r["denoiser"] for r in rows} == {"ml", "mmse_momentum", "ml+bn30"}
    assert all(0.0 <= r["val_accuracy"] <= 1.0 for r in rows)
    assert calls == [30, 30]  # the BN-refresh receiver only, once per round
    per_receiver = [s for s in seeds.values()]
    flat = [x for s in per_receiver for x in s]
    assert len(flat) == 6 and flat[0:2] == flat[2:4]  # ml and mmse_momentum
    assert flat[4:6] == flat[0:2]  # ml+bn30
    assert ML().name == "ml"


class TestRegime:
    @staticmethod
    def _rows(accs, **extra):
        return [
            {"round": 5 * (i + 1), "accuracy": a, **extra} for i, a in enumerate(accs)
        ]

    def test_divergence_definition(self):
        from airmodel.federated.regime import is_diverged

        assert is_diverged(self._rows([0.5, 0.9, 0.1]), 10)  # back at chance
        assert not is_diverged(self._rows([0.1, 0.2, 0.1]), 10)  # never above it
        assert not is_diverged(self._rows([0.5, 0.9, 0.6]), 10)
        assert is_diverged(self._rows([0.5, 0.6], weight_mse=float("nan")), 10)
        assert is_diverged([*self._rows([0.5]), {"round": 6, "accuracy": 0.5,
                                                  "diverged": True}], 10)  # fmt: skip

    def test_crossing_at_a_share_of_the_clean_accuracy(self):
        """Mean accuracy 0.3 / 0.7 / 0.9 at -20 / -10 / 0 dB, clean 1.0: 60 % is
        reached at -12.5 dB, 80 % at -5 dB (linear in dB); gain over ml exact."""
        from airmodel.federated.regime import final_runs, regime_table

        rows = []
        for den, shift in (("ml", 0.0), ("ours", -10.0)):
            for run, jitter in enumerate((-0.01, 0.01)):
                for snr, acc in ((-20, 0.3), (-10, 0.7), (0, 0.9)):
                    rows.append(
                        {
                            "snr_db": snr + shift,
                            "denoiser": den,
                            "run": run,
                            "round": 100,
                            "accuracy": acc + jitter,
                            "last": True,
                        }
                    )
        rows += [{"snr_db": snr, "denoiser": "flat", "run": 0, "round": 100,
                  "accuracy": 0.95, "last": True} for snr in (-20, 0)]  # fmt: skip
        table = {t["denoiser"]: t for t in regime_table(final_runs(rows), 1.0)}
        # above 60 % at the lowest point: the gain is a lower bound, -12.5 - (-20)
        assert table["flat"]["gain@60%"] == pytest.approx(7.5)
        assert table["flat"]["bound@60%"] == "≥"
        # against a reference below its lowest point the gain is an upper bound
        vs_flat = {t["denoiser"]: t for t in regime_table(final_runs(rows), 1.0,
                                                          reference="flat")}  # fmt: skip
        assert vs_flat["ml"]["gain@60%"] == pytest.approx(-7.5)
        assert vs_flat["ml"]["bound@60%"] == "≤"
        assert vs_flat["flat"]["gain@60%"] == 0.0
        assert table["ml"]["snr@60%"] == pytest.approx(-12.5)
        assert table["ml"]["snr@80%"] == pytest.approx(-5.0)
        assert table["ours"]["gain@60%"] == pytest.approx(10.0)
        assert table["ml"]["runs"] == 2


def test_v1_lambda_is_chosen_on_validation_not_test():
    from airmodel.federated.regime import choose_on_validation

    finals = [
        {
            "snr_db": -40.0,
            "denoiser": "ml",
            "run": 0,
            "val_accuracy": 0.3,
            "accuracy": 0.9,
        },
        {
            "snr_db": -40.0,
            "denoiser": "a",
            "run": 0,
            "val_accuracy": 0.7,
            "accuracy": 0.1,
        },
        {
            "snr_db": -40.0,
            "denoiser": "a",
            "run": 1,
            "val_accuracy": 0.1,
            "accuracy": 0.1,
        },
        {
            "snr_db": -30.0,
            "denoiser": "ml",
            "run": 0,
            "val_accuracy": 0.9,
            "accuracy": 0.5,
        },
    ]
    assert choose_on_validation(finals, ["ml", "a"]) == {-40.0: "a", -30.0: "ml"}
    # a diverged run (no validation score) ranks last; all diverged: the first listed
    gone = [{"snr_db": -50.0, "denoiser": d, "run": 0, "val_accuracy": v,
             "accuracy": 0.1, "diverged": v is None} for d, v in
            (("ml", None), ("a", 0.2), ("b", None))]  # fmt: skip
    assert choose_on_validation(gone, ["ml", "a", "b"]) == {-50.0: "a"}
    all_gone = [{**r, "val_accuracy": None, "diverged": True} for r in gone]
    assert choose_on_validation(all_gone, ["ml", "a", "b"]) == {-50.0: "ml"}


def test_validation_families():
    """v1 labels group with ml; a prior suffix makes its own family; others stay out."""
    from airmodel.federated.regime import validation_groups

    got = validation_groups(
        ["ml", "mmse_pb(0.95)", "mmse_pb(0.9)", "mmse_pb[validation]",
         "mmse_pb(0.999)[power]", "mmse_pb(0.99)[power]", "mmse_momentum"]
    )  # fmt: skip
    assert got == {
        "mmse_pb[v1]": ["ml", "mmse_pb(0.9)", "mmse_pb(0.95)"],
        "mmse_pb[power][v1]": ["mmse_pb(0.99)[power]", "mmse_pb(0.999)[power]"],
    }


def test_gain_intervals_are_paired_over_runs():
    """Curves 10 dB apart without run-to-run noise: every resample gives the gain
    10 dB exactly (interval width 0); with noise (runs offset by -0.04/0/+0.04 and
    a run trend in one receiver), the 90 % interval contains the point
    estimate and is wider than 0.5 dB."""
    from airmodel.federated.regime import gain_intervals, regime_table

    def finals(extra, offsets=(-0.04, 0.0, 0.04)):
        out = []
        for den, accs in (("ml", (0.2, 0.4, 0.6, 0.8)), ("ours", (0.4, 0.6, 0.8, 0.9))):
            for run, noise in enumerate(offsets):
                for snr, acc in zip((-20, -10, 0, 10), accs, strict=True):
                    acc += noise + (extra * run if den == "ours" else 0.0)
                    out.append({"snr_db": snr, "denoiser": den, "run": run,
                                "accuracy": acc, "diverged": False})  # fmt: skip
        return out

    same = gain_intervals(finals(0.0, (0.0,) * 3), 1.0, "ml", resamples=200)
    g = same["ours"][0.6]
    assert (g.lo, g.hi) == pytest.approx((10.0, 10.0)) and g.resolved
    noisy = finals(0.05)
    g = gain_intervals(noisy, 1.0, "ml", resamples=500)["ours"][0.6]
    point = {t["denoiser"]: t for t in regime_table(noisy, 1.0)}["ours"]["gain@60%"]
    assert g.value == pytest.approx(point)
    assert g.lo <= point <= g.hi and g.hi - g.lo > 0.5


def test_regime_tables_use_the_shared_format():
    """The federated tables print the one rule of every table: Es/N0 crossing
    ± the spread of the runs' own crossings, gains with their interval and
    *not resolved* where it contains 0 (3 runs, a receiver equal to ML up to
    ±0.04 of run noise)."""
    from airmodel.federated.regime import (
        crossing_spreads,
        format_gains,
        format_regime,
        gain_intervals,
        regime_table,
    )  # fmt: skip

    rows = []
    for den, accs in (("ml", (0.2, 0.4, 0.6, 0.8)), ("twin", (0.2, 0.4, 0.6, 0.8))):
        for run, noise in enumerate((-0.04, 0.0, 0.04)):
            for snr, acc in zip((-20, -10, 0, 10), accs, strict=True):
                acc += noise * (1 if den == "ml" else -1)
                rows.append({"snr_db": snr, "denoiser": den, "run": run,
                             "accuracy": acc, "diverged": False})  # fmt: skip
    table = regime_table(rows, 1.0)
    spreads = crossing_spreads(rows, 1.0)
    assert spreads["ml"][0.6] > 0
    assert "±" in format_regime(table, spreads=spreads).splitlines()[2]
    gains = format_gains(table, gain_intervals(rows, 1.0, "ml", resamples=300))
    twin = next(ln for ln in gains.splitlines() if ln.startswith("| twin"))
    assert "(not resolved)" in twin and "0 (reference)" in gains
