"""The README's `airmodel train` examples, shrunk to a few batches (slow: `make test-all`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_readme import DATASET, _run_readme  # noqa: E402


@pytest.mark.slow
def test_cli_training_examples(tmp_path, monkeypatch, capsys):
    if not DATASET.is_file():
        pytest.skip("needs ../shared/datasets/cifar10-jpeg.tar.gz")
    ran = _run_readme(tmp_path, True, monkeypatch, capsys)
    assert [c.split()[1] for c in ran] == ["train", "train"]
    assert (tmp_path / "clone" / "runs" / "resnet20_c2" / "final.pt").is_file()
