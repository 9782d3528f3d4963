"""Source coding: uniform quantization and raw float bit patterns, bit-exact round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from airmodel.transmitter import quantize
from airmodel.transmitter.payload import flatten
from airmodel.transmitter.quantize import (
    SourceCoder,
    air_segments,
    pack_codes,
    parse_source,
    unpack_codes,
)
from tests.factories import make_state_dict


def weights(n: int = 3001, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g) * 0.1 + 0.02


class TestSourceCoder:
    @pytest.mark.parametrize("source", ["float16", "bfloat16", "float32"])
    def test_float_round_trip_is_bit_exact(self, source, device):
        """Weights on ``device`` are coded to NumPy bits on the CPU (by design)."""
        w = weights().to(device)
        coder = SourceCoder(source)
        bits, side = coder.encode(w, [1000, 1, 2000])
        assert bits.dtype == np.uint8 and bits.size == w.numel() * coder.bits
        out = coder.decode(bits, side)
        assert out.device.type == "cpu"
        assert torch.equal(out, w.cpu().to(getattr(torch, source)).float())

    @pytest.mark.parametrize("b", [2, 3, 8, 12, 16])
    def test_uniform_error_and_idempotence(self, b, device):
        """|w - ŵ| <= Δ/2 per tensor; re-quantizing ŵ gives ŵ again (bit-exact).

        Weights on ``device`` give the CPU's bits exactly (coding runs on the CPU)."""
        w = weights()
        lengths = [1000, 1, 2000]
        coder = SourceCoder(bits=b)
        bits, side = coder.encode(w.to(device), lengths)
        if device != "cpu":
            assert np.array_equal(bits, coder.encode(w, lengths)[0])
        out = coder.decode(bits, side)
        half = torch.from_numpy(np.repeat(side.step / 2, lengths)).float()
        assert torch.all((out - w).abs() <= half * (1 + 1e-5) + 1e-7)
        bits2, side2 = coder.encode(out, lengths)
        assert np.array_equal(bits, bits2)
        assert torch.equal(coder.decode(bits2, side2), out)
        np.testing.assert_allclose(side.source_mse, side.step**2 / 12)

    def test_constant_and_empty_tensors(self):
        w = torch.cat([torch.full((5,), 0.3), torch.zeros(0), weights(7)])
        coder = SourceCoder("q8")
        bits, side = coder.encode(w, [5, 0, 7])
        out = coder.decode(bits, side)
        assert torch.equal(out[:5], torch.full((5,), 0.3))

    def test_bit_order_is_msb_first(self):
        assert pack_codes(np.array([1, 8], dtype=np.uint16), 4).tolist() == [
            0,
            0,
            0,
            1,
            1,
            0,
            0,
            0,
        ]
        bits, _ = SourceCoder("float32").encode(torch.tensor([1.0]))
        assert "".join(map(str, bits)) == f"{0x3F800000:032b}"
        bits, _ = SourceCoder("float16").encode(torch.tensor([-2.0]))
        assert "".join(map(str, bits)) == f"{0xC000:016b}"

    def test_pack_unpack_all_codes(self):
        for b in (2, 7, 16):
            codes = np.arange(2**b, dtype=np.uint16)
            assert np.array_equal(unpack_codes(pack_codes(codes, b), b), codes)

    def test_chunked_loops_match_one_shot(self, monkeypatch):
        """Chunks of 7 weights (odd, not dividing the tensors) change nothing."""
        w = weights(3001)
        coder = SourceCoder("q5")
        bits, side = coder.encode(w, [1000, 2001])
        ref = coder.decode(bits, side)
        monkeypatch.setattr(quantize, "CODE_CHUNK", 7)
        bits7, side7 = coder.encode(w, [1000, 2001])
        assert np.array_equal(bits7, bits)
        assert torch.equal(coder.decode(bits7, side7), ref)

    def test_segments_from_spec(self):
        sd = make_state_dict()
        vector, spec = flatten(sd)
        lengths = air_segments(spec, spec.num_air)
        assert sum(lengths) == spec.num_air
        assert lengths == [sd[n].numel() for n in spec.air_names]
        with pytest.raises(ValueError, match="spec"):
            air_segments(spec, spec.num_air + 1)

    def test_bad_args(self):
        with pytest.raises(ValueError, match="`bits` must be in \\[2, 16\\]"):
            SourceCoder(bits=1)
        with pytest.raises(ValueError, match="bits"):
            SourceCoder("q17")
        with pytest.raises(ValueError, match="source"):
            SourceCoder("int8")
        with pytest.raises(TypeError, match="bits"):
            SourceCoder(bits=True)
        assert parse_source("q4") == ("uniform", 4)
        assert parse_source("bfloat16") == ("bfloat16", 16)
