"""Payload flatten/unflatten: policies, spec, bit-exact round trips, errors."""

from __future__ import annotations

import pytest
import torch

from airmodel.transmitter import (
    KeyMismatchError,
    PayloadSpec,
    check_keys,
    flatten,
    select_on_air,
    unflatten,
)
from tests.factories import TiedModel, make_state_dict


def assert_same(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert torch.equal(a[k], b[k]), k


class TestPayload:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
    def test_round_trip_bit_exact(self, dtype, device):
        """A state dict on ``device``: the payload vector is built on the CPU (by
        design), the rebuilt tensors follow the vector handed back (as in Link)."""
        sd = make_state_dict(dtype=dtype)
        sd["linear.weight"][0, 0] = torch.finfo(dtype).tiny / 4  # subnormal
        sd = {k: v.to(device) for k, v in sd.items()}
        vec, spec = flatten(sd, "all_float")
        assert vec.device.type == "cpu"
        out = unflatten(vec.to(device), spec)
        for k in sd:
            assert out[k].dtype == sd[k].dtype
            assert out[k].device.type == device
            assert torch.equal(out[k], sd[k]), k

    def test_non_contiguous_and_shared(self):
        model = TiedModel()
        sd = model.state_dict()
        sd["nc"] = torch.randn(5, 7).t()  # non-contiguous
        assert not sd["nc"].is_contiguous()
        vec, spec = flatten(sd, "all_float")
        out = unflatten(vec, spec)
        for k in sd:
            assert torch.equal(out[k], sd[k]), k
        # Tied parameters (issue #15): sent once, rebuilt as one tensor.
        assert out["a.weight"] is out["b.weight"]
        assert spec.numel == sum(v.numel() for k, v in sd.items() if k != "b.weight")

    def test_paper_policy_excludes_batchnorm_and_shortcut_bn(self):
        sd = TiedModel().state_dict()
        air = select_on_air(sd, "paper")
        assert air == {"a.weight", "b.weight", "shortcut.0.weight"}
        sd2 = make_state_dict()
        air2 = select_on_air(sd2, "paper")
        assert air2 == {
            "layer0.conv.weight",
            "layer1.conv.weight",
            "linear.weight",
            "linear.bias",
        }

    def test_all_float_and_globs(self):
        sd = make_state_dict()
        assert "layer0.bn.running_var" in select_on_air(sd, "all_float")
        assert "layer0.bn.num_batches_tracked" not in select_on_air(sd, "all_float")
        assert select_on_air(sd, ["linear.*"]) == {"linear.weight", "linear.bias"}
        assert select_on_air(sd, ["*.weight", "!*bn*"]) == {
            "layer0.conv.weight",
            "layer1.conv.weight",
            "linear.weight",
        }

    def test_off_air_tensors_come_back_unchanged(self, device):
        sd = make_state_dict()
        vec, spec = flatten(sd)
        vec = vec.to(device)
        vec[: spec.num_air] += 1.0  # disturb only what goes over the air
        out = unflatten(vec, spec)
        sd = {k: v.to(device) for k, v in sd.items()}
        for t in spec.tensors:
            assert out[t.name].device.type == device
            same = torch.equal(out[t.name], sd[t.name])
            assert same != t.on_air, t.name

    def test_spec_properties_and_json(self):
        sd = make_state_dict()
        vec, spec = flatten(sd)
        assert vec.dtype == torch.float32 and vec.shape == (spec.numel,)
        assert spec.num_air == sum(
            v.numel() for k, v in sd.items() if k in spec.air_names
        )
        assert spec.names == list(sd)
        # over-the-air tensors occupy [0, num_air)
        for t in spec.tensors:
            assert (t.offset < spec.num_air) == t.on_air
        again = PayloadSpec.from_json(spec.to_json())
        assert again == spec
        assert_same(unflatten(vec, again), sd)

    def test_wide_entries_switch_to_float64(self):
        sd = {"w": torch.randn(3, dtype=torch.float64), "n": torch.tensor(7)}
        vec, spec = flatten(sd, "all_float")
        assert vec.dtype == torch.float64
        assert_same(unflatten(vec, spec), sd)
        big = {"w": torch.randn(3), "n": torch.tensor(2**40 + 1)}
        vec, spec = flatten(big, "all_float")
        assert vec.dtype == torch.float64 and unflatten(vec, spec)["n"] == 2**40 + 1
        with pytest.raises(ValueError, match="2\\*\\*53"):
            flatten({"w": torch.randn(2), "n": torch.tensor(2**60)}, "all_float")

    def test_key_mismatch_lists_missing_and_unexpected(self):
        sd = make_state_dict()
        _, spec = flatten(sd)
        bad = dict(sd)
        bad.pop("linear.bias")
        bad["extra"] = torch.zeros(1)
        with pytest.raises(
            KeyMismatchError,
            match=r"Missing: \['linear.bias'\]; unexpected: \['extra'\]",
        ):
            flatten(bad, like=spec)
        with pytest.raises(KeyMismatchError):
            check_keys(bad, spec.names)

    def test_bad_policies(self):
        sd = make_state_dict()
        with pytest.raises(ValueError, match="selects no tensor"):
            select_on_air(sd, ["nothing*"])
        with pytest.raises(ValueError, match="non-floating.*num_batches_tracked"):
            select_on_air(sd, ["layer0.bn.*"])
        with pytest.raises(ValueError, match="policy"):
            select_on_air(sd, "everything")

    def test_wrong_vector_length(self):
        vec, spec = flatten(make_state_dict())
        with pytest.raises(ValueError, match="vector"):
            unflatten(vec[:-1], spec)
