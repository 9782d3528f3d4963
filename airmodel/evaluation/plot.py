# SPDX-License-Identifier: Apache-2.0
"""Accuracy-versus-SNR plot (mean ± std per curve) from result rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["summarize", "plot_accuracy"]


def summarize(
    rows: Sequence[dict[str, Any]],
    x: str = "esno_db",
    curve: str = "denoiser",
    y: str = "accuracy",
) -> dict[str, dict]:
    """``{curve: {"x": [...], "mean": [...], "std": [...], "n": [...]}}``."""
    groups: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[r[curve]][float(r[x])].append(float(r[y]))
    out = {}
    for name, by_x in groups.items():
        xs = sorted(by_x)
        out[name] = {
            "x": xs,
            "mean": [float(np.mean(by_x[v])) for v in xs],
            "std": [float(np.std(by_x[v])) for v in xs],
            "n": [len(by_x[v]) for v in xs],
        }
    return out


def plot_accuracy(
    rows: Sequence[dict[str, Any]],
    path: str | Path,
    *,
    title: str = "",
    clean_accuracy: float | None = None,
    x: str = "esno_db",
    curve: str = "denoiser",
    xlabel: str = "Es/N0 [dB]",
    labels: dict[str, str] | None = None,
) -> Path:
    """Write a PNG of accuracy vs ``x`` with one mean ± std curve per ``curve``.

    Draws on its own :class:`~matplotlib.figure.Figure` with an Agg canvas:
    pyplot, its figure registry and the process's backend are left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, s in summarize(rows, x=x, curve=curve).items():
        mean, std = np.array(s["mean"]) * 100, np.array(s["std"]) * 100
        label = (labels or {}).get(name, name)
        ax.errorbar(s["x"], mean, yerr=std, marker="o", ms=3, capsize=2, label=label)
    if clean_accuracy is not None:
        ax.axhline(
            clean_accuracy * 100,
            color="k",
            ls="--",
            lw=0.8,
            label=f"clean ({clean_accuracy * 100:.1f}%)",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy [%]")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    tmp.replace(path)
    return path
