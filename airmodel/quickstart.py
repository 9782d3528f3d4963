# SPDX-License-Identifier: Apache-2.0
"""The quickstart's network in one call: the offline digits ResNet-8, its data, its accuracy.

What the tutorials (docs/tutorials/) start from, and a quick way to get a
trained network to send over a link from Python::

    from airmodel.quickstart import load_quickstart
    q = load_quickstart()            # trains once (~10 s), then reads the cache
    print(q.clean, len(q.data.test))

Paths are those of ``configs/quickstart.yaml`` (the bundled copy when the
working directory has none); the model cache ``runs/models/quickstart`` is
relative to the working directory, as for ``make demo``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from airmodel.builder import build_data, build_model
from airmodel.config import ExperimentConfig, load_config
from airmodel.resources import find_config

__all__ = [
    "Quickstart",
    "load_quickstart",
    "new_figure",
    "show",
    "start_tutorial",
    "work_from_repo_root",
]


@dataclass
class Quickstart:
    """The quickstart network and what scoring it needs.

    :param cfg: the resolved ``quickstart`` config.
    :param model: the trained ResNet-8 (CPU, eval mode).
    :param data: the test split and the receiver's pool from the training split.
    :param clean: clean test accuracy in [0, 1].
    :param state_dict: a copy of the clean weights (scoring a rebuilt state dict
        loads it into ``model``).
    """

    cfg: ExperimentConfig
    model: torch.nn.Module
    data: Any
    clean: float
    state_dict: dict[str, torch.Tensor]


def load_quickstart(config: str | Path = "configs/quickstart.yaml") -> Quickstart:
    """Build (or read from the cache) the quickstart model and data on the CPU."""
    cfg = load_config(find_config(config))
    device = torch.device("cpu")
    model, _ = build_model(cfg, device)  # trains once, then reads the cached final.pt
    data = build_data(cfg, device)  # the test split; the pool from the training split
    clean = data.test.accuracy(model)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    return Quickstart(cfg, model, data, clean, sd)


def work_from_repo_root() -> Path:
    """Change the working directory to the repository root and return it.

    The tutorials read ``configs/`` and cache the model in ``runs/``, like
    ``make demo``, wherever the notebook was opened: the first of the working
    directory, its parents and the checkout holding this package that has
    ``configs/quickstart.yaml``. Stays put (in an installed wheel) when none has.
    """
    here = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]]
    root = next(
        (p for p in here if (p / "configs/quickstart.yaml").is_file()), Path.cwd()
    )
    os.chdir(root)
    return root


def start_tutorial(threads: int = 1) -> Quickstart:
    """What tutorials 1-5 run first: the repository root as working directory,
    ``threads`` torch threads (a ResNet-8 on 8x8 images gains nothing from
    more), and the quickstart network."""
    work_from_repo_root()
    torch.set_num_threads(threads)
    return load_quickstart()


def in_notebook() -> bool:
    """True inside a Jupyter kernel (mkdocs-jupyter, JupyterLab), False in a script."""
    try:
        from IPython import get_ipython
    except ImportError:  # IPython is not a dependency of airmodel
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def new_figure(ncols: int = 1, panel: tuple[float, float] = (4.6, 3.2)):
    """A matplotlib Figure with its own Agg canvas and ``ncols`` axes side by side.

    pyplot and the process's backend are left alone, so a tutorial draws the same
    figure in a notebook and in a script. Returns ``(fig, [ax, ...])``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(panel[0] * ncols, panel[1]), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(1, ncols, squeeze=False)[0])


def show(obj: Any, name: str = "figure") -> Path | None:
    """Show a figure or a Markdown text the same way in a notebook and a script.

    In a notebook: a matplotlib Figure is displayed as a PNG, a string as Markdown.
    In a plain script (``python docs/tutorials/01_....py``): a string is printed and
    a Figure saved to ``runs/tutorials/<name>.png`` (relative to the working
    directory, the repository root after :func:`start_tutorial`), whose path is
    printed and returned.
    """
    from io import BytesIO

    is_figure = hasattr(obj, "savefig")
    if not in_notebook():
        if not is_figure:
            print(obj)
            return None
        path = Path("runs/tutorials") / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.savefig(path, dpi=100, bbox_inches="tight")
        print(f"[figure saved to {path}]")
        return path
    from IPython.display import Image, Markdown, display

    if is_figure:
        buf = BytesIO()
        obj.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        display(Image(buf.getvalue()))
    else:
        display(Markdown(str(obj)))
    return None
