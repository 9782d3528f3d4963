# SPDX-License-Identifier: Apache-2.0
"""The one seed entry point: explicit generators, trial seeds, Sionna's global seed."""

from __future__ import annotations

import torch

__all__ = ["make_generator", "trial_seed", "set_global_seed"]

_SEED_MODULUS = 2**63


def make_generator(
    seed: int | None, device: str | torch.device = "cpu"
) -> torch.Generator:
    """Return a ``torch.Generator`` on ``device`` seeded with ``seed``.

    ``seed=None`` gives a non-deterministic generator.
    """
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"`seed` must be an int or None; got {seed!r}.")
        gen.manual_seed(seed % _SEED_MODULUS)
    return gen


def trial_seed(base_seed: int, trial: int) -> int:
    """Seed of Monte-Carlo trial ``trial``: ``base_seed + trial``."""
    return int(base_seed) + int(trial)


def set_global_seed(seed: int) -> None:
    """Seed Sionna's global RNGs; called only by the CLI, never by library code."""
    import sionna.phy

    sionna.phy.config.seed = seed
