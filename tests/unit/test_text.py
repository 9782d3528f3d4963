"""Text classification (issue #20, item 2): SST-2 reader, vocabulary, transformer,
token scoring, the `paper` policy for LayerNorm models, `airmodel train` on text."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from airmodel.data import TextInfo, list_datasets, load_dataset
from airmodel.data.sst2 import OOV, PAD, build_vocab, encode
from airmodel.errors import UserError
from airmodel.evaluation.scoring import Scorer
from airmodel.link import Link
from airmodel.models import get_model
from airmodel.transmitter import flatten, select_on_air, unflatten

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets" / "sst2.tar.gz"

POS = ["a great and moving film", "great fun", "moving , funny and great"]
NEG = ["a dull mess", "dull and boring", "boring , a mess"]


def write_sst2(folder: Path, layout: str = "airmodel") -> Path:
    """A tiny SST-2 in the airmodel copy's layout or GLUE's (test unlabelled)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [(s, 1) for s in POS] + [(s, 0) for s in NEG]
    if layout == "airmodel":
        (folder / "train.tsv").write_text(
            "label\tsentence\n" + "".join(f"{y}\t{s}\n" for s, y in rows)
        )
        for split in ("dev", "test"):
            (folder / f"{split}.tsv").write_text(
                "label\tcontent\n1\tGreat film\n0\tan unseen word\n"
            )
    else:
        (folder / "train.tsv").write_text(
            "sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows)
        )
        (folder / "dev.tsv").write_text("sentence\tlabel\ngreat film\t1\n")
        (folder / "test.tsv").write_text("index\tsentence\n0\tdull film\n")
    return folder


def test_vocabulary_and_encoding():
    """Ids: 0 pad, 1 OOV, then by frequency (ties alphabetical); cut and padded."""
    vocab = build_vocab(["b a a", "c b a"])
    assert vocab == ("<pad>", "<unk>", "a", "b", "c")
    assert build_vocab(["b a a", "c b a"], min_freq=2) == ("<pad>", "<unk>", "a", "b")
    ids = encode(["A b zz", "c c c c c"], vocab, max_len=4)
    assert ids.tolist() == [[2, 3, OOV, PAD], [4, 4, 4, 4]]
    assert ids.dtype == np.int64


@pytest.mark.parametrize("layout", ["airmodel", "glue"])
def test_sst2_reader_layouts(tmp_path, layout):
    """Both layouts, folder and tar archive; GLUE's unlabelled test falls back to dev."""
    write_sst2(tmp_path / "d" / "SST-2", layout)
    assert "sst2" in list_datasets()
    x, y, info = load_dataset("sst2", tmp_path / "d", "train", options={"max_len": 8})
    assert isinstance(info, TextInfo) and info.num_classes == 2
    assert x.shape == (6, 8) and y.tolist() == [1, 1, 1, 0, 0, 0]
    assert info.in_channels == len(info.vocab) and info.image_size == (8, 1)
    assert x[1].tolist()[:3] == [info.vocab.index("great"), info.vocab.index("fun"), 0]
    xt, yt, info_t = load_dataset("sst2", tmp_path / "d", "test")
    assert info_t.vocab == info.vocab  # the test split uses the train vocabulary
    assert yt.tolist() == ([1, 0] if layout == "airmodel" else [1])
    with tarfile.open(tmp_path / "s.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "d", arcname="sst2")
    xa, ya, _ = load_dataset("sst2", tmp_path / "s.tar.gz", "train")
    assert np.array_equal(xa[:, :8], x) and np.array_equal(ya, y)


def test_sst2_bad_input_one_line(tmp_path):
    with pytest.raises(UserError, match="needs `root`"):
        load_dataset("sst2", None)
    with pytest.raises(UserError, match="does not exist"):
        load_dataset("sst2", tmp_path / "nope")
    (tmp_path / "train.tsv").write_text("text_a\tlab\nhi\t1\n")
    with pytest.raises(UserError, match="`label` column"):
        load_dataset("sst2", tmp_path)
    (tmp_path / "train.tsv").write_text("label\tsentence\n2\thi\n")
    with pytest.raises(UserError, match="line 2: label 2 is not 0 or 1"):
        load_dataset("sst2", tmp_path)
    (tmp_path / "train.tsv").write_text("label\tsentence\n1\thi\n")
    with pytest.raises(UserError, match="max_len"):
        load_dataset("sst2", tmp_path, options={"max_len": 0})


def test_transformer_size_masking_and_scoring():
    """1,152,706 parameters for SST-2's 14,819-id vocabulary (arithmetic in the
    builder's docstring); padding changes nothing; the Scorer takes token ids."""
    d, m, v, layers = 64, 256, 14_819, 4
    per_layer = (3 * d * d + 3 * d) + (d * d + d) + (d * m + m) + (m * d + d) + 4 * d
    expected = v * d + 64 * d + layers * per_layer + 2 * d + (2 * d + 2)
    model = get_model("transformer", 2, v)
    assert sum(p.numel() for p in model.parameters()) == expected == 1_152_706
    model = get_model("transformer", 2, 50, {"max_len": 12}).eval()
    ids = torch.randint(2, 50, (5, 6))
    padded = torch.cat([ids, torch.zeros(5, 6, dtype=torch.int64)], 1)
    with torch.no_grad():
        assert torch.allclose(model(ids), model(padded), atol=1e-5)
        cls = get_model("transformer", 2, 50, {"pooling": "cls"}).eval()
        assert cls(ids).shape == (5, 2)
    info = TextInfo("t", 2, 50, (0.0,), (1.0,), (12, 1))
    labels = model(padded).argmax(1).numpy()
    scorer = Scorer(padded.numpy(), labels, info, device="cpu", batch_size=2)
    assert scorer.accuracy(model) == 1.0
    assert scorer.subset([0, 1]).accuracy(model) == 1.0
    assert Scorer(padded.numpy(), 1 - labels, info, device="cpu").accuracy(model) == 0.0


def test_token_scorer_sorts_and_trims_batches():
    """Token batches go shortest first, cut to their longest sentence: predict
    keeps the scorer's order and equals the padded full-width logits' argmax;
    loss, accuracies_of and loss_grad_of agree with a batch-of-one reference
    (float tolerance 1e-5). Batches really are trimmed (widths recorded)."""
    torch.manual_seed(1)
    model = get_model("transformer", 3, 50, {"max_len": 16, "depth": 1}).eval()
    lengths = torch.tensor([12, 1, 5, 16, 3, 7, 2, 9, 4, 11])
    ids = torch.randint(2, 50, (10, 16)) * (torch.arange(16) < lengths[:, None])
    labels = torch.randint(0, 3, (10,)).numpy()
    info = TextInfo("t", 3, 50, (0.0,), (1.0,), (16, 1))
    scorer = Scorer(ids.numpy(), labels, info, device="cpu", batch_size=3)
    with torch.no_grad():
        logits = model(ids)
    assert torch.equal(scorer.predict(model), logits.argmax(1))
    want = torch.nn.functional.cross_entropy(logits, torch.as_tensor(labels))
    assert scorer.loss_of(model.state_dict(), model) == pytest.approx(
        float(want), abs=1e-5
    )
    loss, _ = scorer.loss_grad_of(model.state_dict(), ["head.bias"], model)
    assert loss == pytest.approx(float(want), abs=1e-5)
    acc = float((logits.argmax(1).numpy() == labels).mean())
    assert scorer.accuracies_of([model.state_dict()] * 2, model) == [acc, acc]
    widths = [x.shape[1] for _, x, _ in scorer._batches()]
    assert widths == [3, 7, 12, 16]  # sorted lengths 1 2 3 | 4 5 7 | 9 11 12 | 16


def test_paper_policy_layernorm_and_tied_embedding():
    """`paper`: every float but LayerNorm parameters; position ids (a buffer)
    and the tied output head ride with the embedding, sent once."""
    model = get_model("transformer", 2, 40, {"tie_output": True, "depth": 2})
    sd = model.state_dict()
    assert "position_ids" not in sd and sd["lm_head.weight"] is not None
    air = select_on_air(sd, "paper")
    norms = {k for k in sd if ".norm" in k or k.startswith("norm.")}
    assert len(norms) == 2 * 2 * 2 + 2 and not norms & air
    assert set(sd) - air == norms
    vec, spec = flatten(sd, "paper")
    sent = sum(v.numel() for k, v in sd.items() if k not in norms | {"lm_head.weight"})
    assert spec.num_air == sent
    back = unflatten(vec, spec)
    assert back["lm_head.weight"] is back["tok.weight"]
    # A BERT-style and a GPT-style name; batch-norm still goes by running_mean.
    bert = {
        "bert.embeddings.LayerNorm.weight": torch.ones(4),
        "bert.embeddings.word_embeddings.weight": torch.ones(3, 4),
        "h.0.ln_1.bias": torch.zeros(4),
        "bn.weight": torch.ones(4),
        "bn.running_mean": torch.zeros(4),
        "linear.bias": torch.zeros(4),
    }
    assert select_on_air(bert, "paper") == {
        "bert.embeddings.word_embeddings.weight",
        "linear.bias",
    }


def test_transformer_through_the_link():
    """A noiseless-enough link returns the transformer's weights; LN exact."""
    model = get_model("transformer", 2, 30, {"tie_output": True, "depth": 1})
    sd = model.state_dict()
    sd_hat, stats = Link("awgn", policy="paper")(sd, snr_db=60.0, seed=0)
    assert sd_hat["lm_head.weight"] is sd_hat["tok.weight"]
    assert torch.equal(sd_hat["layers.0.norm1.weight"], sd["layers.0.norm1.weight"])
    assert 0 < stats.weight_mse < 1e-8


def test_train_cli_on_text(tmp_path, capsys):
    """`airmodel train --dataset sst2` runs the text trainer and writes a
    final.pt that load_checkpoint rebuilds (vocabulary size = in_channels)."""
    from airmodel.train_cli import main_train
    from airmodel.training import load_checkpoint

    data = write_sst2(tmp_path / "sst2")
    argv = ["--model", "transformer", "--dataset", "sst2", "--data-root", str(data),
            "--epochs", "2", "--batch-size", "4", "--lr", "1e-3",
            "--out", str(tmp_path / "run"), "--no-progress"]  # fmt: skip
    assert main_train(argv) == 0
    model, ck = load_checkpoint(tmp_path / "run" / "final.pt")
    assert ck["in_channels"] == model.tok.num_embeddings
    assert 0.0 <= ck["test_accuracy"] <= 1.0 and "dev_accuracy" in ck
    assert len(ck["dataset_info"]["vocab_sha256"]) == 64
    assert "epoch 2/2" in capsys.readouterr().err


def test_shared_sst2_copy():
    """The shared copy: 67,349 / 872 / 1,821 labelled rows (its README)."""
    if not SHARED.is_file():
        pytest.skip("../shared/datasets/sst2.tar.gz absent")
    sizes = {
        s: len(load_dataset("sst2", SHARED, s)[1]) for s in ("train", "dev", "test")
    }
    assert sizes == {"train": 67_349, "dev": 872, "test": 1_821}


def test_length_batches_cover_every_sentence_once():
    """Each index once; within a pool, batches hold neighbouring lengths."""
    from airmodel.training.text import length_batches

    lengths = torch.randint(1, 60, (1000,), generator=torch.Generator().manual_seed(1))
    batches = length_batches(lengths, 32, torch.Generator().manual_seed(0), pool=100)
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))
    spread = sum(int(lengths[b].max() - lengths[b].min()) for b in batches) / len(
        batches
    )
    assert spread <= 3  # random batches of 32 from 1..59 spread ~55


def test_image_trainer_refuses_text(tmp_path):
    from airmodel.training import train

    data = write_sst2(tmp_path / "sst2")
    with pytest.raises(UserError, match="train_text"):
        train("transformer", "sst2", 1, 4, 1e-3, data_root=data, out_dir=tmp_path / "o")


def test_committed_sst2_transformer():
    """checkpoints/transformer_sst2.pt: sealed, the weights trained (sha256 of the
    tensor bytes), 1,152,706 parameters; with ../shared present it scores its
    recorded test accuracy (80.23 %) again on all 1,821 test sentences, within
    2 sentences (another BLAS may flip a borderline one; measured here: exact)."""
    import hashlib
    import warnings

    from airmodel.training import load_checkpoint, read_checkpoint

    path = ROOT / "checkpoints" / "transformer_sst2.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sealed: no "no seal" warning
        ck = read_checkpoint(path)
    tensors = b"".join(v.numpy().tobytes() for v in ck["state_dict"].values())
    assert hashlib.sha256(tensors).hexdigest() == (
        "ed63617173b1726f7a26c300cb1d5e3e92a5e6e063e7d10c5e9d518ebb24d0b1"
    )
    model, ck = load_checkpoint(path)
    assert sum(p.numel() for p in model.parameters()) == 1_152_706
    assert ck["test_accuracy"] > 0.80
    if not SHARED.is_file():
        pytest.skip("../shared/datasets/sst2.tar.gz absent")
    x, y, info = load_dataset("sst2", SHARED, "test")
    assert info.vocab_sha256 == ck["dataset_info"]["vocab_sha256"]
    got = Scorer(x, y, info, device="cpu", batch_size=256).accuracy(model)
    assert abs(got - ck["test_accuracy"]) <= 2 / 1821


def test_sst2_config_dry_run():
    """configs/sst2_transformer_awgn.yaml: ML, MMSE, MMSE_pb fit; `paper` policy;
    its plan passes with data.root set to ../shared's copy (the committed checkpoint
    is found)."""
    if not SHARED.is_file():
        pytest.skip("../shared/datasets/sst2.tar.gz absent")
    from airmodel.config import load_config
    from airmodel.experiment import dry_run

    cfg = load_config(
        ROOT / "configs" / "sst2_transformer_awgn.yaml", [f"data.root={SHARED}"]
    )
    assert cfg.transmitter.policy == "paper" and cfg.data.dataset == "sst2"
    assert [d.name for d in cfg.receiver.denoisers] == ["ml", "mmse", "mmse_pb"]
    plan = dry_run(cfg)
    assert "config OK" in plan and "transformer_sst2.pt (found)" in plan


def test_text_training_resumes_and_refuses_init_from(tmp_path, capsys):
    """A finished run's last.pt is resumed (no epoch trained again, the same
    weights); other settings in the same folder are refused in one line."""
    from airmodel.train_cli import main_train
    from airmodel.training import read_checkpoint

    data = write_sst2(tmp_path / "sst2")
    argv = ["--model", "transformer", "--dataset", "sst2", "--data-root", str(data),
            "--epochs", "1", "--batch-size", "4", "--lr", "1e-3",
            "--out", str(tmp_path / "run"), "--no-progress", "--device", "cpu"]  # fmt: skip
    assert main_train(argv) == 0
    first = read_checkpoint(tmp_path / "run" / "final.pt")["state_dict"]
    capsys.readouterr()
    assert main_train(argv) == 0
    assert "epoch 1/1" not in capsys.readouterr().err  # resumed at its end
    again = read_checkpoint(tmp_path / "run" / "final.pt")["state_dict"]
    assert all(torch.equal(first[k], again[k]) for k in first)
    other = [("2e-3" if a == "1e-3" else a) for a in argv]
    assert main_train(other) == 2
    assert "other settings" in capsys.readouterr().err
    assert main_train([*argv, "--init-from", "x.pt"]) == 2
    assert "--init-from is not supported" in capsys.readouterr().err


def test_layernorm_adaptation_on_unlabelled_sentences(tmp_path):
    """Test-time adaptation of a transformer (issue #20, item 4): the receiver's
    pool is the training sentences' token ids as they are (the seeded prefix, no
    augmentation); adaptation moves only the LayerNorm affine parameters, reads
    no label (reversed labels give bit-identical weights) and lowers its
    objective (mean entropy, 20 Adam steps on a noisy random transformer)."""
    from dataclasses import replace

    from airmodel.builder import build_data
    from airmodel.config import ExperimentConfig, from_dict
    from airmodel.evaluation.sweep import _adapter
    from airmodel.receiver.adaptation import (
        Adaptation,
        _objective,
        adapt_state,
        adapted_keys,
    )

    root = write_sst2(tmp_path / "sst2")
    adapt = {"steps": 5, "lr": 1e-2, "objective": "im", "images": 4, "batch_size": 4}
    cfg = from_dict(
        ExperimentConfig,
        {
            "data": {"dataset": "sst2", "root": str(root), "options": {"max_len": 8}},
            "receiver": {"kappa": 2, "denoisers": [{"name": "ml", "adapt": adapt}]},
        },
    )
    data = build_data(cfg, torch.device("cpu"))
    pool = data.validation.unlabelled
    x_tr, _, info = load_dataset("sst2", root, "train", options={"max_len": 8})
    assert pool.dtype == torch.int64 and pool.shape == (4, 8)
    rows = {tuple(r) for r in x_tr.tolist()}
    assert all(tuple(r) in rows for r in pool.tolist())  # training sentences, unchanged
    assert torch.equal(pool[:2], torch.as_tensor(data.validation.x))  # kappa prefix

    torch.manual_seed(0)
    model = get_model("transformer", 2, info.in_channels, {"max_len": 8, "depth": 2})
    sd = Link("awgn", policy="paper")(model.state_dict(), snr_db=0.0, seed=0)[0]
    dn = cfg.receiver.denoisers[0]
    seed = 5

    def stage(subsets):
        scorers = {"test": data.test, "validation": subsets(seed)}
        return _adapter(dn, model, scorers, None)(dict(sd))

    a = stage(data.subsets)
    flipped = replace(data.subsets, labels=1 - data.subsets.labels)
    b = stage(flipped)
    assert all(torch.equal(a[k], b[k]) for k in a)
    norm = set(adapted_keys(model, "norm"))
    assert len(norm) == 2 * (2 * 2 + 1)  # two per layer norm: 2 layers x 2 + final
    changed = {k for k in a if not torch.equal(a[k], sd[k])}
    assert changed and changed <= norm

    ids = torch.randint(2, info.in_channels, (32, 8))
    out = adapt_state(sd, model, ids, Adaptation(steps=20, lr=1e-2, images=32))

    def entropy(state):
        model.load_state_dict(state)
        model.eval()
        with torch.no_grad():
            return float(_objective(model(ids), "entropy"))

    assert entropy(out) < entropy(sd) - 1e-3
    with pytest.raises(ValueError, match="token ids"):
        adapt_state(sd, model, ids.float(), Adaptation())


def test_balance_shift_hand_values_and_head_only():
    """`adapt.objective: balance`: margins 3 and 1 need the shift -2 on the
    margin (delta = [+1, -1]: sigmoid(1) + sigmoid(-1) = 1, exact); 3 classes:
    the mean softmax after the shift is uniform (1e-9). On a transformer only the
    head's bias moves, and the pool's mean prediction becomes uniform (1e-5)."""
    from airmodel.config import DenoiserConfig, from_dict
    from airmodel.receiver.adaptation import Adaptation, adapt_state, balance_shift

    delta = balance_shift(torch.tensor([[0.0, 3.0], [0.0, 1.0]], dtype=torch.float64))
    assert torch.allclose(delta, torch.tensor([1.0, -1.0], dtype=torch.float64))
    z = torch.randn(50, 3, generator=torch.Generator().manual_seed(0)) * 2 + 1
    p = torch.softmax(z.double() + balance_shift(z.double()), 1).mean(0)
    assert torch.allclose(p, torch.full((3,), 1 / 3, dtype=torch.float64), atol=1e-9)

    torch.manual_seed(2)
    model = get_model("transformer", 2, 30, {"max_len": 8, "depth": 1}).eval()
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    sd["head.bias"] += torch.tensor([2.0, -2.0])  # a tilted network
    ids = torch.randint(2, 30, (40, 8))
    out = adapt_state(sd, model, ids, Adaptation(objective="balance", images=40))
    assert [k for k in sd if not torch.equal(sd[k], out[k])] == ["head.bias"]
    model.load_state_dict(out)
    with torch.no_grad():
        mean = torch.softmax(model(ids), 1).mean(0)
    assert torch.allclose(mean, torch.tensor([0.5, 0.5]), atol=1e-5)
    spec = from_dict(DenoiserConfig, {"name": "ml", "adapt": {"objective": "balance"}})
    assert spec.key == "ml+bal"
