# SPDX-License-Identifier: Apache-2.0
"""League tables from a results folder: SNR/WNR at target accuracy, gain over ML.

``airmodel report FOLDER... --markdown`` writes one section per folder that names
what produced its numbers (command, commit, model and clean accuracy, draws,
selection protocol): docs/gen_results.py builds the results page from it.
"""

from __future__ import annotations

import math
import shlex
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from airmodel.evaluation.results import read_results
from airmodel.evaluation.store import Journal, read_nofollow
from airmodel.evaluation.uncertainty import (
    LEVEL,
    RESAMPLES,
    Gain,
    bootstrap_gains,
    crossing,
    curves_from_rows,
    format_crossing,
    format_gain,
    per_draw_spread,
)

__all__ = [
    "accuracy_table",
    "crossing",
    "federated_table",
    "format_league",
    "league_table",
    "list_results",
    "format_markdown",
    "markdown_report",
    "run_facts",
    "summary",
]


def league_table(
    rows: Sequence[dict[str, Any]],
    targets: Sequence[float] = (0.6, 0.8),
    x: str = "wnr_db",
    reference: str = "ml",
    metric: str = "accuracy",
    level: float = LEVEL,
    resamples: int = RESAMPLES,
) -> list[dict[str, Any]]:
    """One line per denoiser: ``x`` where its mean curve over draws reaches each target.

    The rule of :mod:`airmodel.evaluation.uncertainty`: ``{x}@t`` is the crossing
    of the mean curve (``-inf``: already above at the lowest point, ``nan``:
    never reached), ``spread@t`` the std of the per-draw crossings, ``gain@t``
    a :class:`~airmodel.evaluation.uncertainty.Gain` over ``reference`` with its
    paired bootstrap interval at ``level``, ``gain_db@t`` its value (a bound
    where ``gain@t.bound`` says so). The x of a point is the mean over that
    denoiser's draws there (curves of different schemes have different x at
    one Es/N0, e.g. ``ew_n0_db``). ``evaluations`` = mean model evaluations
    spent on selection per (point, draw); ``lowest`` = the curve's lowest x.
    """
    curves = curves_from_rows(rows, x=x, y=metric)
    evals: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        evals[r["denoiser"]].append(float(r.get("evaluations") or 0))
    gains = bootstrap_gains(curves, reference, targets, level, resamples)
    table = []
    for name, c in curves.items():
        xs, ys = c.mean_curve()
        line: dict[str, Any] = {"denoiser": name, "draws": c.draws}
        for t in targets:
            line[f"{x}@{t:.0%}"] = crossing(xs, ys, t)
            line[f"spread@{t:.0%}"] = per_draw_spread(c, t)
        for t in targets:
            g = gains.get(name, {}).get(t)
            line[f"gain@{t:.0%}"] = g
            line[f"gain_db@{t:.0%}"] = g.value if g is not None else math.nan
        line["evaluations"] = float(np.mean(evals[name]))
        line["peak_accuracy"] = max(ys)
        line["lowest"] = min(xs)
        table.append(line)
    key = f"{x}@{targets[0]:.0%}"
    return sorted(table, key=lambda r: (math.isnan(r[key]), r[key]))


def _count(v: float) -> str:
    """A count: an integer where it is one (``0``, ``30``), else one decimal."""
    return str(int(round(v))) if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


_X_NAMES = {"wnr_db": "WNR", "esno_db": "Es/N0", "ew_n0_db": "Ew/N0"}


def format_league(
    table: Sequence[dict[str, Any]],
    targets: Sequence[float] = (0.6, 0.8),
    x: str = "wnr_db",
    metric: str = "accuracy",
    reference: str = "ML",
    columns: Sequence[str] = ("peak", "evaluations"),
) -> str:
    """Markdown of a :func:`league_table`: per target the crossing [dB] (± the
    per-draw spread, with 2 draws or more; ``< x`` below the lowest point swept)
    and the gain over the reference with its interval (``not resolved`` where it
    contains 0; a bound ``≥``/``≤`` where a crossing lies outside the grid);
    then the peak of the mean curve [%] and the evaluations (integers)."""
    if not table:
        return ""
    xn = _X_NAMES.get(x, x)
    level = next(
        (g.level for ln in table for t in targets if (g := ln.get(f"gain@{t:.0%}"))),
        LEVEL,
    )
    head = ["receiver", "draws"]
    for t in targets:
        head += [f"{xn} @ {100 * t:.0f} % [dB]", f"gain @ {100 * t:.0f} % [dB], {100 * level:.0f} % interval"]
    if "peak" in columns:
        head.append(f"peak {metric} [%]")
    if "evaluations" in columns:
        head.append("evaluations")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ln in table:
        cells = [str(ln["denoiser"]), str(ln["draws"])]
        for t in targets:
            spread = ln.get(f"spread@{t:.0%}", math.nan) if ln["draws"] > 1 else math.nan
            cells.append(format_crossing(ln[f"{x}@{t:.0%}"], ln.get("lowest"), spread))
            cells.append(format_gain(ln.get(f"gain@{t:.0%}")))
        if "peak" in columns:
            cells.append(f"{100 * ln['peak_accuracy']:.1f}")
        if "evaluations" in columns:
            cells.append(_count(ln["evaluations"]))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def accuracy_table(rows: Sequence[dict[str, Any]], metric: str = "accuracy") -> str:
    """Markdown: mean ± std test ``metric`` [%] over draws, one line per denoiser.

    Columns are the Es/N0 points in increasing order; denoisers keep their
    first-seen order. A cell of one draw has no ± (no spread to show).
    """
    acc: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        acc[r["denoiser"]][float(r["esno_db"])].append(100 * r[metric])
    pts = sorted({p for by_pt in acc.values() for p in by_pt})
    out = [
        "| denoiser \\ Es/N0 [dB] | " + " | ".join(f"{p:g}" for p in pts) + " |",
        "|---|" + "---|" * len(pts),
    ]
    for name, by_pt in acc.items():
        cells = [_mean_std(by_pt.get(p, [])) for p in pts]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _mean_std(v: Sequence[float]) -> str:
    """``"61.8 ± 4.2"``; one value: ``"61.8"``; none: ``""``."""
    if not len(v):
        return ""
    return f"{np.mean(v):.1f}" + (f" ± {np.std(v):.1f}" if len(v) > 1 else "")


def format_markdown(table: Sequence[dict[str, Any]]) -> str:
    """A markdown table; numbers to 2 decimals, accuracy in %, counts as integers,
    no ``inf`` (``< lowest point`` / ``> highest point``)."""
    if not table:
        return ""
    cols = list(table[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table:
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, Gain):
                cells.append(format_gain(v))
            elif c == "peak_accuracy":
                cells.append(f"{v * 100:.1f}%")
            elif c in ("evaluations", "draws", "runs") and isinstance(v, int | float):
                cells.append(_count(v))
            elif isinstance(v, float) and math.isinf(v):
                cells.append("< lowest point" if v < 0 else "> highest point")
            elif isinstance(v, float):
                cells.append("n/a" if math.isnan(v) else f"{v:.2f}")
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _has_results(folder: str | Path) -> bool:
    """Whether ``folder`` holds a journal or (older layout) a ``results.json``."""
    return any((Path(folder) / f).is_file() for f in (Journal.NAME, "results.json"))


def summary(folder: str | Path, targets: Sequence[float] = (0.6, 0.8)) -> str:
    """Short table printed after a run: WNR [dB] at each target accuracy per receiver.

    Reads the folder's rows (:func:`~airmodel.evaluation.results.read_results`);
    compared schemes are told apart by their ``curve``. Empty when the folder
    holds no inference rows (federated runs).
    """
    rows = read_results(folder)[1] if _has_results(folder) else []
    rows = [r for r in rows if "accuracy" in r and "wnr_db" in r and "esno_db" in r]
    if not rows:  # federated rows carry snr_db and round, no esno_db
        return ""
    rows = [{**r, "denoiser": r.get("curve", r["denoiser"])} for r in rows]
    ref = "ml" if any(r["denoiser"] == "ml" for r in rows) else rows[0]["denoiser"]
    table = league_table(rows, targets, x="wnr_db", reference=ref)
    return format_league(table, targets, "wnr_db", columns=())


def federated_table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: final-round test accuracy [%] per (Es/N0, receiver), mean ± std over runs.

    ``peak`` is the best evaluated round's accuracy (mean over runs); ``rounds`` the
    last round of each run (fewer than configured when a run diverged).
    """
    last: dict[tuple[float, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.get("last"):
            last[(float(r["snr_db"]), r["denoiser"])].append(r)
    out = [
        "| Es/N0 [dB] | receiver | final accuracy [%] | peak [%] | runs | rounds |",
        "|---|---|---|---|---|---|",
    ]
    for (snr, name), rs in sorted(last.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        acc = [100 * r["accuracy"] for r in rs]
        peak = np.mean([100 * r.get("peak_accuracy", r["accuracy"]) for r in rs])
        rounds = sorted({int(r["round"]) for r in rs})
        out.append(
            f"| {snr:g} | {name} | {_mean_std(acc)} | "
            f"{peak:.1f} | {len(rs)} | {', '.join(map(str, rounds))} |"
        )
    return "\n".join(out)


def _provenance(folder: Path) -> list[dict[str, Any]]:
    """The folder's invocation records (``provenance.json``), oldest first."""
    import json

    path = folder / "provenance.json"
    if not path.is_file():
        return []
    data = json.loads(read_nofollow(path))
    return data if isinstance(data, list) else [data]


def _selection(den: list[dict[str, Any]], kappa: Any, per: str = "draw") -> str:
    """How the receivers' parameters were chosen, from the config's denoiser entries."""
    parts = []
    sel = sorted({d.get("select", "fixed") for d in den} - {"fixed"})
    on_val = [s for s in sel if s in ("validation", "fit", "fit_layer")]
    if on_val:
        parts.append(
            f"MMSE_pb's (λ, β) chosen per {per} on {kappa} labelled training images "
            f"({', '.join(on_val)}; never the test set)"
        )
    recal = sorted({int(d.get("recalibrate") or 0) for d in den} - {0})
    if recal:
        parts.append(
            "batch-norm recalibration (`+bnN`) on N unlabelled training images "
            f"(N = {', '.join(map(str, recal))})"
        )
    oracles = [s for s in sel if s.startswith("oracle")]
    if oracles:
        parts.append(
            f"**`[{', '.join(oracles)}]` selects on the test set: an oracle**, "
            "an upper bound, not a receiver"
        )
    return "; ".join(parts) if parts else "none: every receiver is parameter-free"


def run_facts(folder: str | Path) -> dict[str, str]:
    """What produced a results folder, one line each: ``command``, ``model``,
    ``link``, ``draws``, ``selection``, ``provenance``.

    Read from ``config.yaml``, ``provenance.json`` (the first invocation's
    ``argv``, git commit and versions) and ``meta.json`` (clean accuracy).
    """
    folder = Path(folder)
    cfg = yaml.safe_load(read_nofollow(folder / "config.yaml")) or {}
    meta, rows = read_results(folder)
    prov = _provenance(folder)
    first = prov[0] if prov else meta.get("provenance", {})
    facts: dict[str, str] = {}
    argv = first.get("argv")
    if argv:
        facts["command"] = f"`{shlex.join(['airmodel', *argv[1:]])}`"
        if len(prov) > 1:
            facts["command"] += f" ({len(prov)} invocations: resumed or extended)"
    model, data = cfg.get("model", {}), cfg.get("data", {})
    clean = meta.get("clean_accuracy")
    n_test = meta.get("test_images")
    fed = cfg.get("experiment") == "federated"
    if fed:
        f = cfg.get("federated", {})
        facts["model"] = (
            f"{model.get('name')} on {data.get('dataset')}, trained from scratch by "
            f"{f.get('num_devices')} devices ({f.get('active')} active per round, "
            f"split `{f.get('split')}`, {f.get('local_epochs')} local epochs), "
            f"{f.get('rounds')} rounds; scored on {n_test} test images"
        )
    else:
        acc = f"{100 * clean:.2f} %" if isinstance(clean, int | float) else "n/a"
        on = f" on {n_test} test images" if n_test else ""
        facts["model"] = (
            f"{model.get('name')} on {data.get('dataset')}, clean test accuracy {acc}{on}"
        )
    t, ch = cfg.get("transmitter", {}), cfg.get("channel", {})
    schemes = [c.get("label") for c in t.get("compare") or []] or [t.get("scheme")]
    opts = ch.get("options") or {}
    chan = ch.get("name", "?") + (f" {opts}" if opts else "")
    facts["link"] = f"{', '.join(map(str, schemes))} over {chan}"
    snr_key = "snr_db" if fed else "esno_db"
    pts = sorted({float(r[snr_key]) for r in rows if snr_key in r})
    if fed:
        runs = cfg.get("federated", {}).get("runs")
        facts["draws"] = (
            f"{runs} run(s) per (Es/N0, receiver); Es/N0 of the summed signal "
            f"{', '.join(f'{p:g}' for p in pts)} dB"
        )
    else:
        sweep = cfg.get("sweep", {})
        per: dict[float, set] = defaultdict(set)
        for r in rows:
            if "esno_db" in r:
                per[float(r["esno_db"])].add(r.get("draw"))
        counts = sorted({len(v) for v in per.values()}) or [sweep.get("draws")]
        draws = (
            f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        )
        draws += " noise draws per point"
        if sweep.get("draws") == "auto":
            a = sweep.get("auto") or {}
            draws += (
                f" (sweep.draws: auto, until every gain over {a.get('versus')} is "
                f"within ±{a.get('half_width_db')} dB, at most {a.get('max_draws')})"
            )
        span = f"{pts[0]:g} … {pts[-1]:g} dB ({len(pts)} points)" if pts else "none"
        if sweep.get("refine"):
            span += ", points added by sweep.refine around the target crossings"
        facts["draws"] = f"{draws}; Es/N0 {span}"
    den = cfg.get("receiver", {}).get("denoisers") or []
    kappa = cfg.get("receiver", {}).get("kappa")
    facts["selection"] = _selection(den, kappa, "round" if fed else "draw")
    v = first.get("versions", {})
    commit = str(first.get("git_commit") or "unknown")[:7]
    when = str(first.get("invoked_at") or "")[:10]
    facts["provenance"] = (
        f"git {commit}{', ' + when if when else ''}; seed {first.get('seed')}; "
        + ", ".join(f"{k} {v[k]}" for k in ("airmodel", "torch", "sionna") if k in v)
    )
    return facts


def _code(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with each ``denoiser`` key as a markdown code span."""
    return [{**r, "denoiser": f"`{r['denoiser']}`"} for r in rows]


def _metric(meta: dict[str, Any]) -> str:
    """The score's own name (``meta["metric"]``; ``accuracy`` by default)."""
    return str(meta.get("metric") or "accuracy")


def _rule(metric: str, reference: str, level: float = LEVEL) -> str:
    """The one sentence that says how every crossing and gain below was computed."""
    return (
        f"where the mean {metric} curve over draws first reaches each target (linear in "
        "dB between points; ± the standard deviation of the per-draw crossings); gain "
        f"over `{reference}` [dB] with its paired bootstrap {100 * level:.0f} % interval over "
        "draws (the same draws resampled for both receivers); *not resolved*: the "
        "interval contains 0"
    )


def markdown_report(
    folder: str | Path,
    targets: Sequence[float] = (0.6, 0.8),
    by_snr: bool = True,
    x: str = "wnr_db",
) -> str:
    """A markdown section for one results folder: its :func:`run_facts` as a list,
    the league table (crossing of the mean curve ± per-draw spread, gain over ML
    with its paired bootstrap interval: :func:`format_league`; with energy per
    weight for scheme comparisons) or, for federated runs, :func:`federated_table`;
    with ``by_snr`` the mean ± std score per Es/N0 point as well. Receiver
    keys are code spans (``mmse[avg-no]`` is not a markdown link). ``x="esno_db"``
    reads the league on the Es/N0 axis instead (fading: a draw's WNR is set by
    its deepest fades, so WNR is not a common axis across draws)."""
    folder = Path(folder)
    meta, rows = read_results(folder)
    metric = _metric(meta)
    lines = [f"- **{k}**: {v}" for k, v in run_facts(folder).items()]
    out = ["\n".join(lines), ""]
    if rows and "round" in rows[0]:
        out.append(federated_table(_code(rows)))
        return "\n".join(out) + "\n"
    if rows and "curve" in rows[0]:  # scheme comparison: one curve per scheme+receiver
        # WNR means differ per scheme: compare at equal Es/N0 and equal energy per
        # weight, gains over the first curve.
        rows = [{**r, "denoiser": r["curve"]} for r in rows]
        ref = rows[0]["curve"]
        for x, what in (
            ("esno_db", "Es/N0 [dB] (equal energy per channel use)"),
            ("ew_n0_db", "Ew/N0 [dB] (equal energy per weight)"),
        ):
            table = league_table(_code(rows), targets, x=x, reference=f"`{ref}`")
            out += [f"{what} {_rule(metric, ref)}:", ""]
            out += [format_league(table, targets, x, metric, columns=()), ""]
        out.pop()
    else:
        table = league_table(_code(rows), targets, x=x, reference="`ml`")
        axis = "WNR" if x == "wnr_db" else "Es/N0"
        out += [f"{axis} [dB] {_rule(metric, 'ml')}:", ""]
        out.append(format_league(table, targets, x, metric))
    if by_snr:
        out += [
            "",
            f"Test {metric} [%], mean ± std over draws:",
            "",
            accuracy_table(_code(rows), "accuracy"),
        ]
    return "\n".join(out) + "\n"


def list_results(root: str | Path = "results") -> list[Path]:
    """The results folders under ``root`` (any depth), sorted by path."""
    import os

    root = Path(root)
    if not root.is_dir() or root.is_symlink():
        return []
    found = []
    for dirpath, _dirs, _files in os.walk(root, followlinks=False):
        if _has_results(dirpath):
            found.append(Path(dirpath))
    return sorted(found)


def main(argv: Sequence[str] | None = None) -> None:
    """``airmodel report FOLDER... [--x wnr_db] [--by-snr] [--markdown]``."""
    import argparse

    p = argparse.ArgumentParser(prog="airmodel report", description=__doc__)
    p.add_argument(
        "folders", nargs="*", metavar="FOLDER",
        help="results folders; none: list those under results/",
    )  # fmt: skip
    p.add_argument("--x", default="wnr_db", choices=["wnr_db", "esno_db"])
    p.add_argument("--targets", default="0.6,0.8")
    p.add_argument(
        "--by-snr", action="store_true", help="also print accuracy per Es/N0 point"
    )
    p.add_argument(
        "--markdown",
        action="store_true",
        help="one markdown section per folder, naming command, model, clean "
        "accuracy, draws and selection protocol (docs/gen_results.py uses it)",
    )
    a = p.parse_args(argv)
    if not a.folders:
        found = list_results("results")
        if not found:
            print(
                "no results folders under results/ (here: "
                f"{Path.cwd()}); run `airmodel run CONFIG` first, or pass a folder: "
                "airmodel report FOLDER"
            )
            return
        print("results folders under results/ (airmodel report FOLDER for one):")
        for f in found:
            meta, rows = read_results(f)
            print(f"  {f}  ({len(rows)} rows)")
        return
    for folder in a.folders:
        if not _has_results(folder):
            p.error(
                f"{folder} holds no {Journal.NAME} or results.json; pass a results "
                "folder written by `airmodel run`."
            )
    targets = [float(t) for t in a.targets.split(",")]
    for i, folder in enumerate(a.folders):
        if i:
            print()
        if a.markdown:
            print(f"### {Path(folder).name}\n")
            print(markdown_report(folder, targets, by_snr=a.by_snr), end="")
            continue
        meta, rows = read_results(folder)
        metric = _metric(meta)
        if len(a.folders) > 1:
            print(folder)
        if rows and "round" in rows[0]:
            print(federated_table(rows))
            continue
        clean, n = meta.get("clean_accuracy"), meta.get("test_images")
        clean_s = f"{100 * clean:.2f} %" if isinstance(clean, int | float) else "n/a"
        n_s = f" on {n:,} test images" if isinstance(n, int) else ""
        print(f"clean {metric} {clean_s}{n_s}")
        ref = "ml" if any(r["denoiser"] == "ml" for r in rows) else rows[0]["denoiser"]
        print(f"{_X_NAMES[a.x]} [dB] {_rule(metric, ref)}:")
        table = league_table(rows, targets, x=a.x, reference=ref)
        print(format_league(table, targets, a.x, metric))
        if a.by_snr:
            print()
            print(accuracy_table(rows))


if __name__ == "__main__":
    main()
