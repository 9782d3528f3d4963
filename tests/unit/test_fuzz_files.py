"""Fuzzing (hypothesis): every flipped, inserted or cut byte of a sealed checkpoint
(final.pt / last.pt) or sealed results text is detected; nothing unpickles first."""

from __future__ import annotations

import io

import pytest
import torch
from hypothesis import strategies as st

from airmodel.errors import CorruptFileError
from airmodel.integrity import dumps_sealed, loads_sealed
from airmodel.training import read_checkpoint, save_atomic
from tests.factories import make_state_dict
from tests.fuzzing import fast


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """Bytes of a sealed checkpoint (state dict, optimizer-like state, metadata)."""
    sd = make_state_dict(layers=1, width=4)
    obj = {
        "state_dict": sd,
        "model_name": "resnet8",
        "test_accuracy": 0.875,
        "config": {"lr": 5e-4, "epochs": 3, "init_from": None},
        "rng_state": torch.Generator().manual_seed(0).get_state(),
    }
    path = save_atomic(obj, tmp_path_factory.mktemp("ck") / "final.pt")
    return path.read_bytes()


def damage(data: bytes, how: str, pos: int, byte: int) -> bytes:
    """Flip (xor ``byte``), insert ``byte`` at, or cut the file at ``pos``."""
    pos %= len(data)
    if how == "flip":
        return data[:pos] + bytes([data[pos] ^ byte]) + data[pos + 1 :]
    if how == "insert":
        return data[:pos] + bytes([byte]) + data[pos:]
    return data[:pos]


DAMAGE = dict(
    how=st.sampled_from(["flip", "insert", "cut"]),
    pos=st.integers(0, 1 << 30),
    byte=st.integers(1, 255),
)


def _checkpoint_damage_detected(sealed, tmp_path_factory, how, pos, byte):
    path = tmp_path_factory.mktemp("bad") / "last.pt"
    path.write_bytes(damage(sealed, how, pos, byte))
    with pytest.raises(CorruptFileError, match="last.pt is corrupt"):
        read_checkpoint(path)


CHECKPOINT_DAMAGE = dict(**DAMAGE)
test_checkpoint_damage_detected = fast(
    _checkpoint_damage_detected, 60, **CHECKPOINT_DAMAGE
)


def test_undamaged_checkpoint_reads(sealed):
    ck = torch.load(io.BytesIO(sealed), weights_only=True)
    assert ck["integrity"] == "sha256-zip-comment" and ck["test_accuracy"] == 0.875


ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "esno_db": st.floats(-100, 100, allow_nan=False),
            "denoiser": st.text(max_size=8),
            "accuracy": st.one_of(st.none(), st.floats(0, 1)),
            "draw": st.integers(0, 99),
        }
    ),
    min_size=0,
    max_size=4,
)


def _results_damage_detected(rows, how, pos, byte):
    text = dumps_sealed({"meta": {"clean_accuracy": 0.9}, "rows": rows})
    assert loads_sealed(text)["rows"] == rows
    bad = damage(text.encode(), how, pos, byte)
    with pytest.raises(CorruptFileError, match="results.json is corrupt"):
        loads_sealed(bad, "results.json")


test_results_damage_detected = fast(_results_damage_detected, 60, rows=ROWS, **DAMAGE)
