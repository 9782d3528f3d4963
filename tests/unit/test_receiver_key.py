"""Results identity (issue #31): :class:`ReceiverKey` renders and parses the row
column ``denoiser``; the keys of shipped configs and committed results folders
round-trip, and a change to the key's fields or rendering fails here."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from airmodel.config import load_config
from airmodel.receiver.adaptation import Adaptation
from airmodel.receiver.spec import ReceiverKey, ReceiverSpec

ROOT = Path(__file__).resolve().parents[2]


def stored_labels(folder: Path) -> set[str]:
    """The ``denoiser`` values of a committed results folder's rows."""
    out = set()
    for line in (folder / "rows.jsonl").read_text().splitlines():
        rec = json.loads(line.partition(" ")[2])
        if "row" in rec and rec["row"].get("denoiser") is not None:
            out.add(rec["row"]["denoiser"])
    return out


FOLDERS = sorted(p.parent for p in (ROOT / "docs" / "data").glob("*/rows.jsonl"))
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def test_key_fields_are_pinned():
    """Renaming or adding a receiver field must decide whether it is part of the
    results identity: a field missing from both lists fails here, before it can
    silently change (or fail to change) the key that resume compares."""
    in_key = {f.name for f in dataclasses.fields(ReceiverKey)} - {"post", "label"}
    not_in_key = {"lam", "beta", "options", "recalibrate_select", "label", "adapt"}
    assert {f.name for f in dataclasses.fields(ReceiverSpec)} == (
        in_key - {"adapt"} | not_in_key | {"adapt"}
    )
    assert in_key == {
        "name", "select", "prior", "prior_scope", "noise", "recalibrate", "adapt",
        "views",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (ReceiverSpec("ml"), "ml"),
        (ReceiverSpec("mmse", noise="average", recalibrate=500), "mmse[avg-no]+bn500"),
        (ReceiverSpec("mmse_pb", select="validation"), "mmse_pb[validation]"),
        (
            ReceiverSpec(
                "mmse_pb",
                select="fit",
                prior="power",
                recalibrate=500,
                recalibrate_select=False,
            ),
            "mmse_pb[fit][power]+bn500post",
        ),  # fmt: skip
        (ReceiverSpec("mmse", prior_scope="layer"), "mmse[layer]"),
        (
            ReceiverSpec(
                "ml",
                recalibrate=500,
                views=3,
                adapt=Adaptation(objective="im", params="norm+head"),
            ),
            "ml+bn500+im10hbn+aug3",
        ),  # fmt: skip
        (ReceiverSpec("ml", adapt=Adaptation(objective="balance")), "ml+bal"),
        (ReceiverSpec("mmse_pb", lam=0.95, label="mmse_pb(0.95)"), "mmse_pb(0.95)"),
    ],
)
def test_render_exact(spec, text):
    """The rendering is frozen: these strings are stored in committed folders."""
    assert spec.key == text == ReceiverKey.of(spec).render()
    back = ReceiverKey.parse(text)
    assert back.render() == text
    if spec.label is None:
        assert back == ReceiverKey.of(spec)
    else:
        assert back.label == text


def test_parse_keeps_labels():
    """A label that is no rendered key comes back as a label, unchanged."""
    for text in ("mmse_pb[validation,k1000]", "mmse_momentum(0.97)", "a b"):
        k = ReceiverKey.parse(text)
        assert k.label == text and k.render() == text
    assert ReceiverKey.parse("ml+bn500post").label == "ml+bn500post"  # post: no select


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_keys_round_trip(path):
    """Every receiver of every shipped config: parse(render(key)) == key."""
    cfg = load_config(path, ["data.root=/nonexistent"])
    for spec in cfg.receiver.denoisers:
        key = ReceiverKey.of(spec)
        if spec.label is None:
            assert ReceiverKey.parse(key.render()) == key
        assert ReceiverKey.parse(key.render()).render() == spec.key


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_committed_folder_keys_round_trip(folder):
    """Every ``denoiser`` stored in docs/data renders back unchanged, and the
    receivers of the folder's stored config render to keys its rows hold (so a
    rerun of that config resumes them). 82 folders, 33 distinct labels."""
    labels = stored_labels(folder)
    assert labels
    for text in labels:
        assert ReceiverKey.parse(text).render() == text
    stored = ROOT / folder / "config.yaml"
    if stored.is_file():
        cfg = yaml.safe_load(stored.read_text())
        specs = [ReceiverSpec.from_plain(d) for d in cfg["receiver"]["denoisers"]]
        assert {s.key for s in specs} <= labels  # each receiver finds its rows
