# SPDX-License-Identifier: Apache-2.0
"""Accuracy plots (mean ± std band per curve) from result rows.

Curves read at a glance:

- **colour = receiver**, the same in every figure: :func:`receiver_colour` maps the
  receiver key without its ``+…`` suffixes (``ml``, ``mmse_pb[fit][layer]``) to a
  colour-blind-safe palette (Paul Tol's *muted* and *bright* sets), an explicit table
  for the registered denoisers and a CRC-32 hash for the rest;
- **line style = the second dimension**: with / without recalibration (``+bn…``)
  by default, the scheme label of a scheme comparison (``"16qam mmse"``), or any
  row field passed as ``dash`` (federated plots: the SNR);
- **marker = the adaptation / augmentation suffix** (``+ent10``, ``+aug4``); where
  two curves of a figure would still look alike, the later one gets the next free
  marker, so no two curves share colour, line style and marker;
- at most :data:`MAX_CURVES` curves per panel: more are split into panels by
  receiver family (``mmse_pb[fit]`` and ``mmse_pb[oracle]`` are one family);
- legends outside the axes, the clean accuracy as a black dashed line, axis
  labels with units.

The ``figure_*`` functions build the Figure (tests inspect its ``Line2D``
objects, ``gid="curve"`` / ``gid="clean"``); the ``plot_*`` functions save it.
"""

from __future__ import annotations

import io
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airmodel.provenance import write_atomic
from airmodel.receiver.spec import ReceiverKey

__all__ = [
    "summarize",
    "plot_accuracy",
    "plot_scheme_comparison",
    "figure_accuracy",
    "figure_scheme_comparison",
    "receiver_colour",
    "curve_styles",
    "ew_n0_db",
    "MAX_CURVES",
]

#: Most curves one panel holds; more are faceted by receiver family.
MAX_CURVES = 8

# Paul Tol's colour-blind-safe schemes (https://personal.sron.nl/~pault/).
_MUTED = {
    "rose": "#CC6677", "indigo": "#332288", "sand": "#DDCC77", "green": "#117733",
    "cyan": "#88CCEE", "wine": "#882255", "teal": "#44AA99", "olive": "#999933",
    "purple": "#AA4499",
}  # fmt: skip
_BRIGHT = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377"]
#: Fixed colours of the registered receivers (key without ``+…`` suffixes).
KNOWN_COLOURS = {
    "ml": _MUTED["indigo"],
    "mmse": _MUTED["rose"],
    "mmse_pb": _MUTED["green"],
    "mmse_pb[fit]": _MUTED["teal"],
    "mmse_pb[validation]": _MUTED["olive"],
    "mmse_pb[oracle]": _MUTED["wine"],
    "mmse_pb[fit][layer]": _BRIGHT[0],
    "mmse_pb[validation][layer]": _BRIGHT[4],
    "svd": _MUTED["sand"],
    "js_filter": _MUTED["purple"],
    "mmse_momentum": _BRIGHT[1],
    "none": "#777777",
}
#: Palette the hash draws from for every other receiver.
HASH_PALETTE = [*_MUTED.values(), *_BRIGHT]
_DASHES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 3))]
_MARKERS = ["o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p"]
_SUFFIX = re.compile(r"\+[a-z]+")


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


def _split(key: str) -> tuple[str, str, str]:
    """``"16qam mmse_pb[fit]+bn500+aug4"`` -> (``"16qam"``, ``"mmse_pb[fit]"``,
    ``"+bn500+aug4"``): scheme label, receiver, suffixes. A ``" @ …"`` tail
    (``"ml @ 10 dB"``, see :func:`plot_accuracy`'s ``dash``) is dropped."""
    prefix, _, receiver = str(key).partition(" @ ")[0].rpartition(" ")
    k = ReceiverKey.parse(receiver)
    return prefix, k.base, k.suffixes


def family(key: str) -> str:
    """Receiver family of a curve key: ``mmse_pb[fit]+bn500`` -> ``mmse_pb``."""
    k = ReceiverKey.parse(_split(key)[1])
    return k.name if k.label is None else re.split(r"[\[+]", k.label, maxsplit=1)[0]


def receiver_colour(key: str) -> str:
    """The colour of a receiver in every plot (hex), from its key without
    suffixes: the :data:`KNOWN_COLOURS` table, else a CRC-32 hash into
    :data:`HASH_PALETTE` (stable across processes, unlike ``hash``)."""
    base = _split(key)[1]
    if base in KNOWN_COLOURS:
        return KNOWN_COLOURS[base]
    return HASH_PALETTE[zlib.crc32(base.encode()) % len(HASH_PALETTE)]


def curve_styles(
    keys: Sequence[str], dash: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """``{key: {"color", "ls", "marker"}}`` for the curves of one figure.

    Line style follows ``dash[key]`` when given (e.g. the SNR), else the scheme
    label, else recalibration (``+bn…`` dashed). Markers follow the remaining
    suffixes; a curve that would repeat another's (colour, style, marker) gets
    the next free marker.
    """
    parts = {k: _split(k) for k in keys}
    if dash is not None:
        second = {k: dash[k] for k in keys}
    elif any(p[0] for p in parts.values()):
        second = {k: parts[k][0] for k in keys}
    else:
        second = {k: "+bn" in parts[k][2] for k in keys}
    levels = sorted(set(second.values()), key=lambda v: (str(type(v)), v))
    out: dict[str, dict[str, Any]] = {}
    taken: set[tuple] = set()
    for k in keys:
        colour = receiver_colour(k)
        ls = _DASHES[levels.index(second[k]) % len(_DASHES)]
        tags = _SUFFIX.findall(parts[k][2])
        tag = "".join(t for t in tags if t not in ("+bn", "+bnpost"))
        start = 0 if not tag else 1 + zlib.crc32(tag.encode()) % (len(_MARKERS) - 1)
        for i in range(len(_MARKERS)):
            marker = _MARKERS[(start + i) % len(_MARKERS)]
            if (colour, str(ls), marker) not in taken:
                break
        taken.add((colour, str(ls), marker))
        out[k] = {"color": colour, "ls": ls, "marker": marker}
    return out


def _facets(keys: Sequence[str]) -> list[list[str]]:
    """Groups of at most :data:`MAX_CURVES` keys; families are kept together
    where they fit, packed in first-appearance order."""
    if len(keys) <= MAX_CURVES:
        return [list(keys)]
    fams: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        fams[family(k)].append(k)
    panels: list[list[str]] = []
    for members in fams.values():
        chunks = [
            members[i : i + MAX_CURVES] for i in range(0, len(members), MAX_CURVES)
        ]
        for chunk in chunks:
            fit = [p for p in panels if len(p) + len(chunk) <= MAX_CURVES]
            if fit:
                fit[0].extend(chunk)
            else:
                panels.append(list(chunk))
    return panels


def _draw(ax, summary, keys, styles, labels, clean_accuracy, xlabel, legend) -> None:
    """Mean curves with ± std bands of ``keys`` on ``ax``."""
    for name in keys:
        s, st = summary[name], styles[name]
        mean, std = np.array(s["mean"]) * 100, np.array(s["std"]) * 100
        ax.fill_between(
            s["x"], mean - std, mean + std, color=st["color"], alpha=0.15, lw=0
        )
        ax.plot(
            s["x"], mean, color=st["color"], ls=st["ls"], marker=st["marker"],
            ms=4, lw=1.4, label=(labels or {}).get(name, name), gid="curve",
        )  # fmt: skip
    if clean_accuracy is not None:
        ax.axhline(
            clean_accuracy * 100,
            color="k",
            ls="--",
            lw=0.8,
            label=f"clean ({clean_accuracy * 100:.1f}%)",
            gid="clean",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy [%]")
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(
            fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0
        )


def _figure(nrows: int = 1, ncols: int = 1, panel: tuple[float, float] = (5.0, 3.4)):
    """A Figure with its own Agg canvas and an ``nrows x ncols`` grid of axes
    (shared y; legends go right of the last column).

    pyplot, its figure registry and the process's backend are left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(
        figsize=(panel[0] * ncols + 2.6, panel[1] * nrows + 0.6), layout="constrained"
    )
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    return fig, axes


def _grid(rows, xs, curve, labels, clean_accuracy, dash):
    """Figure of one column per ``xs`` entry ``(x field, xlabel, title)`` and one
    row per facet of the curves."""
    summaries = [summarize(rows, x=x, curve=curve) for x, _, _ in xs]
    keys = list(summaries[0])
    if dash is not None:  # legend grouped by receiver, then by dash value
        keys.sort(key=lambda k: (k.partition(" @ ")[0], dash[k]))
    styles = curve_styles(keys, dash)
    panels = _facets(keys)
    fig, axes = _figure(len(panels), len(xs))
    for i, panel in enumerate(panels):
        for j, (_, xlabel, title) in enumerate(xs):
            last = j == len(xs) - 1
            ax = axes[i][j]
            _draw(ax, summaries[j], panel, styles, labels, clean_accuracy, xlabel, last)
            head = title if i == 0 else ""
            if len(panels) > 1:
                fams = sorted({family(k) for k in panel})
                head = (head + "\n" if head else "") + ", ".join(fams)
            ax.set_title(head, fontsize=9)
    return fig


def _dash_rows(rows, curve, dash, dash_unit):
    """Rows keyed by ``"<curve> @ <dash><unit>"`` and that key's dash value."""
    if dash is None:
        return rows, curve, None
    out, level = [], {}
    for r in rows:
        key = f"{r[curve]} @ {r[dash]:g}{dash_unit}"
        level[key] = r[dash]
        out.append({**r, "_curve": key})
    return out, "_curve", level


def figure_accuracy(
    rows: Sequence[dict[str, Any]],
    *,
    title: str = "",
    clean_accuracy: float | None = None,
    x: str = "esno_db",
    curve: str = "denoiser",
    xlabel: str = "Es/N0 [dB]",
    labels: dict[str, str] | None = None,
    dash: str | None = None,
    dash_unit: str = "",
):
    """The Figure of :func:`plot_accuracy`, not saved."""
    rows, curve, level = _dash_rows(rows, curve, dash, dash_unit)
    fig = _grid(rows, [(x, xlabel, "")], curve, labels, clean_accuracy, level)
    fig.suptitle(title, fontsize=9)
    return fig


def figure_scheme_comparison(
    rows: Sequence[dict[str, Any]],
    *,
    title: str = "",
    clean_accuracy: float | None = None,
    curve: str = "curve",
    labels: dict[str, str] | None = None,
):
    """The Figure of :func:`plot_scheme_comparison`, not saved."""
    xs = [
        ("esno_db", "Es/N0 [dB]", "equal energy per channel use"),
        ("ew_n0_db", "Ew/N0 = Es/N0 + 10 log10(ch. uses/weight) [dB]", "equal energy per weight"),
    ]  # fmt: skip
    fig = _grid(rows, xs, curve, labels, clean_accuracy, None)
    fig.suptitle(title, fontsize=9)
    return fig


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    buf = io.BytesIO()  # rendered in memory; written through a fresh temporary
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    write_atomic(path, buf.getvalue())  # O_EXCL temporary: no link followed
    return path


def plot_accuracy(
    rows: Sequence[dict[str, Any]], path: str | Path, **kwargs: Any
) -> Path:
    """Write a PNG of accuracy [%] vs ``x`` with one mean ± std curve per
    ``curve`` value (and per ``dash`` value, drawn as line style, when given:
    ``dash="snr_db", dash_unit=" dB"`` labels curves ``"ml @ 10 dB"``).

    The keyword arguments are :func:`figure_accuracy`'s; the Figure has its
    own Agg canvas (pyplot and the process's backend are left alone).
    """
    return _save(figure_accuracy(rows, **kwargs), path)


def plot_scheme_comparison(
    rows: Sequence[dict[str, Any]], path: str | Path, **kwargs: Any
) -> Path:
    """Two columns: accuracy vs Es/N0 (equal power per channel use) and vs Ew/N0
    (equal energy per weight; rows need ``ew_n0_db``, see :func:`ew_n0_db`).
    The keyword arguments are :func:`figure_scheme_comparison`'s."""
    return _save(figure_scheme_comparison(rows, **kwargs), path)
