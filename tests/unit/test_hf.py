"""Hugging Face models through the Python API (issue #20, item 3): a tiny,
randomly initialized BertForSequenceClassification (no download) over the link."""

from __future__ import annotations

import pytest
import torch

from airmodel.link import Link
from airmodel.models.loading import tied_groups
from airmodel.transmitter import select_on_air

transformers = pytest.importorskip("transformers")


def off_air(sd):
    return {k for k in sd if "LayerNorm" in k}


def tiny_bert(tie: bool = True):
    config = transformers.BertConfig(
        vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=40, num_labels=2,
        tie_word_embeddings=tie,
    )  # fmt: skip
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(config).eval(), config


def test_bert_state_dict_round_trip():
    """Keys, shapes, dtypes come back; LayerNorm stays off the air (exact);
    the rebuilt state dict loads into a fresh model whose logits are close."""
    model, config = tiny_bert()
    sd = model.state_dict()
    air = select_on_air(sd, "paper")
    off = set(sd) - air
    assert off and all("LayerNorm" in k for k in off)  # position ids: not floats
    assert {k for k in sd if "LayerNorm" in k} == off
    sd_hat, stats = Link("awgn", policy="paper")(sd, snr_db=50.0, seed=0)
    assert list(sd_hat) == list(sd)
    for k, v in sd.items():
        assert sd_hat[k].shape == v.shape and sd_hat[k].dtype == v.dtype, k
    for k in off:
        assert torch.equal(sd_hat[k], sd[k]), k
    assert stats.num_air == sum(sd[k].numel() for k in air)
    assert 0 < stats.weight_mse < 1e-6
    fresh = transformers.BertForSequenceClassification(config).eval()
    fresh.load_state_dict(sd_hat)
    ids = torch.randint(0, 120, (3, 10))
    with torch.no_grad():
        ref, got = model(input_ids=ids).logits, fresh(input_ids=ids).logits
    assert torch.allclose(ref, got, atol=1e-2)


def test_bert_tied_weights_sent_once():
    """A masked-LM BERT ties the decoder to the word embeddings: the payload
    sends that tensor once and rebuilds it as one tensor under both keys."""
    config = tiny_bert()[1]
    torch.manual_seed(0)
    mlm = transformers.BertForMaskedLM(config).eval()
    sd = mlm.state_dict()
    emb, dec = (
        "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.weight",
    )
    if dec not in sd:
        pytest.skip("this transformers version does not list the tied decoder key")
    assert sd[emb].data_ptr() == sd[dec].data_ptr()
    tx = Link("awgn", policy="paper").transmit(sd, snr_db=40.0, seed=0)
    aliases = {k for g in tied_groups(mlm) for k in g[1:]}  # decoder weight and bias
    assert len(aliases) == 2
    sent = sum(v.numel() for k, v in sd.items() if k not in aliases | off_air(sd))
    assert tx.spec.num_air == sent
    sd_hat, _ = Link("awgn", policy="paper").rebuild(tx)
    assert sd_hat[dec] is sd_hat[emb]
    assert all(sd_hat[a] is sd_hat[g[0]] for g in tied_groups(mlm) for a in g[1:])
    mlm.load_state_dict(sd_hat)
    assert (
        mlm.cls.predictions.decoder.weight is mlm.bert.embeddings.word_embeddings.weight
    )


def test_local_bert_protocol_as_documented(tmp_path):
    """docs/text.md's recipe for a local fine-tuned BERT, run on a tiny random
    one saved to disk (weights + a WordPiece vocabulary; nothing downloaded):
    the same draw for every denoiser, LayerNorm off the air, accuracy in [0, 1]
    and the clean model untouched by the noisy evaluations."""
    import copy

    from airmodel.data import TextInfo
    from airmodel.data.sst2 import read_tsv
    from airmodel.evaluation.scoring import Scorer
    from airmodel.receiver.denoiser import ML, MMSE

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "great", "dull", "film"]
    (tmp_path / "vocab.txt").write_text(
        "\n".join(words + [f"w{i}" for i in range(112)])
    )
    model, _ = tiny_bert(tie=False)
    model.save_pretrained(tmp_path)
    transformers.BertTokenizer(str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    text = "label\tcontent\n1\tgreat film\n0\tdull film\n1\tgreat\n"

    # --- docs/text.md, "A fine-tuned BERT of your own" ---
    path = str(tmp_path)  # the folder with config.json, model weights, vocab.txt
    tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    bert = transformers.AutoModelForSequenceClassification.from_pretrained(
        path, local_files_only=True
    ).eval()

    class Logits(torch.nn.Module):  # token ids [B, L] -> logits [B, 2]
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, ids):
            mask = (ids != tok.pad_token_id).long()
            return self.bert(input_ids=ids, attention_mask=mask).logits

    sentences, labels = read_tsv(text, "test.tsv")
    ids = tok(sentences, padding="max_length", max_length=16, truncation=True,
              return_tensors="pt")["input_ids"]  # fmt: skip
    info = TextInfo("sst2", 2, tok.vocab_size, (0.0,), (1.0,), (16, 1))
    net = Logits(bert)
    scorer = Scorer(ids, labels, info, device="cpu", batch_size=64)
    clean = copy.deepcopy(net).state_dict()  # the transmitter's copy stays clean
    link = Link("awgn", policy="paper")  # LayerNorm stays off the air
    rows = []
    for snr_db in (0.0, 20.0):
        for draw in range(2):
            tx = link.transmit(clean, snr_db, seed=draw)  # one draw, every denoiser
            for den in (ML(), MMSE()):
                sd_hat, stats = link.rebuild(tx, den)
                rows.append(
                    (snr_db, draw, type(den).__name__, scorer.accuracy_of(sd_hat, net))
                )
    # --- end of the recipe ---

    assert len(rows) == 8 and all(0.0 <= r[3] <= 1.0 for r in rows)
    ref = Logits(bert.__class__.from_pretrained(path, local_files_only=True).eval())
    assert all(torch.equal(clean[k], v) for k, v in ref.state_dict().items())
    assert scorer.accuracy(ref) == scorer.accuracy_of(clean, net)
