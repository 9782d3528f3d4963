# SPDX-License-Identifier: Apache-2.0
"""A small pre-LN transformer encoder for sentence classification.

Token ids [B, L] (0 = padding) -> token + learned position embeddings ->
``depth`` pre-LN encoder layers (``x + attn(LN(x))``, ``x + mlp(LN(x))``) ->
final LayerNorm -> mean over the non-padding tokens (or the first token,
``pooling="cls"``) -> linear classifier. Padding is masked in attention and
pooling. With ``tie_output`` the model also carries a token-prediction head
whose weight *is* the token embedding (as BERT's MLM head); it is not used by
the classifier and is there for masked-LM pre-training and for the payload's
tied-parameter path.

Size (``dim=64, depth=4, mlp_dim=256``, SST-2 vocabulary of 14,819 ids,
``max_len=64``): 1,152,706 parameters, of which 948,416 embed tokens
(:func:`transformer` docstring has the arithmetic).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from airmodel.models.registry import register_model

__all__ = ["EncoderLayer", "TextTransformer", "transformer"]

PAD = 0


class EncoderLayer(nn.Module):
    """Pre-LN encoder layer.

    :input x: [B, L, dim] float.
    :input keep: [B, L] bool, True at real tokens.
    :output y: [B, L, dim].
    """

    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"`dim` ({dim}) must be divisible by `heads` ({heads}).")
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.fc2 = nn.Linear(mlp_dim, dim)
        self.drop = nn.Dropout(dropout)
        self.p = dropout

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = (
            self.qkv(self.norm1(x))
            .view(b, n, 3, self.heads, d // self.heads)
            .permute(2, 0, 3, 1, 4)
        )
        mask = keep[:, None, None, :]  # [B, 1, 1, L]: attend to real tokens only
        a = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.p if self.training else 0.0
        )
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, n, d)))
        return x + self.drop(self.fc2(self.drop(F.gelu(self.fc1(self.norm2(x))))))


class TextTransformer(nn.Module):
    """Sentence classifier; see the module docstring.

    :input tokens: [B, L] int64, L <= ``max_len``, 0 = padding.
    :output logits: [B, num_classes].
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int = 2,
        max_len: int = 64,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_dim: int = 256,
        dropout: float = 0.1,
        pooling: Literal["mean", "cls"] = "mean",
        tie_output: bool = False,
    ) -> None:
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"`pooling` must be 'mean' or 'cls'; got {pooling!r}.")
        self.pooling, self.max_len = pooling, max_len
        self.tok = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.pos = nn.Embedding(max_len, dim)
        self.register_buffer("position_ids", torch.arange(max_len), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            EncoderLayer(dim, heads, mlp_dim, dropout) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        if tie_output:
            self.lm_head = nn.Linear(dim, vocab_size, bias=False)
            self.lm_head.weight = self.tok.weight  # one tensor, two keys
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """N(0, 0.02) embeddings and linear weights, zero biases, LN (1, 0)."""
        for m in self.modules():
            if isinstance(m, nn.Linear | nn.Embedding):
                nn.init.normal_(m.weight, 0.0, 0.02, generator=generator)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.tok.weight[PAD].zero_()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.shape[1] > self.max_len:
            raise ValueError(
                f"tokens must be [B, L<={self.max_len}] ids; got {tuple(tokens.shape)}."
            )
        keep = tokens != PAD
        keep[:, 0] = True  # an empty sentence still attends to something
        x = self.tok(tokens) + self.pos(self.position_ids[: tokens.shape[1]])
        x = self.drop(x)
        for layer in self.layers:
            x = layer(x, keep)
        x = self.norm(x)
        if self.pooling == "cls":
            pooled = x[:, 0]
        else:
            w = keep.unsqueeze(-1).to(x.dtype)
            pooled = (x * w).sum(1) / w.sum(1)
        return self.head(pooled)


@register_model("transformer")
def transformer(
    num_classes: int = 2,
    in_channels: int = 30522,
    max_len: int = 64,
    dim: int = 64,
    depth: int = 4,
    heads: int = 4,
    mlp_dim: int = 256,
    dropout: float = 0.1,
    pooling: Literal["mean", "cls"] = "mean",
    tie_output: bool = False,
) -> TextTransformer:
    """Pre-LN text transformer; ``in_channels`` is the vocabulary size (the
    dataset's, see :mod:`airmodel.data.sst2`).

    Parameters for vocabulary V, classes C, ``dim`` d, ``mlp_dim`` m, depth D:
    ``V d + max_len d`` (embeddings) ``+ D (4 d^2 + 4 d + 2 d m + m + d + 4 d)``
    (qkv, proj, fc1, fc2, two LayerNorms) ``+ 2 d`` (final LN) ``+ d C + C``.
    SST-2 (V = 14,819, C = 2) with the defaults: 948,416 + 4,096 + 4 x 49,984
    + 128 + 130 = 1,152,706.
    """
    return TextTransformer(
        in_channels, num_classes, max_len, dim, depth, heads, mlp_dim, dropout,
        pooling, tie_output,
    )  # fmt: skip
