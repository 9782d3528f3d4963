# SPDX-License-Identifier: Apache-2.0
"""Accuracy-versus-SNR plots (mean ± std per curve) from result rows."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["summarize", "plot_accuracy", "plot_scheme_comparison", "ew_n0_db"]


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


def ew_n0_db(esno_db: float, channel_uses_per_weight: float) -> float:
    """Energy per weight over N0 [dB]: ``Es/N0 + 10·log10(channel uses per weight)``.

    Every scheme sends unit-energy complex symbols at Es/N0, so a weight that
    takes ``cu`` channel uses costs ``cu·Es``.
    """
    return float(esno_db) + 10.0 * math.log10(channel_uses_per_weight)


def _draw(ax, rows, x, curve, labels, clean_accuracy, xlabel) -> None:
    """Mean ± std accuracy curves of ``rows`` on ``ax``."""
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
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _save(fig, path: str | Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=120)
    tmp.replace(path)
    return path


def _figure(ncols: int = 1, figsize: tuple[float, float] = (6.4, 4.2)):
    """A Figure with its own Agg canvas and ``ncols`` axes (shared y).

    pyplot, its figure registry and the process's backend are left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, sharey=True)
    return fig, axes


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

    Draws on its own Figure with an Agg canvas (:func:`_figure`).
    """
    fig, ax = _figure()
    _draw(ax, rows, x, curve, labels, clean_accuracy, xlabel)
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def plot_scheme_comparison(
    rows: Sequence[dict[str, Any]],
    path: str | Path,
    *,
    title: str = "",
    clean_accuracy: float | None = None,
    curve: str = "curve",
    labels: dict[str, str] | None = None,
) -> Path:
    """Two panels: accuracy vs Es/N0 (equal power per channel use) and vs Ew/N0
    (equal energy per weight; rows need ``ew_n0_db``, see :func:`ew_n0_db`)."""
    fig, axes = _figure(2, (11.0, 4.2))
    _draw(axes[0], rows, "esno_db", curve, labels, clean_accuracy, "Es/N0 [dB]")
    _draw(
        axes[1], rows, "ew_n0_db", curve, labels, clean_accuracy,
        "Ew/N0 = Es/N0 + 10 log10(ch. uses/weight) [dB]",
    )  # fmt: skip
    axes[0].set_title("equal energy per channel use", fontsize=9)
    axes[1].set_title("equal energy per weight", fontsize=9)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)
