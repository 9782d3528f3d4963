# SPDX-License-Identifier: Apache-2.0
"""SST-2 (binary sentiment) from TSV files, tokenized with a vocabulary of the train split.

Two layouts are read, from a folder or a ``.tar.gz``/``.zip``-free tar archive:

- the airmodel copy (``sst2/{train,dev,test}.tsv``, header ``label<TAB>sentence``
  or ``label<TAB>content``; test is labelled);
- the GLUE release (``SST-2/{train,dev}.tsv``, header ``sentence<TAB>label``;
  GLUE's ``test.tsv`` has no labels, so split ``"test"`` reads ``dev.tsv`` there).

Columns are found by header name, so their order does not matter. Text is
lower-cased and split on white space (GLUE's text is already tokenized).
Token ids: 0 = padding, 1 = out-of-vocabulary, then the training split's words
seen at least ``min_freq`` times, most frequent first (ties alphabetical), so
the vocabulary is a pure function of ``train.tsv``.

The loader returns ``(tokens, labels, info)`` like the image datasets:
``tokens`` [N, max_len] int64 (right-padded with 0, longer sentences cut),
``labels`` [N] int64 and a :class:`TextInfo` whose ``in_channels`` is the
vocabulary size (the width of a one-hot token) and ``image_size`` is
``(max_len, 1)``, so the model registry and checkpoint checks work unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tarfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from airmodel.data.info import (
    READ_ERRORS,
    DatasetInfo,
    DatasetNotFoundError,
    corrupt_dataset,
)
from airmodel.errors import UserError

__all__ = [
    "OOV",
    "PAD",
    "SST2_CLASSES",
    "TextInfo",
    "build_vocab",
    "encode",
    "load_sst2",
    "read_tsv",
    "tokenize",
]

PAD, OOV = 0, 1
SPECIALS = ("<pad>", "<unk>")
SST2_CLASSES = ("negative", "positive")
SPLITS = ("train", "dev", "test")
_TEXT_COLUMNS = ("sentence", "content", "text")


@dataclass(frozen=True)
class TextInfo(DatasetInfo):
    """:class:`DatasetInfo` of a tokenized text dataset.

    :param vocab: Token strings, id = index (``vocab[0]`` padding, ``vocab[1]`` OOV).
    :param max_len: Tokens per sentence after padding / cutting.
    :param vocab_sha256: Digest of the vocabulary (checkpoints record it).
    """

    vocab: tuple[str, ...] = ()
    max_len: int = 0
    vocab_sha256: str = ""


def tokenize(text: str) -> list[str]:
    """Lower-case and split on white space."""
    return text.lower().split()


def build_vocab(sentences: Iterable[str], min_freq: int = 1) -> tuple[str, ...]:
    """``(<pad>, <unk>, words...)``: words seen ``min_freq`` times or more, most
    frequent first, ties in alphabetical order."""
    counts = Counter(w for s in sentences for w in tokenize(s))
    words = sorted((w for w, c in counts.items() if c >= min_freq),
                   key=lambda w: (-counts[w], w))  # fmt: skip
    return SPECIALS + tuple(words)


def encode(
    sentences: Iterable[str], vocab: tuple[str, ...], max_len: int
) -> np.ndarray:
    """Token ids [N, max_len] int64: right-padded with :data:`PAD`, cut at
    ``max_len``, unknown words :data:`OOV`."""
    index = {w: i for i, w in enumerate(vocab)}
    rows = [[index.get(w, OOV) for w in tokenize(s)][:max_len] for s in sentences]
    out = np.full((len(rows), max_len), PAD, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def read_tsv(text: str, where: str) -> tuple[list[str], np.ndarray]:
    """Sentences and labels of one TSV file's text (header names the columns).

    :raises UserError: no ``label`` or sentence column, or a label not 0/1.
    """
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise UserError(f"{where} is empty; expected a header and labelled rows.")
    header = [h.strip().lower() for h in rows[0]]
    text_col = next((header.index(c) for c in _TEXT_COLUMNS if c in header), None)
    if "label" not in header or text_col is None:
        raise UserError(
            f"{where} has header {rows[0]}; SST-2 needs a `label` column and a "
            "`sentence` (or `content`) column. GLUE's test.tsv has no labels: "
            "score on dev.tsv instead."
        )
    label_col = header.index("label")
    sentences, labels = [], []
    for n, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            label = int(row[label_col])
            sentence = row[text_col]
        except (ValueError, IndexError):
            raise UserError(
                f"{where} line {n}: expected `label<TAB>sentence` columns as in the "
                f"header, got {row!r}. Fix or re-copy the file."
            ) from None
        if label not in (0, 1):
            raise UserError(
                f"{where} line {n}: label {label} is not 0 or 1 (SST-2 is binary)."
            )
        sentences.append(sentence)
        labels.append(label)
    return sentences, np.asarray(labels, dtype=np.int64)


def _files(root: Path) -> dict[str, str]:
    """``{file name: text}`` of the TSV files of the one folder that holds train.tsv."""
    if root.is_file():
        try:
            with tarfile.open(root, "r:*") as tar:
                found = {
                    m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                    for m in tar
                    if m.isfile() and m.name.endswith(".tsv")
                }
        except READ_ERRORS as err:
            raise corrupt_dataset(root, err) from err
    elif root.is_dir():
        found = {p.relative_to(root).as_posix(): p.read_bytes()
                 for p in sorted(root.rglob("*.tsv"))}  # fmt: skip
    else:
        raise DatasetNotFoundError(
            f"SST-2 root {root} does not exist; give the folder with train.tsv "
            "(or SST-2/, sst2/ above it) or the sst2.tar.gz archive."
        )
    trains = sorted(k for k in found if PurePosixPath(k).name == "train.tsv")
    if not trains:
        raise DatasetNotFoundError(
            f"no train.tsv under {root}; SST-2 needs train.tsv and dev.tsv (GLUE "
            "layout) or train/dev/test.tsv (the airmodel copy)."
        )
    folder = PurePosixPath(trains[0]).parent
    out = {}
    for k, data in found.items():
        if PurePosixPath(k).parent == folder:
            try:
                out[PurePosixPath(k).name] = data.decode("utf-8")
            except UnicodeDecodeError as err:
                raise corrupt_dataset(root / k, err) from err
    return out


def _split_text(files: dict[str, str], split: str, root: Path) -> tuple[str, str]:
    """The text of ``split``'s file (GLUE: unlabelled test -> dev) and its name."""
    name = f"{split}.tsv"
    if split == "test" and name in files:
        first = files[name].split("\n", 1)[0].lower().split("\t")
        if "label" not in first:  # GLUE's test.tsv: index, sentence
            name = "dev.tsv"
    elif split == "test":
        name = "dev.tsv"
    if name not in files:
        raise DatasetNotFoundError(
            f"SST-2 split {split!r}: no {name} beside train.tsv under {root}."
        )
    return files[name], name


def load_sst2(
    root: str | Path,
    split: str = "train",
    max_len: int = 64,
    min_freq: int = 1,
) -> tuple[np.ndarray, np.ndarray, TextInfo]:
    """Load one SST-2 split as token ids (see the module docstring).

    :param root: Folder or tar archive holding ``train.tsv`` (at any depth).
    :param split: ``"train"``, ``"dev"`` or ``"test"`` (GLUE layout: dev).
    :param max_len: Tokens kept per sentence (>= 1).
    :param min_freq: Train-split count a word needs to get its own id.
    :output tokens: [N, max_len] int64.
    :output labels: [N] int64, 0 negative, 1 positive.
    :output info: :class:`TextInfo`.
    """
    if split not in SPLITS:
        raise UserError(f"SST-2 `split` must be one of {SPLITS}; got {split!r}.")
    for key, val in (("max_len", max_len), ("min_freq", min_freq)):
        if isinstance(val, bool) or not isinstance(val, int) or val < 1:
            raise UserError(
                f"config key `data.options.{key}`: must be a whole number >= 1; "
                f"got {val!r}."
            )
    root = Path(root)
    files = _files(root)
    train_sentences, _ = read_tsv(files["train.tsv"], f"{root}: train.tsv")
    vocab = build_vocab(train_sentences, min_freq)
    text, name = _split_text(files, split, root)
    sentences, labels = read_tsv(text, f"{root}: {name}")
    tokens = encode(sentences, vocab, max_len)
    info = TextInfo(
        name="sst2",
        num_classes=2,
        in_channels=len(vocab),
        mean=(0.0,),
        std=(1.0,),
        image_size=(max_len, 1),
        classes=SST2_CLASSES,
        vocab=vocab,
        max_len=max_len,
        vocab_sha256=hashlib.sha256("\n".join(vocab).encode()).hexdigest(),
    )
    return tokens, labels, info
