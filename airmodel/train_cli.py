"""``airmodel train``: train a model from the command line (argparse)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["get_args_parser", "main_train"]

#: Datasets of token ids, trained by ``train_text`` (AdamW; --lr is its peak).
TEXT_DATASETS = ("sst2",)


def get_args_parser() -> argparse.ArgumentParser:
    """The ``airmodel train`` argument parser."""
    from airmodel.data import list_datasets
    from airmodel.errors import OneLineParser
    from airmodel.models import list_models

    p = OneLineParser(
        prog="airmodel train",
        description="Train a model and write OUT/final.pt (resumable via OUT/last.pt).",
    )
    p.add_argument("--model", required=True, choices=list_models())
    p.add_argument("--dataset", required=True, choices=list_datasets())
    p.add_argument("--data-root", default=None, help="folder or archive of the data")
    p.add_argument("--download", action="store_true", help="cifar10: fetch if absent")
    p.add_argument("--cache-dir", default=None, help="image_folder decode cache")
    p.add_argument("--epochs", type=_positive_int, default=30)
    p.add_argument("--batch-size", type=_positive_int, default=256)
    p.add_argument("--lr", type=float, default=0.2, help="peak learning rate")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--schedule", choices=("onecycle", "cosine"), default="onecycle")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--seed", type=_nonnegative_int, default=0)
    p.add_argument(
        "--init-from",
        default=None,
        help="start from this final.pt's weights (fine-tune / second LR cycle)",
    )
    p.add_argument(
        "--weight-noise",
        default=None,
        type=_wnr_range,
        metavar="WNR_LO:WNR_HI",
        help="noise-hardened training: every step adds Gaussian noise at a WNR "
        "[dB] drawn uniformly from the range to the on-air tensors (noise power = "
        "their mean square / WNR, the analog link's at Es/N0 = WNR); removed "
        "before the update",
    )
    p.add_argument(
        "--weight-noise-policy",
        default="paper",
        choices=("paper", "all_float"),
        help="payload policy naming the noised tensors (default paper)",
    )
    p.add_argument(
        "--prune",
        default=None,
        type=float,
        metavar="KEEP",
        help="pruning-aware training: keep this fraction (0-1] of the on-air weight "
        "tensors' entries (largest magnitudes at the start, a fixed mask re-applied "
        "after every update; docs/bandwidth.md)",
    )
    p.add_argument(
        "--prune-scope",
        default="global",
        choices=("global", "layer"),
        help="magnitude ranking over all weight tensors or per tensor",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue OUT/last.pt if present (default on)",
    )
    p.add_argument(
        "--threads", type=_positive_int, default=None, help="torch CPU threads (>= 1)"
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument(
        "--bf16",
        choices=("auto", "on", "off"),
        default="auto",
        help="bf16 autocast; auto = only where native (not on AVX2-only CPUs)",
    )
    p.add_argument("--max-train-samples", type=_positive_int, default=None)
    p.add_argument(
        "--eval-every", type=_nonnegative_int, default=5, help="epochs; 0 = at the end"
    )
    p.add_argument(
        "--debug", action="store_true", help="show the traceback of an error"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the tqdm bars")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an OUT/final.pt written with other settings (refused otherwise)",
    )
    return p


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 1, e.g. 2; got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; got {value}")
    return value


def _wnr_range(text: str) -> tuple[float, float]:
    """argparse type: ``LO:HI`` in dB."""
    from airmodel.training.weight_noise import parse_wnr_range

    try:
        return parse_wnr_range(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0; got {text!r}")
    return value


def main_train(argv: Sequence[str] | None = None, debug: bool = False) -> int:
    """Parse ``argv``, train, print the checkpoint path; return the exit code.

    Errors print one line (``airmodel.errors``); ``--debug`` shows the traceback.
    """
    from airmodel.errors import debug_requested, guarded
    from airmodel.paths import use_cache_root

    use_cache_root()  # matplotlib / inductor caches under ~/.cache/airmodel
    flag, argv = debug_requested(list(sys.argv[1:] if argv is None else argv))
    args = get_args_parser().parse_args(argv)
    return guarded("airmodel train", lambda: _train(args), debug or flag)


def _train(args: argparse.Namespace) -> int:
    """Run :func:`airmodel.training.train` with the parsed options (text
    datasets: :func:`airmodel.training.text.train_text`, AdamW)."""
    from airmodel.training import train

    if args.dataset in TEXT_DATASETS:
        from airmodel.errors import UserError
        from airmodel.training.text import train_text

        for flag, val in (("--init-from", args.init_from),
                          ("--weight-noise", args.weight_noise),
                          ("--prune", args.prune)):  # fmt: skip
            if val is not None:
                raise UserError(
                    f"{flag} is not supported for the text dataset {args.dataset!r} "
                    "yet; drop it (train from scratch) or continue a run with --resume."
                )

        path = train_text(
            model_name=args.model, dataset=args.dataset, epochs=args.epochs,
            batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
            schedule=args.schedule, label_smoothing=args.label_smoothing,
            seed=args.seed, out_dir=args.out, resume=args.resume,
            num_threads=args.threads, data_root=args.data_root,
            max_train_samples=args.max_train_samples, device=args.device,
            overwrite=args.overwrite,
        )  # fmt: skip
        print(path)
        return 0
    path = train(
        model_name=args.model,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        label_smoothing=args.label_smoothing,
        seed=args.seed,
        out_dir=args.out,
        resume=args.resume,
        device=args.device,
        amp_bf16={"auto": None, "on": True, "off": False}[args.bf16],
        num_threads=args.threads,
        progress=not args.no_progress,
        data_root=args.data_root,
        download=args.download,
        cache_dir=args.cache_dir,
        max_train_samples=args.max_train_samples,
        eval_every=args.eval_every,
        init_from=args.init_from,
        weight_noise=args.weight_noise,
        weight_noise_policy=args.weight_noise_policy,
        prune=args.prune,
        prune_scope=args.prune_scope,
        overwrite=args.overwrite,
    )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main_train())
