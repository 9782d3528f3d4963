"""Fuzzing (hypothesis): configs built from the schema (airmodel/config.py) with
random corruption -- wrong types, out-of-range numbers, unknown keys, dangling
paths, malformed --set overrides -- never give a traceback through the CLI's
``main(argv)``: exit 0 (valid) or 2 with one ``airmodel: error:`` line."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from hypothesis import strategies as st

from airmodel.cli import main
from airmodel.config import ExperimentConfig
from tests.fuzzing import fast

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = str(ROOT / "checkpoints" / "resnet20_cifar10jpeg.pt")
BASE = {
    "name": "fuzz",
    "model": {"name": "resnet20", "checkpoint": CHECKPOINT},
    "data": {"dataset": "digits"},
    "receiver": {"denoisers": ["ml"]},
    "sweep": {"snr_db": [0.0], "draws": 1},
}
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["5e-4", "1E3", ".inf", "-400", "/no/such/file.pt", "cuda", "[1,"]),
    st.lists(st.integers(-3, 3), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
OPTION_KEYS = ["block_length", "k_factor", "num_bits", "code_rate", "csi",
               "power_control", "interleave", "inversion_threshold", "modulation",
               "precision", "bogus"]  # fmt: skip


def values(tp: Any, depth: int = 0) -> st.SearchStrategy:
    """Plausible values for a field of type ``tp`` (often valid, sometimes not)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return st.sampled_from(typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([values(a, depth) for a in typing.get_args(tp)])
    if origin is list:
        (inner,) = typing.get_args(tp)
        return st.lists(values(inner, depth + 1), max_size=3)
    if origin is dict:
        return st.dictionaries(
            st.sampled_from(OPTION_KEYS), st.one_of(st.integers(-2, 64), st.floats(-1, 30),
            st.sampled_from(["ls", "perfect", "qam16", "truncated_inversion", "none"]),
            st.booleans()), max_size=2,
        )  # fmt: skip
    if dataclasses.is_dataclass(tp):
        return section(tp, depth + 1) if depth < 3 else st.just({})
    if tp is type(None):
        return st.none()
    return {
        int: st.integers(-2, 3000),
        float: st.one_of(st.floats(-120, 120), st.sampled_from([math.nan, math.inf, 1e300])),
        str: st.one_of(st.text(max_size=6), st.sampled_from(["awgn", "rayleigh", "tdl",
                       "cdl", "rician", "ml", "mmse", "mmse_pb", "auto", "cpu"])),
        bool: st.booleans(),
    }[tp]  # fmt: skip


def section(cls: type, depth: int = 0) -> st.SearchStrategy:
    """A mapping with a random subset of ``cls``'s fields."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    return st.fixed_dictionaries(
        {}, optional={n: values(hints[n], depth) for n in names}
    )


@st.composite
def configs(draw) -> dict[str, Any]:
    """BASE, overlaid with random schema sections, then randomly corrupted."""
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for key, val in draw(section(ExperimentConfig)).items():
        if isinstance(val, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **val}
        else:
            cfg[key] = val
    cfg.pop("out_dir", None)  # a dry run writes nothing, but keep it in tmp anyway
    for _ in range(draw(st.integers(0, 3))):
        node = cfg
        while isinstance(node, dict) and node and draw(st.booleans()):
            child = node[draw(st.sampled_from(sorted(node, key=str)))]
            if not isinstance(child, dict):
                break
            node = child
        if not isinstance(node, dict):
            continue
        action = draw(st.sampled_from(["junk", "unknown", "dangling", "delete"]))
        if action == "unknown":
            node[draw(st.text(min_size=1, max_size=5))] = draw(JUNK)
        elif node and action == "junk":
            node[draw(st.sampled_from(sorted(node, key=str)))] = draw(JUNK)
        elif node and action == "delete":
            del node[draw(st.sampled_from(sorted(node, key=str)))]
        elif action == "dangling":
            m = cfg.setdefault("model", {})
            d = cfg.setdefault("data", {})
            if isinstance(m, dict) and isinstance(d, dict):
                target = draw(st.sampled_from(["model.checkpoint", "data.root"]))
                (m if target.startswith("model") else d)[target.split(".")[1]] = (
                    "/no/such/" + draw(st.text("abc/._", max_size=6))
                )
    return cfg


OVERRIDES = st.lists(
    st.one_of(
        st.text(max_size=12),
        st.builds(
            lambda k, v: f"{k}={v}",
            st.sampled_from(
                [
                    "seed",
                    "sweep.snr_db",
                    "sweep.snr_db[1]",
                    "model.train.lr",
                    "evaluation.device",
                    "channel.options",
                    "a.b.c",
                    "",
                    "receiver.denoisers",
                    "model",
                    "data.root",
                    "name",  # issue #26: `name=../x` climbing out of results/
                    "model.checkpoint",
                ]
            ),
            st.sampled_from(
                [
                    "5e-4",
                    "[0, ten]",
                    "{",
                    "null",
                    "-1",
                    "[-400]",
                    "x: y",
                    "cuda",
                    "[]",
                    "1e999",
                    "'",
                    "{name: ml}",
                    "../x",  # issue #26 item 9 and 7: refused with one line
                    "[1e308]",
                    "[0, 0]",
                    "'mod:fn'",
                    "/",
                ]
            ),
        ),  # fmt: skip
    ),
    max_size=2,
)


def _no_traceback(tmp_path_factory, capsys, cfg, overrides):
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    argv = ["run", str(path), "--dry-run"]
    for o in overrides:
        argv += ["--set", o]
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse: e.g. "--set" followed by an option-like text
        rc = e.code
    out = capsys.readouterr()
    assert rc in (0, 2), (rc, out.err)
    assert "Traceback" not in out.err and "internal error" not in out.err, out.err
    if rc == 2:
        errors = [ln for ln in out.err.splitlines() if ": error:" in ln]
        assert len(errors) == 1 and len(out.err.strip().splitlines()) <= 3, out.err
    else:
        assert "config OK" in out.out


test_no_traceback = fast(_no_traceback, 60, cfg=configs(), overrides=OVERRIDES)


def test_generator_reaches_valid_configs(tmp_path_factory, capsys):
    """The base config is valid, so corrupted ones test the refusals, not the base."""
    _no_traceback(tmp_path_factory, capsys, BASE, [])


def _empty_file(tmp_path_factory, capsys, text):
    """An empty (or whitespace/comment-only) config file: one line saying so."""
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(text)
    assert main(["run", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is empty (no config keys)" in err[0], err


EMPTY_TEXTS = st.builds(
    lambda ws, extra: extra + ws,
    st.text(st.sampled_from(" \n"), max_size=6),  # (a tab is not YAML)
    st.sampled_from(["", "# a comment\n", "---\n"]),
)
test_empty_config_file = fast(_empty_file, 20, text=EMPTY_TEXTS)


def test_empty_config_variants(tmp_path_factory, capsys):
    for text in ("", "\n\n", "# only a comment\n", "---\n", "  \n# x\n"):
        _empty_file(tmp_path_factory, capsys, text)
