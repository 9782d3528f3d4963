"""Federated edge learning: splits, over-the-air uplink, server, runs and configs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from airmodel.config import ConfigError, load_config
from airmodel.experiment import run_federated
from airmodel.federated import (
    OverTheAirUplink,
    aggregate,
    bn_policy_to_payload,
    dirichlet_split,
    iid_split,
    model_delta,
    paper_split,
    round_lr,
)
from airmodel.models import get_model
from airmodel.receiver.denoiser import ML
from airmodel.transmitter.payload import flatten, unflatten

LABELS = np.repeat(np.arange(10), 100)  # 1,000 images, 100 per class


def _check_partition(parts, n_total, exhaustive):
    allidx = np.concatenate(parts)
    assert len(np.unique(allidx)) == len(allidx)  # disjoint
    assert allidx.min() >= 0 and allidx.max() < n_total
    if exhaustive:
        assert len(allidx) == n_total


class TestSplits:
    def test_paper_split_sizes_disjoint_and_shards(self):
        parts = paper_split(LABELS, 8, iid_per_device=60, shard_size=30, seed=3)
        assert [len(p) for p in parts] == [90] * 8
        _check_partition(parts, len(LABELS), exhaustive=False)
        # each device's most frequent label has its shard (30) plus its IID share
        for p in parts:
            counts = np.bincount(LABELS[p], minlength=10)
            assert counts.max() >= 30
        # 8 devices over 10 classes: the shard labels are 8 distinct classes
        top = {int(np.bincount(LABELS[p], minlength=10).argmax()) for p in parts}
        assert len(top) == 8

    def test_paper_split_uses_all_like_the_paper(self):
        # CIFAR-10 shape of the paper: 20 x (2000 + 500) = 50,000 images
        labels = np.repeat(np.arange(10), 5000)
        parts = paper_split(labels, 20, 2000, 500, seed=0)
        _check_partition(parts, len(labels), exhaustive=True)

    def test_dirichlet_partition_and_skew(self):
        skewed = dirichlet_split(LABELS, 5, alpha=0.05, seed=0)
        flat = dirichlet_split(LABELS, 5, alpha=1000.0, seed=0)
        for parts in (skewed, flat):
            _check_partition(parts, len(LABELS), exhaustive=True)

        def top_share(parts):  # mean fraction of a device's images in its top class
            return np.mean(
                [np.bincount(LABELS[p], minlength=10).max() / len(p) for p in parts]
            )

        assert top_share(skewed) > 0.4
        assert top_share(flat) < 0.15

    def test_iid_partition(self):
        parts = iid_split(LABELS, 7, seed=1)
        _check_partition(parts, len(LABELS), exhaustive=True)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1

    @pytest.mark.parametrize(
        "fn",
        [
            lambda s: paper_split(LABELS, 5, 50, 20, seed=s),
            lambda s: dirichlet_split(LABELS, 5, 0.5, seed=s),
            lambda s: iid_split(LABELS, 5, seed=s),
        ],
    )
    def test_pure_function_of_seed(self, fn):
        a, b, c = fn(0), fn(0), fn(1)
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))

    def test_too_large_raises(self):
        with pytest.raises(ValueError, match="iid_per_device"):
            paper_split(LABELS, 10, 100, 10)
        with pytest.raises(ValueError, match="shard_size"):
            paper_split(LABELS, 20, 0, 60)


def _device_states(model, num, seed=0):
    """``num`` perturbed copies of ``model.state_dict()`` (all entries changed)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(num):
        sd = {}
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                sd[name] = t + 0.1 * torch.randn(t.shape, generator=g)
                if name.endswith("running_var"):
                    sd[name] = sd[name].abs()
            else:
                sd[name] = t + 3 * k + 1  # num_batches_tracked
        out.append(sd)
    return out


class TestUplinkAndServer:
    @pytest.mark.parametrize("bn_policy", ["clean", "noisy"])
    def test_noise_free_sum_equals_fedavg(self, bn_policy, device):
        """snr inf: the over-the-air round is plain FedAvg of the device state dicts.

        Uplink and server on the torch ``device`` (elementwise float64 sums, no
        matmul: same tolerances on CUDA)."""
        model = get_model("resnet8", 10, 1)
        states = _device_states(model, 3)
        global_vec, spec = flatten(model.state_dict(), bn_policy_to_payload(bn_policy))
        global_vec = global_vec.to(device)
        up = OverTheAirUplink("awgn", precision="double", device=device)
        rnd = up.round(math.inf, seed=0)
        off = torch.zeros_like(global_vec[spec.num_air :])
        deltas = []
        for sd in states:
            d = model_delta(sd, global_vec, spec)
            deltas.append(d[: spec.num_air])
            rnd.add(d[: spec.num_air])
            off += d[spec.num_air :]
        rx = rnd.receive()
        assert rx.y.device.type == rx.no_w.device.type == device
        # double precision: the noise-free air sum is exact up to double rounding
        torch.testing.assert_close(
            rx.y, torch.stack(deltas).double().sum(0), rtol=1e-12, atol=1e-15
        )
        upd = aggregate(global_vec, spec, rx, off, len(states), ML())
        assert upd.vector.device.type == device
        new = unflatten(upd.vector, spec)
        for name, t in model.state_dict().items():
            stack = torch.stack([sd[name] for sd in states])
            if t.is_floating_point():
                fedavg = stack.mean(0)
                got = new[name].cpu()
                torch.testing.assert_close(got, fedavg, rtol=1e-6, atol=1e-6)
            else:
                assert new[name].dtype == t.dtype
                assert int(new[name]) == round(stack.double().mean().item())

    def test_weight_domain_sum_equals_symbol_sum(self):
        """Summing in the weight domain == summing the devices' symbols (common scale)."""
        g = torch.Generator().manual_seed(1)
        deltas = [torch.randn(1001, generator=g) for _ in range(4)]
        up = OverTheAirUplink("awgn")
        s = torch.stack(deltas).sum(0)
        x, side = up.modulate(s)
        pad = lambda w: torch.cat([w, w.new_zeros(1)])  # noqa: E731
        sym = sum(
            torch.view_as_complex((pad(d) / side.scale).reshape(-1, 2)) for d in deltas
        )
        torch.testing.assert_close(x, sym, rtol=1e-6, atol=1e-6)

    @pytest.mark.parametrize("snr_db", [-3.0, 5.0])
    def test_noise_variance_matches_snr(self, snr_db, device):
        """Measured noise variance per weight within 2 % of mean(sum^2)/10^(snr/10).

        N = 2e5 weights (standard error of the variance estimate sqrt(2/N) = 0.3 %).
        On CUDA the noise comes from the device's generator (other draws, same law).
        """
        g = torch.Generator().manual_seed(2)
        deltas = [0.01 * torch.randn(200_000, generator=g) + 0.003 for _ in range(3)]
        deltas = [d.to(device) for d in deltas]
        rnd = OverTheAirUplink("awgn", device=device).round(snr_db, seed=7)
        for d in deltas:
            rnd.add(d)
        rx = rnd.receive()
        assert rx.y.device.type == rx.count.device.type == device
        s = torch.stack(deltas).double().sum(0)
        want = float((s**2).mean()) / 10 ** (snr_db / 10)
        assert rx.info["noise_var"] == pytest.approx(want, rel=1e-5)
        assert float(rx.no_w.mean()) == pytest.approx(want, rel=1e-5)
        measured = float((rx.y.double() - s).var())
        assert measured == pytest.approx(want, rel=0.02)
        assert torch.equal(rx.count, torch.full_like(rx.count, 3))

    def test_noise_redrawn_each_round(self, device):
        up = OverTheAirUplink("awgn", device=device)
        d = torch.ones(1000, device=device)

        def one(seed):
            rnd = up.round(0.0, seed)
            rnd.add(d)
            return rnd.receive().y

        assert torch.equal(one(1), one(1))
        assert not torch.equal(one(1), one(2))

    def test_fading_truncated_inversion(self, device):
        """Rayleigh, fast fading, threshold 0.1: P(skip) = 1 - e^-0.1 within 0.01 (N = 5e4).

        On CUDA the channel comes from the device's generator (other draws, same law)."""
        g = torch.Generator().manual_seed(3)
        deltas = [torch.randn(100_000, generator=g).to(device) for _ in range(2)]
        up = OverTheAirUplink("rayleigh", inversion_threshold=0.1, device=device)
        rnd = up.round(math.inf, seed=0)
        for d in deltas:
            rnd.add(d)
        rx = rnd.receive()
        assert rx.y.device.type == rx.count.device.type == device
        assert rx.info["skipped_fraction"] == pytest.approx(
            1 - math.exp(-0.1), abs=0.01
        )
        assert set(rx.count.unique().tolist()) == {0, 1, 2}
        assert torch.isinf(rx.no_w[rx.count == 0]).all()
        # noise-free: what arrives is the sum of the symbols that were sent
        torch.testing.assert_close(rx.y, rx.clean, rtol=1e-5, atol=1e-5)
        full = rx.count == 2
        torch.testing.assert_close(rx.clean[full], (deltas[0] + deltas[1])[full])
        # noisy: the noise per weight is P / 10^(snr/10) / c
        rnd = up.round(0.0, seed=0)
        for d in deltas:
            rnd.add(d)
        rx = rnd.receive()
        ok = rx.count > 0
        measured = float((rx.y - rx.clean)[ok].double().var())
        want = rx.info["signal_power"] / rx.info["inversion_gain"]
        assert measured == pytest.approx(want, rel=0.03)

    def test_block_fading_device_all_or_nothing(self):
        up = OverTheAirUplink(get_rayleigh(block_length=10**6), inversion_threshold=0.5)
        counts = set()
        for seed in range(8):
            rnd = up.round(10.0, seed)
            for _ in range(3):
                rnd.add(torch.ones(100))
            c = rnd.receive().count
            assert len(c.unique()) == 1  # one channel per device for the whole round
            counts.add(int(c[0]))
        assert len(counts) > 1

    def test_block_fading_inversion_law(self):
        """Rayleigh block fading, 4 devices, threshold t = 0.1, 500 rounds.

        A device drops out of a round with P = 1 - e^-t (2,000 device-rounds,
        within 4 sigma); the common gain is c = min |h_k|^2 over the m devices
        sent, and given m, |h|^2 - t ~ Exp(1), so E[c | m] = t + 1/m and
        E[c] = sum_m Binom(4, e^-t)(m) (t + 1/m) / P(m >= 1) = 0.387 (mean of
        the rounds with a sender within 4 sigma of its closed-form std).
        """
        t, k, rounds = 0.1, 4, 500
        up = OverTheAirUplink(get_rayleigh(block_length=10**6), inversion_threshold=t)
        drops, gains = 0, []
        for r in range(rounds):
            rnd = up.round(10.0, r)
            for _ in range(k):
                rnd.add(torch.ones(2))
            rx = rnd.receive()
            drops += k - int(rx.count[0])
            if int(rx.count[0]):
                gains.append(rx.info["inversion_gain"])
        p = math.exp(-t)
        assert drops / (k * rounds) == pytest.approx(
            1 - p, abs=4 * math.sqrt(p * (1 - p) / (k * rounds))
        )
        pm = {m: math.comb(k, m) * p**m * (1 - p) ** (k - m) for m in range(1, k + 1)}
        z = sum(pm.values())
        mean = sum(q * (t + 1 / m) for m, q in pm.items()) / z
        second = sum(q * ((t + 1 / m) ** 2 + 1 / m**2) for m, q in pm.items()) / z
        sd = math.sqrt((second - mean**2) / len(gains))
        assert sum(gains) / len(gains) == pytest.approx(mean, abs=4 * sd)

    def test_uplink_argument_errors(self):
        with pytest.raises(ValueError, match="inversion_threshold"):
            OverTheAirUplink("rayleigh")
        with pytest.raises(ValueError, match="inversion_threshold"):
            OverTheAirUplink("awgn", inversion_threshold=0.1)
        with pytest.raises(ValueError, match="bn_policy"):
            bn_policy_to_payload("dirty")

    def test_round_lr(self):
        assert round_lr(0.1, 0, 10, "cosine") == pytest.approx(0.1)
        assert round_lr(0.1, 5, 10, "cosine") == pytest.approx(0.05)
        assert round_lr(0.1, 7, 10, "constant") == 0.1


def get_rayleigh(**kw):
    from airmodel import channels

    return channels.get("rayleigh", **kw)


# ------------------------------------------------------------------ whole runs

TINY = [
    "experiment=federated",
    "model.name=resnet8",
    "data.dataset=digits",
    "data.test_samples=60",
    "receiver.kappa=20",
    "receiver.lam_grid=[0.99,1.0]",
    "receiver.beta_grid=[-0.5,0.0]",
    "receiver.denoisers=[ml,{name: mmse_pb, select: validation}]",
    "sweep.snr_db=[10]",
    "federated.num_devices=4",
    "federated.active=2",
    "federated.rounds=2",
    "federated.local_epochs=1",
    "federated.batch_size=25",
    "federated.iid_per_device=40",
    "federated.shard_size=10",
    "federated.eval_every=1",
    "evaluation.device=cpu",
]


def _run(tmp_path, name, extra=()):
    cfg = load_config(None, [*TINY, f"out_dir={tmp_path / name}", *extra])
    out = run_federated(cfg, progress=False)
    return json.loads((out / "results.json").read_text())["rows"], out


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_two_round_run_is_deterministic(tmp_path):
    a, out = _run(tmp_path, "a")
    b, _ = _run(tmp_path, "b")
    assert len(a) == 4  # 2 denoisers x 2 rounds
    assert _strip(a) == _strip(b)  # bit-identical rows (JSON floats)
    assert a[-1]["last"] and not a[-1]["diverged"]
    assert (out / "accuracy_vs_round.png").is_file()
    assert (out / "provenance.json").is_file()


def test_resume_skips_finished_and_restarts_partial(tmp_path):
    rows, out = _run(tmp_path, "r")
    # simulate an interruption after the first row of the second run
    journal = out / "rows.jsonl"
    journal.write_text("".join(journal.read_text().splitlines(keepends=True)[:3]))
    again, _ = _run(tmp_path, "r")
    assert _strip(again) == _strip(rows)
    assert again[:2] == rows[:2]  # the finished run was not rerun (same seconds)


def test_divergence_guard_records_not_raises(tmp_path):
    rows, _ = _run(
        tmp_path, "d", ["federated.lr=1.0e+6", "federated.schedule=constant"]
    )
    by_den = {}
    for r in rows:
        by_den.setdefault(r["denoiser"], []).append(r)
    for den_rows in by_den.values():
        last = den_rows[-1]
        assert last["diverged"] is True and last["last"] is True
        assert 0.0 <= last["accuracy"] <= 1.0
        assert not math.isfinite(last["train_loss"]) or last["train_loss"] > 20


class TestConfigErrors:
    def test_active_exceeds_devices(self):
        with pytest.raises(ConfigError, match=r"federated\.active"):
            load_config(None, [*TINY, "federated.active=5"])

    def test_split_too_large_names_key(self, tmp_path):
        cfg = load_config(
            None, [*TINY, "federated.iid_per_device=1000", f"out_dir={tmp_path}"]
        )
        with pytest.raises(ConfigError, match=r"federated\.iid_per_device"):
            run_federated(cfg, progress=False)

    @pytest.mark.parametrize(
        "override, key",
        [
            ("federated.bn_policy=dirty", "federated.bn_policy"),
            ("federated.split=shards", "federated.split"),
            ("federated.momentum=1.5", "federated.momentum"),
            ("federated.devices=3", "federated.devices"),
        ],
    )
    def test_bad_values_name_key(self, override, key):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(None, [*TINY, override])

    def test_fading_without_inversion(self, tmp_path):
        cfg = load_config(
            None,
            [
                *TINY,
                "channel.name=rayleigh",
                "channel.options={power_control: none}",
                f"out_dir={tmp_path}",
            ],
        )
        with pytest.raises(ConfigError, match="power_control"):
            run_federated(cfg, progress=False)


def test_shipped_configs_load():
    for name in (
        "feel_quickstart",
        "paper_resnet18_feel",
        "feel_paper_digits",
        "feel_paper_cifar_small",
    ):
        cfg = load_config(f"configs/{name}.yaml", ["data.root=/data"])
        assert cfg.experiment == "federated"


def test_shards_merge_to_the_full_run(tmp_path):
    """2 points x 2 receivers = 4 units; shards 1/2 + 2/2 merged == the full run."""
    from airmodel.evaluation.results import read_results
    from airmodel.evaluation.shard import merge

    extra = ["sweep.snr_db=[10, .inf]", "federated.rounds=1"]
    cfg = load_config(None, [*TINY, f"out_dir={tmp_path / 'full'}", *extra])
    run_federated(cfg, progress=False)
    sharded = load_config(None, [*TINY, f"out_dir={tmp_path / 'sh'}", *extra])
    for i in (1, 2):
        run_federated(sharded, progress=False, shard=(i, 2))
    shards = [tmp_path / "sh" / f"shard-{i}-of-2" for i in (1, 2)]
    assert all(read_results(s)[1] for s in shards)  # both shards hold units
    merge(tmp_path / "merged", shards)
    assert _strip(read_results(tmp_path / "merged")[1]) == _strip(
        read_results(tmp_path / "full")[1]
    )
