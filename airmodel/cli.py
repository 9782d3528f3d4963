# SPDX-License-Identifier: Apache-2.0
"""``airmodel`` command line: ``run CONFIG.yaml [--set k=v] [--dry-run]`` and ``train``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main", "get_args_parser"]


def get_args_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands ``run`` and ``train``)."""
    p = argparse.ArgumentParser(prog="airmodel", description=__doc__)
    sub = p.add_subparsers(dest="command", metavar="{run,train,merge}")
    r = sub.add_parser("run", help="run an experiment described by a YAML config")
    r.add_argument("config", help="YAML config, e.g. configs/quickstart.yaml")
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
        "--shard",
        metavar="I/N",
        help="run the I-th of N disjoint parts of the plan into out_dir/shard-I-of-N "
        "(join them with `airmodel merge`)",
    )
    m = sub.add_parser("merge", help="join the shard folders of one run")
    m.add_argument("out", help="folder to write the merged results to")
    m.add_argument("folders", nargs="+", help="shard folders (all N of one run)")
    sub.add_parser(
        "train", help="train a model (see `airmodel train -h`)", add_help=False
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for a user error, with no traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        from airmodel.train_cli import main_train

        return main_train(argv[1:])
    parser = get_args_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from airmodel.config import ConfigError, load_config
    from airmodel.data import DatasetNotFoundError

    try:
        if args.command == "merge":
            from airmodel.evaluation.shard import merge

            out, n = merge(args.out, args.folders)
            print(f"Merged {len(args.folders)} shard folders: {n} rows in {out}/")
            return 0
        from airmodel.evaluation.shard import parse_shard

        shard = parse_shard(args.shard) if args.shard else None
        cfg = load_config(args.config, args.overrides)
        from airmodel.experiment import dry_run, run_experiment

        if args.dry_run:
            print(dry_run(cfg))
            return 0
        out = run_experiment(cfg, progress=not args.no_progress, shard=shard)
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
    plots = sorted(Path(out).glob("accuracy_vs_*.png"))
    print(f"Results in {out}/" + (f" (plot: {plots[0]})" if plots else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
