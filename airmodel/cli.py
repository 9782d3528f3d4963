# SPDX-License-Identifier: Apache-2.0
"""``airmodel`` command line: ``run``, ``train``, ``configs``, ``report``, ``--version``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main", "get_args_parser"]


def get_args_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands ``run``, ``train``, ``configs``, ``report``)."""
    from airmodel import __version__

    p = argparse.ArgumentParser(prog="airmodel", description=__doc__)
    p.add_argument("--version", action="version", version=f"airmodel {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{run,train,configs,report}")
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
    return p


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
    try:
        dest = copy_config(name, out)
    except (FileNotFoundError, FileExistsError) as err:
        print(f"airmodel: error: {err}", file=sys.stderr)
        return 2
    print(f"Wrote {dest}; run it with `airmodel run {dest}`.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for a user error, with no traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        from airmodel.train_cli import main_train

        return main_train(argv[1:])
    if argv[:1] == ["report"]:
        from airmodel.evaluation.report import main as main_report

        main_report(argv[1:])
        return 0
    parser = get_args_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "configs":
        return _configs(args.name, args.out)
    from airmodel.config import ConfigError, load_config
    from airmodel.data import DatasetNotFoundError

    try:
        from airmodel.resources import find_config

        cfg = load_config(find_config(args.config), args.overrides)
        from airmodel.experiment import dry_run, run_experiment

        if args.dry_run:
            print(dry_run(cfg))
            return 0
        out = run_experiment(cfg, progress=not args.no_progress)
    except (ConfigError, DatasetNotFoundError, FileNotFoundError) as err:
        print(f"airmodel: error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        if os.environ.get("AIRMODEL_DEBUG"):
            raise
        print(
            f"airmodel: error: {err} (set AIRMODEL_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "\nairmodel: interrupted; rerun the same command to resume.",
            file=sys.stderr,
        )
        return 130
    from airmodel.evaluation.report import summary

    table = summary(out)
    if table:
        print(
            "\nWNR [dB] at which each receiver reaches 60 % / 80 % test accuracy, "
            "gain over ML [dB]\n(n/a: not reached in the swept range; "
            "`airmodel report FOLDER --by-snr` for more):\n" + table
        )
    plots = sorted(Path(out).glob("accuracy_vs_*.png"))
    print(f"Results in {out}/" + (f" (plot: {plots[0]})" if plots else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
