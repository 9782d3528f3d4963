# SPDX-License-Identifier: Apache-2.0
"""The config's JSON Schema (issue #27 item 8): generated from the config dataclasses,
it accepts every shipped config and refuses what load_config refuses for key, type,
choice and range (cross-field checks stay in load_config)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airmodel.cli import main
from airmodel.config import ConfigError, load_config
from airmodel.schema import config_schema

jsonschema = pytest.importorskip("jsonschema")  # in the dev extra

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_configs_are_found():
    assert len(CONFIGS) >= 15


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_validates(path, validator):
    data = yaml.safe_load(path.read_text())
    errors = [e.message for e in validator.iter_errors(data)]
    assert not errors, errors
    load_config(path, ["data.root=x"])  # load_config agrees (a root it needs given)


@pytest.mark.parametrize(
    "override",
    [
        "sweep.draw=3",  # unknown key
        "sweep.draws=2.5",  # type
        "sweep.draws=0",  # range
        "transmitter.precision=quad",  # choice
        "receiver.denoisers=[{name: mmse, prior: psychic}]",  # nested choice
        "evaluation.threads=0",  # range of int | None
        "federated.lr=fast",  # a float given as text that is not a number
    ],
)
def test_schema_refuses_what_load_config_refuses(override, validator, tmp_path):
    src = ROOT / "configs" / "quickstart.yaml"
    with pytest.raises(ConfigError):
        load_config(src, [override])
    from airmodel.config import apply_overrides

    data = apply_overrides(yaml.safe_load(src.read_text()), [override])
    assert list(validator.iter_errors(data)), override


def test_schema_documents_fields_and_defaults():
    """Descriptions from the `#:` comments, defaults from the dataclasses."""
    props = config_schema()["properties"]
    name = props["model"]["properties"]["name"]
    assert (
        name["default"] == "resnet20"
        and "package.module:factory" in name["description"]
    )
    assert props["sweep"]["properties"]["draws"] == {  # a count or `auto` (sweep.auto)
        "anyOf": [{"type": "integer", "minimum": 1, "maximum": 1_000_000},
                  {"enum": ["auto"]}],
        "default": 3,
    }  # fmt: skip
    assert props["receiver"]["properties"]["denoisers"]["default"][0]["name"] == "ml"


def test_cli_writes_the_schema(tmp_path, capsys):
    out = tmp_path / "airmodel.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(json.dumps(config_schema()))
    assert "yaml-language-server" in capsys.readouterr().out
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"].startswith("airmodel")
