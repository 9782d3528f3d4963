# SPDX-License-Identifier: Apache-2.0
"""Plots read at a glance (issue #18 item 4): inspects the Figures' Line2D objects.

Curves are the lines with ``gid="curve"``; the clean-accuracy line has ``gid="clean"``.
"""

from __future__ import annotations

from matplotlib.colors import to_hex

from airmodel.evaluation.plot import (
    MAX_CURVES,
    figure_accuracy,
    figure_scheme_comparison,
    plot_accuracy,
)

# A 17-curve receiver league like docs/results.md's.
LEAGUE = [
    "ml", "mmse", "mmse_pb", "svd", "js_filter",
    "ml+bn500", "mmse+bn500", "mmse_pb+bn500", "svd+bn500", "js_filter+bn500",
    "mmse_pb[fit]", "mmse_pb[fit]+bn500", "mmse_pb[fit][layer]", "mmse_pb[fit][layer]+bn500",
    "mmse_pb[oracle]+bn500", "mmse+bn500+ent10", "mmse+bn500+aug4",
]  # fmt: skip


def _rows(keys, x="esno_db", xs=(0.0, 5.0, 10.0), field="denoiser", **extra):
    return [
        {field: k, x: v, "accuracy": 0.3 + 0.05 * v + 0.001 * i + 0.01 * d, **extra}
        for i, k in enumerate(keys)
        for v in xs
        for d in range(2)
    ]


def _curves(fig):
    return [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "curve"]


def _look(line):
    return (to_hex(line.get_color()), str(line.get_linestyle()), line.get_marker())


def _colour_of(fig, label):
    (colour,) = {
        to_hex(ln.get_color()) for ln in _curves(fig) if ln.get_label() == label
    }
    return colour  # one colour in every panel it appears in


def test_no_two_curves_look_alike_and_many_curves_make_facets():
    fig = figure_accuracy(_rows(LEAGUE), clean_accuracy=0.95)
    curves = _curves(fig)
    assert sorted(ln.get_label() for ln in curves) == sorted(LEAGUE)
    looks = [_look(ln) for ln in curves]
    assert len(set(looks)) == len(looks), looks
    assert len(fig.axes) >= 3  # 17 curves need at least three panels of <= 8
    for ax in fig.axes:
        lines = ax.get_lines()
        mine = [ln for ln in lines if ln.get_gid() == "curve"]
        assert 0 < len(mine) <= MAX_CURVES
        assert [ln.get_gid() for ln in lines].count("clean") == 1
        assert ax.get_ylabel() == "test accuracy [%]" and "[dB]" in ax.get_xlabel()
        assert len(ax.collections) == len(mine)  # one ± std band per curve
    # a family stays in one panel when it fits: every svd curve shares an axes
    svd_axes = {id(ln.axes) for ln in curves if ln.get_label().startswith("svd")}
    assert len(svd_axes) == 1


def test_recalibration_is_the_line_style():
    fig = figure_accuracy(_rows(["ml", "ml+bn500", "mmse", "mmse+bn500"]))
    by = {ln.get_label(): ln for ln in _curves(fig)}
    assert len(fig.axes) == 1
    assert by["ml"].get_linestyle() == by["mmse"].get_linestyle()
    assert by["ml+bn500"].get_linestyle() == by["mmse+bn500"].get_linestyle()
    assert by["ml"].get_linestyle() != by["ml+bn500"].get_linestyle()
    assert _look(by["ml"])[0] == _look(by["ml+bn500"])[0]  # same receiver, same colour


def test_a_receiver_has_one_colour_in_every_figure():
    a = figure_accuracy(_rows(["ml", "mmse", "my_denoiser"]))
    b = figure_accuracy(_rows(["js_filter", "svd", "my_denoiser", "mmse_pb", "ml"]))
    for name in ("ml", "my_denoiser"):
        assert _colour_of(a, name) == _colour_of(b, name)
    assert len({_colour_of(b, k) for k in ("js_filter", "svd", "mmse_pb", "ml")}) == 4
    scheme = _rows(["analog ml", "16qam ml", "16qam mmse"], field="curve")
    for r in scheme:
        r["ew_n0_db"] = r["esno_db"] + 3.0
    c = figure_scheme_comparison(scheme)
    assert (
        _colour_of(c, "16qam ml") == _colour_of(a, "ml") == _colour_of(c, "analog ml")
    )
    assert _colour_of(c, "16qam mmse") == _colour_of(a, "mmse")
    # federated: colour = receiver, line style = SNR
    fed = [
        {**r, "snr_db": s}
        for s in (0.0, 10.0)
        for r in _rows(["ml", "mmse"], x="round", xs=(1, 2, 3))
    ]
    f = figure_accuracy(fed, x="round", dash="snr_db", dash_unit=" dB", xlabel="round")
    by = {ln.get_label(): ln for ln in _curves(f)}
    assert set(by) == {"ml @ 0 dB", "ml @ 10 dB", "mmse @ 0 dB", "mmse @ 10 dB"}
    assert (
        _colour_of(f, "ml @ 10 dB") == _colour_of(a, "ml") == _colour_of(f, "ml @ 0 dB")
    )
    assert by["ml @ 0 dB"].get_linestyle() == by["mmse @ 0 dB"].get_linestyle()
    assert by["ml @ 0 dB"].get_linestyle() != by["ml @ 10 dB"].get_linestyle()


def test_legend_is_outside_the_axes(tmp_path):
    fig = figure_accuracy(_rows(LEAGUE[:6]), clean_accuracy=0.9)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    legend = ax.get_legend()
    assert legend is not None
    assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
    out = plot_accuracy(_rows(LEAGUE[:6]), tmp_path / "p.png", clean_accuracy=0.9)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
