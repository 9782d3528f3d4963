"""Fuzzing (hypothesis): random state dicts (dtypes, shapes, empty and 0-d tensors,
shared and non-contiguous tensors, NaN/inf entries) either come back through a
noise-free double-precision link bit-exactly (float64 tensors: within 4 ulp), or are refused with a UserError that
names the tensor; never NaN rows or a raw exception."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import strategies as st

from airmodel.errors import UserError
from airmodel.link import Link
from tests.fuzzing import fast

DTYPES = [
    torch.float32, torch.float64, torch.float16, torch.bfloat16,
    torch.int64, torch.int32, torch.uint8, torch.bool,
]  # fmt: skip
NAMES = ["conv.weight", "fc.bias", "bn.weight", "bn.running_mean", "bn.running_var",
         "bn.num_batches_tracked", "head.weight", "emb"]  # fmt: skip


def src_ok(sd):
    """Some entry can be viewed (has a dimension)."""
    return any(v.dim() for v in sd.values())


@st.composite
def state_dicts(draw):
    """A state dict of 1-6 entries; some shared, some views, some non-finite."""
    sd: dict[str, torch.Tensor] = {}
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    for name in names:
        kind = draw(st.sampled_from(["new", "new", "new", "shared", "view"]))
        if kind != "new" and sd and (kind == "shared" or src_ok(sd)):
            src = sd[
                draw(
                    st.sampled_from(
                        sorted(k for k in sd if kind == "shared" or sd[k].dim())
                    )
                )
            ]
            sd[name] = (
                src
                if kind == "shared"
                else src.t()
                if src.dim() == 2
                else src[..., ::2]
            )
            continue
        dtype = draw(st.sampled_from(DTYPES))
        shape = draw(st.lists(st.integers(0, 5), max_size=3))
        t = torch.randn(shape, generator=g, dtype=torch.float64) * 10 ** draw(
            st.integers(-6, 4)
        )
        if dtype == torch.bool:
            t = t > 0
        elif not dtype.is_floating_point:
            t = t.abs().round().clamp(max=200)
        t = t.to(dtype)
        if dtype.is_floating_point and t.numel() and draw(st.integers(0, 4)) == 0:
            t.view(-1)[draw(st.integers(0, t.numel() - 1))] = draw(
                st.sampled_from([math.nan, math.inf, -math.inf])
            )
        sd[name] = t
    return sd


def _round_trip_or_refused(sd, policy):
    bad = [
        k
        for k, v in sd.items()
        if v.is_floating_point() and not torch.isfinite(v).all()
    ]
    link = Link("awgn", precision="double", policy=policy)
    try:
        out, stats = link(sd, math.inf, seed=0)
    except UserError as err:  # our refusal of non-finite entries
        assert bad, f"refused a finite state dict: {err}"
        assert "non-finite" in str(err) and any(k in str(err) for k in bad)
        return
    except ValueError as err:  # an argument check: names the argument and the fix
        assert "`policy`" in str(err) and "use " in str(err), err
        return
    assert not bad, f"accepted non-finite entries in {bad}"
    assert list(out) == list(sd)
    for k, v in sd.items():
        assert out[k].dtype == v.dtype and out[k].shape == v.shape, k
        if v.dtype == torch.float64:  # w / scale * scale rounds twice in float64
            ulp = 4 * torch.finfo(torch.float64).eps * v.abs()
            assert torch.all((out[k] - v).abs() <= ulp), k
        else:
            assert torch.equal(out[k], v), k
    assert stats.weight_mse <= 1e-20 * stats.signal_power  # double-precision rounding


test_round_trip_or_refused = fast(
    _round_trip_or_refused,
    60,
    sd=state_dicts(),
    policy=st.sampled_from(["paper", "all_float"]),
)


@pytest.mark.parametrize("snr_db", [-400.0, -100.5, math.nan, -math.inf])
def test_esno_that_overflows_is_refused(snr_db):
    """Es/N0 below -100 dB (NaN rows at about -300 dB in float32) is refused."""
    sd = {"w": torch.randn(64)}
    with pytest.raises(ValueError, match="snr_db"):
        Link("awgn").transmit(sd, snr_db, seed=0)


def test_lowest_accepted_esno_gives_finite_rows():
    """At -100 dB every denoiser's rebuilt weights and statistics are finite."""
    from airmodel.receiver.denoiser import ML, MMSE, MMSEpb

    sd = {"w": torch.randn(4096) * 0.05}
    for precision in ("single", "double"):
        for channel in ("awgn", "rayleigh"):
            link = Link(channel, precision=precision)
            tx = link.transmit(sd, -100.0, seed=0)
            for den in (ML(), MMSE(), MMSEpb(lam=1.0, beta=-1.5)):
                out, stats = link.rebuild(tx, den)
                assert torch.isfinite(out["w"]).all(), (precision, channel, den)
                assert math.isfinite(stats.weight_mse) and math.isfinite(stats.wnr_db)
