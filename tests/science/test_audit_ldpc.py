"""Audit: the 5G LDPC chain equals a bare Sionna chain at the same noise draw."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import Constellation, Demapper, Mapper

from airmodel import channels
from airmodel.modulation import DigitalScheme

pytestmark = pytest.mark.science


@pytest.mark.parametrize(("m", "esno_db"), [(2, 1.0), (4, 6.0)])
def test_ldpc_chain_matches_bare_sionna(m, esno_db):
    """k = 1024, rate 1/2, N = 24 codewords near the waterfall (QPSK 1 dB, 16-QAM 6 dB).

    Same bits, same AWGN draw: the symbols are identical, and the decoded bits
    (hence BER and BLER) equal those of Sionna's encoder -> mapper -> max-log
    demapper -> 20-iteration BP decoder used directly (exact equality).
    """
    k, c = 1024, 24
    bits = np.random.default_rng(7).integers(0, 2, c * k, dtype=np.uint8)
    scheme = DigitalScheme(code_rate=0.5, k=k, num_bits_per_symbol=m)
    x, num_cw = scheme.encode_bits(bits)

    enc = LDPC5GEncoder(k, scheme.n)
    const = Constellation("qam", m)
    cw = enc(torch.from_numpy(bits.astype(np.float32)).view(c, k))
    x_bare = Mapper(constellation=const)(cw.reshape(-1, m)).reshape(-1)
    assert torch.equal(x, x_bare)

    ch = channels.get("awgn")
    ch.seed(5)
    no = 10 ** (-esno_db / 10)
    y = ch(x, no)
    llr = Demapper("maxlog", constellation=const)(y.view(c, -1), no).reshape(c, -1)
    u_bare = LDPC5GDecoder(enc, num_iter=20, hard_out=True)(llr).to(torch.uint8)
    u_bare = u_bare.numpy().reshape(-1)

    out, info, _ = scheme.rx.decode_bits(y, no, bits.size, num_cw, np.packbits(bits))
    assert np.array_equal(out, u_bare)
    bler_bare = float(np.any((u_bare != bits).reshape(c, k), axis=1).mean())
    assert 0.05 < bler_bare < 0.95, "not in the waterfall"
    assert info["bler"] == bler_bare
    assert info["bit_errors"] == int((u_bare != bits).sum())
