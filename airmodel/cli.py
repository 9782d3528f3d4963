# SPDX-License-Identifier: Apache-2.0
"""``airmodel`` command line: ``run``, ``train``, ``configs``, ``report``, ``schema``, ``--version``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main", "get_args_parser"]

_DEBUG_HELP = "show the traceback of an error (also AIRMODEL_DEBUG=1)"


def get_args_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands ``run``, ``train``, ``configs``, ``report``)."""
    from airmodel import __version__
    from airmodel.errors import OneLineParser

    p = OneLineParser(prog="airmodel", description=__doc__)
    p.add_argument("--version", action="version", version=f"airmodel {__version__}")
    p.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = p.add_subparsers(
        dest="command", metavar="{run,train,merge,configs,report,schema}"
    )
    r = sub.add_parser("run", help="run an experiment described by a YAML config")
    r.add_argument(
        "config",
        help="YAML config file, or a bundled config's name (`airmodel configs`)",
    )
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set sweep.draws=5 (repeatable)",
    )
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the config and print the plan, run nothing",
    )
    r.add_argument("--no-progress", action="store_true", help="hide progress bars")
    r.add_argument(
        "--allow-import",
        action="append",
        default=[],
        metavar="MODULE",
        help="allow the config to import this Python module (and its submodules), "
        "e.g. for model.name: MODULE:factory; repeatable (also "
        "AIRMODEL_ALLOW_IMPORT=mod1,mod2). A config never imports code without it",
    )
    r.add_argument(
        "--accept-accuracy-gap",
        action="store_true",
        help="run even if the model's clean accuracy is far from what its "
        "checkpoint records (e.g. a model changed on purpose)",
    )
    r.add_argument(
        "--shard",
        metavar="I/N",
        help="run the I-th of N disjoint parts of the plan into out_dir/shard-I-of-N "
        "(join them with `airmodel merge`)",
    )
    r.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    m = sub.add_parser("merge", help="join the shard folders of one run")
    m.add_argument("out", help="folder to write the merged results to")
    m.add_argument("folders", nargs="+", help="shard folders (all N of one run)")
    sub.add_parser(
        "train", help="train a model (see `airmodel train -h`)", add_help=False
    )
    c = sub.add_parser("configs", help="list the bundled configs, or copy one out")
    c.add_argument("name", nargs="?", help="bundled config to copy for editing")
    c.add_argument("--out", default=".", help="folder or file to copy it to")
    sub.add_parser(
        "report",
        help="league table of a results folder (see `airmodel report -h`)",
        add_help=False,
    )
    s = sub.add_parser(
        "schema", help="write the config's JSON Schema (for editors' YAML checks)"
    )
    s.add_argument("--out", help="file to write (default: standard output)")
    return p


def _schema(out: str | None) -> int:
    """``airmodel schema [--out FILE]``."""
    import json

    from airmodel.schema import config_schema

    text = json.dumps(config_schema(), indent=1) + "\n"
    if out is None:
        sys.stdout.write(text)
        return 0
    Path(out).write_text(text)
    print(
        f"Wrote {out}; point your editor at it, e.g. first line of a config: "
        f"# yaml-language-server: $schema={out}"
    )
    return 0


def _configs(name: str | None, out: str) -> int:
    """``airmodel configs [NAME] [--out DEST]``."""
    from airmodel.resources import bundled_dir, copy_config, list_configs

    if name is None:
        print(f"Bundled configs ({bundled_dir('configs')}):")
        for n in list_configs():
            print(f"  {n}")
        print(
            "Run one with `airmodel run NAME`; copy one to edit: `airmodel configs NAME`."
        )
        return 0
    dest = copy_config(name, out)  # errors: UserError, printed by guarded()
    print(f"Wrote {dest}; run it with `airmodel run {dest}`.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2: user error, 1: environment failure).

    Errors print one or two lines and no traceback (``airmodel.errors``);
    ``--debug`` anywhere on the line, or ``AIRMODEL_DEBUG=1``, shows it.
    """
    from airmodel.errors import debug_requested, guarded
    from airmodel.paths import use_cache_root

    use_cache_root()  # matplotlib / inductor caches under ~/.cache/airmodel
    debug, argv = debug_requested(list(sys.argv[1:] if argv is None else argv))
    if argv[:1] == ["train"]:
        from airmodel.train_cli import main_train

        return main_train(argv[1:], debug=debug)
    if argv[:1] == ["report"]:
        from airmodel.evaluation.report import main as main_report

        return guarded("airmodel", lambda: main_report(argv[1:]) or 0, debug)
    parser = get_args_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return guarded("airmodel", lambda: _run(args), debug)


def _run(args: argparse.Namespace) -> int:
    """``airmodel run``, ``merge`` and ``configs``."""
    from airmodel.evaluation.shard import merge, parse_shard

    if args.command == "configs":
        return _configs(args.name, args.out)
    if args.command == "schema":
        return _schema(args.out)
    if args.command == "merge":
        out, n = merge(args.out, args.folders)
        print(f"Merged {len(args.folders)} shard folders: {n} rows in {out}/")
        return 0
    from airmodel.config import load_config
    from airmodel.evaluation.report import summary
    from airmodel.experiment import dry_run, run_experiment
    from airmodel.imports import add_search_dir, allow_import
    from airmodel.progress import set_enabled
    from airmodel.resources import find_config

    if args.no_progress:  # every bar, down to LDPC decoding (airmodel.progress)
        set_enabled(False)
    shard = parse_shard(args.shard) if args.shard else None
    allow_import(*args.allow_import)
    config_path = find_config(args.config)
    if config_path is not None:
        add_search_dir(Path(config_path).parent)  # factories next to the config
    cfg = load_config(config_path, args.overrides)
    if args.dry_run:
        print(dry_run(cfg))
        return 0
    out = run_experiment(
        cfg,
        progress=not args.no_progress,
        accept_accuracy_gap=args.accept_accuracy_gap,
        shard=shard,
    )
    table = summary(out)
    if table:
        print(
            "\nWNR [dB] at which each receiver reaches 60 % / 80 % test accuracy, "
            "gain over ML [dB]\n(n/a: not reached in the swept range; "
            "`airmodel report FOLDER --by-snr` for more):\n" + table
        )
    plots = sorted(Path(out).glob("accuracy_vs_*.png"))
    print(f"Results in {out}/" + (f" (plot: {plots[0]})" if plots else ""))
    wall = _wall_time(out)
    if wall:
        print(wall)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _wall_time(out: Path) -> str | None:
    """The run's estimate vs actual wall time line, from its ``meta.json``."""
    import json

    from airmodel.experiment import wall_time_line

    try:
        return wall_time_line(json.loads((Path(out) / "meta.json").read_text()))
    except (OSError, ValueError):
        return None
