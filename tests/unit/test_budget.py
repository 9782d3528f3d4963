"""Bandwidth budget: pruning, mask side information, repetition, and what the receiver knows."""

from __future__ import annotations

import math

import pytest
import torch

from airmodel.config import ConfigError, load_config
from airmodel.link import Link
from airmodel.modulation.analog import AnalogScheme
from airmodel.receiver.combining import combine
from airmodel.receiver.denoiser import MMSE
from airmodel.transmitter.budget import (
    COUNT_BITS,
    BudgetScheme,
    mask_bits,
    prune_mask,
    repetitions,
)
from airmodel.transmitter.payload import flatten


def _sd(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "c1.weight": 0.1 * torch.randn(16, 3, 3, 3, generator=g),
        "c1.bias": 0.01 * torch.randn(16, generator=g),
        "c2.weight": 0.03 * torch.randn(32, 16, 3, 3, generator=g),
        "fc.weight": 0.2 * torch.randn(10, 32, generator=g),
    }


def _air(sd):
    vec, spec = flatten(sd, "paper")
    return vec[: spec.num_air], spec


def test_half_a_channel_use_is_the_plain_analog_link():
    """cu = 0.5 sends exactly the plain analog symbols: same y and no_w, bit for bit."""
    sd = _sd()
    a = Link("awgn").transmit(sd, 7.0, seed=3)
    b = Link("awgn", scheme=BudgetScheme(AnalogScheme(), 0.5)).transmit(sd, 7.0, seed=3)
    assert torch.equal(a.reception.y, b.reception.y)
    assert torch.equal(a.reception.no_w, b.reception.no_w)
    assert b.reception.known is None


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_prune_mask_keeps_largest_magnitudes(scope):
    """Global: every kept weight-tensor entry is at least as large as every pruned one;
    per layer: each weight tensor keeps round(f n_t); 1-D tensors are never pruned."""
    w, spec = _air(_sd())
    keep = prune_mask(w, spec, 0.3, scope)
    for t in spec.tensors:
        seg = keep[t.offset : t.offset + t.numel]
        if len(t.shape) < 2:
            assert bool(seg.all())
        elif scope == "layer":
            assert int(seg.sum()) == round(0.3 * t.numel)
    prunable = torch.zeros_like(keep)
    for t in spec.tensors:
        if len(t.shape) >= 2:
            prunable[t.offset : t.offset + t.numel] = True
    kept, cut = w[keep & prunable].abs(), w[~keep].abs()
    if scope == "global":
        assert float(kept.min()) >= float(cut.max())
        assert int((keep & prunable).sum()) == round(0.3 * int(prunable.sum()))


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_side_information_is_counted_in_the_budget(scope):
    """The mask costs Σ_t n_t H2(ρ_t) + 32 bits per weight tensor at 1 bit per channel
    use; weights' symbols plus mask fill the budget: within it, and keeping 1 % more of
    the weights would exceed it."""
    sd = _sd()
    w, spec = _air(sd)
    n = spec.num_air
    scheme = BudgetScheme(AnalogScheme(), 0.25, prune=scope)
    plan = scheme.plan(w, spec)
    h2 = lambda p: -(p * math.log2(p) + (1 - p) * math.log2(1 - p))  # noqa: E731
    bits = 0.0
    for t in spec.tensors:
        if len(t.shape) >= 2:
            rho = float(plan.keep[t.offset : t.offset + t.numel].double().mean())
            bits += t.numel * h2(rho) + COUNT_BITS
    assert plan.mask_bits == pytest.approx(bits, rel=1e-9)
    assert plan.channel_uses == pytest.approx(int(plan.keep.sum()) / 2 + bits, rel=1e-9)
    assert plan.channel_uses <= 0.25 * n
    frac = float(plan.keep.double().mean())
    assert frac < 0.5  # the mask eats part of the budget
    more = BudgetScheme(AnalogScheme(), 0.25, prune=scope, mask="architecture")
    free = more.plan(w, spec)
    assert free.mask_bits == 0 and free.channel_uses == pytest.approx(0.25 * n, abs=1)
    assert float(free.keep.double().mean()) > frac
    # keeping 1 % more of the weight tensors' entries breaks the budget
    prunable = sum(t.numel for t in spec.tensors if len(t.shape) >= 2)
    fixed = n - prunable
    f = (int(plan.keep.sum()) - fixed) / prunable + 0.01
    keep = prune_mask(w, spec, f, scope)
    assert int(keep.sum()) / 2 + mask_bits(keep, spec) > 0.25 * n


def test_pruned_weights_are_known_zeros_and_skip_the_prior():
    """Pruned weights come back exactly 0 after MMSE; the prior is fitted on the sent
    weights only: the kept weights equal MMSE run on them alone (1e-6)."""
    sd = _sd()
    link = Link("awgn", scheme=BudgetScheme(AnalogScheme(), 0.25, mask="architecture"))
    tx = link.transmit(sd, 3.0, seed=1)
    known = tx.reception.known
    assert known is not None and 0 < int(known.sum()) < known.numel()
    assert bool((tx.reception.no_w[known] == 0).all())
    w_hat, _ = link.denoise(tx, MMSE())
    assert bool((w_hat[known] == 0).all())
    y, no_w = tx.reception.y[~known], tx.reception.no_w[~known]
    den = MMSE()
    alone = den.denoise(
        y, no_w, den.fit_prior(y, no_w, tx.clean[~known], [(0, y.numel())])
    )
    assert torch.allclose(w_hat[~known], alone, atol=1e-6)
    sd_hat, stats = link.rebuild(tx, MMSE())
    assert float(sd_hat["c2.weight"].eq(0).double().mean()) > 0.3
    # WNR over the sent weights only: Var(w) / mean no_w of the unpruned ones
    var_w = float(tx.clean.double().var(unbiased=False))
    assert stats.wnr_db == pytest.approx(
        10 * math.log10(var_w / float(no_w.double().mean())), abs=1e-3
    )


def test_batchnorm_recalibration_keeps_pruned_weights_zero():
    """BN recalibration of a pruned, received ResNet-8 changes BN buffers only: the
    pruned weights stay zero and every tensor is finite."""
    from airmodel.models import get_model
    from airmodel.receiver.bn_recalibration import recalibrate_bn_state

    torch.manual_seed(0)
    model = get_model("resnet8", num_classes=10, in_channels=1).eval()
    sd = model.state_dict()
    link = Link("awgn", scheme=BudgetScheme(AnalogScheme(), 0.2, mask="architecture"))
    tx = link.transmit(sd, 10.0, seed=0)
    sd_hat, _ = link.rebuild(tx)
    images = torch.randn(64, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    out = recalibrate_bn_state(sd_hat, model, images)
    zero = {k: sd_hat[k].eq(0) for k in sd_hat if sd_hat[k].is_floating_point()}
    assert sum(int(z.sum()) for z in zero.values()) > 0.5 * tx.spec.num_air
    for k, z in zero.items():
        assert torch.isfinite(out[k]).all()
        if "running" not in k:
            assert bool(out[k][z].eq(0).all()), k


def test_fisher_repetitions_follow_sqrt_fisher_within_budget():
    """R_t = max(1, c sqrt(F_t)) with Σ n_t R_t = budget: F ratio 16 -> rate ratio 4
    when neither is floored; a tensor with tiny F is floored at one copy; the total
    is within one copy per tensor of the budget."""
    w, spec = _air(_sd())
    n = spec.num_air
    names = [t.name for t in spec.tensors]
    fisher = {"c1.weight": 16.0, "c1.bias": 16.0, "c2.weight": 1.0, "fc.weight": 1e-9}
    reps = repetitions(spec, 4 * n, fisher)
    rate = {
        t.name: float(reps[t.offset : t.offset + t.numel].double().mean())
        for t in spec.tensors
    }
    assert rate["fc.weight"] == 1.0
    assert rate["c1.weight"] / rate["c2.weight"] == pytest.approx(4.0, rel=0.02)
    assert 4 * n - len(names) <= int(reps.sum()) <= 4 * n
    uni = repetitions(spec, 3 * n)
    assert int(uni.sum()) == 3 * n and set(uni.tolist()) == {3}


def test_mrc_combines_by_inverse_noise():
    """Two copies with noise 1 and 3: ŵ = (3 y1 + y2)/4, no = 3/4; lost copy ignored;
    a pruned weight (0 copies) is 0 with no 0."""
    reps = torch.tensor([2, 0, 2])
    y = torch.tensor([1.0, 5.0, 2.0, 7.0])  # pass 0: w0, w2; pass 1: w0, w2
    no = torch.tensor([1.0, 1.0, 3.0, math.inf])
    w, no_w = combine(y, no, reps)
    assert w.tolist() == pytest.approx([(3 * 1 + 2) / 4, 0.0, 5.0])
    assert no_w.tolist() == pytest.approx([0.75, 0.0, 1.0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("transmitter: {scheme: digital, channel_uses_per_weight: 1.0}",
         "transmitter.channel_uses_per_weight"),
        ("transmitter: {channel_uses_per_weight: 0}", "transmitter.channel_uses_per_weight"),
        ("transmitter: {budget: {prune: random}}", "transmitter.budget.prune"),
        ("transmitter: {compare: [{label: a, scheme: analog, budget: {mask: x}}]}",
         "budget.mask"),
    ],
)  # fmt: skip
def test_bad_budget_config_names_the_key(tmp_path, text, match):
    """Bad budget settings fail with one ConfigError naming the key."""
    from airmodel.builder import build_scheme, check_components

    p = tmp_path / "c.yaml"
    p.write_text(text + "\n")
    with pytest.raises(ConfigError, match=match.replace(".", r"\.")):
        cfg = load_config(p)
        build_scheme(cfg)
        check_components(cfg)


def test_too_small_budget_is_refused():
    """A budget the always-sent 1-D tensors and the mask cannot fit: a clear error."""
    w, spec = _air(_sd())
    with pytest.raises(ValueError, match="too small"):
        BudgetScheme(AnalogScheme(), 0.002).plan(w, spec)


@pytest.mark.slow
def test_pruned_training_keeps_its_zeros_and_the_link_sends_them_as_known(tmp_path):
    """`train(prune=0.3)`: every on-air weight tensor's pruned entries are exact zeros
    after training (30 % of the weight tensors' entries kept, to one entry per tensor),
    and the link at cu = kept/2 with the architecture mask prunes exactly those zeros."""
    from airmodel.models.loading import load_weights
    from airmodel.training import train

    path = train(
        "resnet8", "digits", epochs=1, batch_size=64, lr=0.01, out_dir=tmp_path,
        device="cpu", progress=False, amp_bf16=False, max_train_samples=256,
        eval_every=0, prune=0.3, weight_noise=(0.0, 10.0),
    )  # fmt: skip
    sd, ck = load_weights(path)
    assert ck["config"]["prune"] == {"keep": 0.3, "scope": "global"}
    vec, spec = flatten(sd, "paper")
    w = vec[: spec.num_air]
    prunable = sum(t.numel for t in spec.tensors if t.on_air and len(t.shape) >= 2)
    nonzero = sum(
        int(w[t.offset : t.offset + t.numel].ne(0).sum())
        for t in spec.tensors
        if t.on_air and len(t.shape) >= 2
    )
    assert abs(nonzero - round(0.3 * prunable)) <= 1
    kept = (spec.num_air - prunable + nonzero) / spec.num_air
    link = Link(
        "awgn", scheme=BudgetScheme(AnalogScheme(), kept / 2, mask="architecture")
    )
    tx = link.transmit(sd, 10.0, seed=0)
    assert torch.equal(tx.reception.known, w.eq(0) & tx.reception.known)
    assert abs(int(tx.reception.known.sum()) - int(w.eq(0).sum())) <= 2


def test_pruner_mask_survives_updates():
    """Pruner: after apply() and an SGD step with momentum and weight decay, apply()
    again leaves exactly the initial mask's zeros in every weight tensor (30 % kept,
    global)."""
    from airmodel.models import get_model
    from airmodel.training.pruning import Pruner

    torch.manual_seed(0)
    model = get_model("resnet8", num_classes=10, in_channels=1)
    pruner = Pruner(model, 0.3)
    pruner.apply()
    zeros = {n: p.detach().eq(0).clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(8, 1, 8, 8)).square().mean().backward()
        opt.step()
        pruner.apply()
    for n, p in model.named_parameters():
        if p.dim() >= 2:  # weight tensors: the mask's zeros, no more, no fewer
            assert torch.equal(p.detach().eq(0), zeros[n]), n
    assert pruner.kept == pytest.approx(0.3, abs=0.01)
    with pytest.raises(ValueError, match="prune"):
        Pruner(model, 0.0)


def test_best_scheme_table_pairs_draws_and_brackets_the_margin(tmp_path):
    """Best scheme per (cu, Es/N0) among those at that cu; the margin over the runner-up
    is the mean paired difference (here 0.1 on every draw: interval exactly [0.1, 0.1]);
    a cu with one scheme has no margin; the Markdown and the PNG are written."""
    from airmodel.evaluation.bandwidth import (
        best_scheme_table,
        markdown_table,
        plot_best,
    )

    rows = [
        {"scheme": s, "channel_uses_per_weight": cu, "esno_db": 0.0, "draw": d,
         "denoiser": "ml", "accuracy": a + 0.01 * d}
        for s, cu, a in (("a1", 1.0, 0.8), ("q4", 1.0, 0.7), ("a0.5", 0.5, 0.6))
        for d in range(4)
    ]  # fmt: skip
    rows.append({**rows[0], "denoiser": "mmse", "accuracy": 0.0})
    table = best_scheme_table(rows, "ml")
    one, two = table
    assert one["channel_uses_per_weight"] == 0.5 and one["runner_up"] == ""
    assert math.isnan(one["margin"])
    assert two["best"] == "a1" and two["runner_up"] == "q4" and two["draws"] == 4
    assert two["margin"] == pytest.approx(0.1)
    assert two["margin_lo"] == pytest.approx(0.1) and two["margin_hi"] == pytest.approx(
        0.1
    )
    assert two["ew_n0_db"] == pytest.approx(0.0)
    assert (
        "| 1 | 0 | 0.00 | a1 | 81.5 % | q4 | +10.0 (+10.0, +10.0) | 4 |"
        in markdown_table(table)
    )
    assert plot_best(table, tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


def test_crossing_table_interpolates_and_converts_to_energy_per_weight():
    """Accuracy 0.5 at 0 dB, 1.0 at 10 dB on every draw: 80 % at 6 dB exactly, interval
    (6, 6); at cu = 2 that is Ew/N0 = 6 + 3.01 = 9.01 dB."""
    from airmodel.evaluation.bandwidth import crossing_table

    rows = [
        {"scheme": "a2", "channel_uses_per_weight": 2.0, "esno_db": x, "draw": d,
         "denoiser": "ml", "accuracy": a}
        for x, a in ((0.0, 0.5), (10.0, 1.0))
        for d in range(3)
    ]  # fmt: skip
    text = crossing_table(rows, "ml", 0.8)
    assert "| a2 | 2 | 6.00 (6.00, 6.00) | 9.01 | 3 |" in text


@pytest.mark.parametrize("mask", ["architecture", "side_info"])
def test_keep_prunes_then_repeats_survivors_within_the_budget(mask):
    """`keep=0.5`: the largest half of the weight tensors' entries (global ranking)
    is kept and repeated to fill the budget (mask included): copies sum to
    floor(2 (cu N - mask uses)) less at most one per tensor (floors), pruned
    weights get none. cu 0.5 with the architecture mask (survivors sent 1-2 times);
    cu 2 with the mask as side information (about one bit, i.e. one channel use,
    per weight at keep 0.5)."""
    w, spec = _air(_sd())
    n = spec.num_air
    cu = 0.5 if mask == "architecture" else 2.0
    s = BudgetScheme(AnalogScheme(), cu, mask=mask, keep=0.5)
    plan = s.plan(w, spec)
    assert torch.equal(plan.keep, prune_mask(w, spec, 0.5))
    assert bool((plan.reps[~plan.keep] == 0).all())
    kept = plan.reps[plan.keep]
    assert int(kept.min()) >= 1 and int(kept.max()) <= (2 if cu == 0.5 else 8)
    uses = plan.mask_bits if mask == "side_info" else 0.0
    dims = math.floor(2 * (cu * n - uses) + 1e-9)
    assert dims - len(spec.tensors) < int(plan.reps.sum()) <= dims  # floor per tensor
    assert plan.channel_uses <= cu * n + 1e-9
    if mask == "architecture":
        assert plan.mask_bits == 0.0
    else:
        assert plan.mask_bits == pytest.approx(mask_bits(plan.keep, spec))


def test_keep_one_is_plain_expansion_and_too_large_keep_is_refused():
    """keep=1 at cu 1 sends what cu 1 alone sends (bit for bit); keep=0.9 at cu 0.25
    cannot fit: the error names `budget.keep` and the fix."""
    sd = _sd()
    a = Link("awgn", scheme=BudgetScheme(AnalogScheme(), 1.0)).transmit(sd, 3.0, seed=1)
    b = Link("awgn", scheme=BudgetScheme(AnalogScheme(), 1.0, keep=1.0)).transmit(
        sd, 3.0, seed=1
    )
    assert torch.equal(a.reception.y, b.reception.y)
    assert torch.equal(a.reception.no_w, b.reception.no_w)
    w, spec = _air(sd)
    with pytest.raises(ValueError, match=r"Lower `budget.keep`"):
        BudgetScheme(AnalogScheme(), 0.25, keep=0.9).plan(w, spec)


def test_keep_with_fisher_expansion_spends_the_budget_on_survivors():
    """Fisher expansion over the kept weights: a more sensitive tensor's survivors get
    at least as many copies; the total fills the budget and pruned entries get none."""
    w, spec = _air(_sd())
    s = BudgetScheme(AnalogScheme(), 1.0, keep=0.5, expansion="fisher", mask="architecture")
    assert s.needs_sensitivity
    s.set_sensitivity({"c1.weight": 100.0, "c1.bias": 100.0, "c2.weight": 1.0, "fc.weight": 1.0})
    plan = s.plan(w, spec)
    assert spec.num_air * 2 - len(spec.tensors) < int(plan.reps.sum()) <= spec.num_air * 2
    assert bool((plan.reps[~plan.keep] == 0).all())
    off = {t.name: t for t in spec.tensors}
    c1 = plan.reps[off["c1.weight"].offset : off["c1.weight"].offset + off["c1.weight"].numel]
    c2 = plan.reps[off["c2.weight"].offset : off["c2.weight"].offset + off["c2.weight"].numel]
    assert float(c1[c1 > 0].double().mean()) > float(c2[c2 > 0].double().mean())


@pytest.mark.parametrize(("name", "keep"), [("prune50", 0.5), ("prune35", 0.35)])
def test_committed_pruned_checkpoints_are_sent_with_their_own_zeros(name, keep):
    """The pruning-aware hardened ResNet-20s (checkpoints/README.md): exactly
    round(keep * 270,896) nonzero weight-tensor entries, and the link's mask at
    `budget.keep` prunes exactly their zeros, so `mask: architecture` costs nothing."""
    from pathlib import Path

    from airmodel.models.loading import load_weights

    root = Path(__file__).resolve().parents[2]
    sd, _ = load_weights(root / "checkpoints" / f"resnet20_cifar10jpeg_{name}_hardened.pt")
    w, spec = _air(sd)
    prunable = torch.zeros(spec.num_air, dtype=torch.bool)
    for t in spec.tensors:
        if t.on_air and len(t.shape) >= 2:
            prunable[t.offset : t.offset + t.numel] = True
    assert int(prunable.sum()) == 270_896
    assert int((w.ne(0) & prunable).sum()) == round(keep * 270_896)
    plan = BudgetScheme(AnalogScheme(), 0.5, mask="architecture", keep=keep).plan(w, spec)
    assert torch.equal(~plan.keep, w.eq(0) & prunable)
    assert plan.mask_bits == 0.0 and plan.channel_uses <= 0.5 * spec.num_air


def test_bandwidth_cli_merges_folders_and_refuses_a_repeated_label(capsys):
    """`python -m airmodel.evaluation.bandwidth A B`: the schemes of both committed
    digits folders in one table (the LDPC rows at cu 2 and 4 join the analog ones); the
    same folder twice is refused with one line naming the repeated labels."""
    from pathlib import Path

    from airmodel.evaluation.bandwidth import main as bw_main

    data = Path(__file__).resolve().parents[2] / "docs" / "data"
    a, b = str(data / "bandwidth_digits"), str(data / "bandwidth_digits_ldpc")
    bw_main([a, b, "--receiver", "ml+bn500", "--matrix"])
    out = capsys.readouterr().out
    assert "q8-ldpc-r0.5-16qam" in out and "a0.5" in out
    with pytest.raises(SystemExit, match="also in an earlier folder"):
        bw_main([a, a])
