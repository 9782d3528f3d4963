# SPDX-License-Identifier: Apache-2.0
"""The one seed mechanism: keyed seeds per trial, explicit generators, Sionna's seed.

Every seed a run uses derives from (run seed, what it is for, the values that
identify it) through ``numpy.random.SeedSequence``: a sweep trial's from
(run seed, Es/N0 value, draw index), a federated run's from (run seed, Es/N0
value, run index), never from positions in a list. So a trial keeps its draw
when points or draws are added, a run of one point reproduces that point of
the full run, and runs with different seeds share no draw.

Every generator the project seeds also mixes in what it is for (its
*purpose*: ``"channel"``, ``"subset"``, ``"training"``, ...), so no two
purposes share a stream and none shares the stream of a user's own
``torch.manual_seed(s)``: ``Link.transmit(sd, snr, seed=0)`` draws noise
independent of weights the user drew after ``torch.manual_seed(0)``
(scheme ``keyed-v2``; under ``keyed-v1`` the channel's real parts were
exactly that stream).
"""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
import torch

__all__ = [
    "SEED_SCHEME",
    "derive_seed",
    "make_generator",
    "mix_seed",
    "numpy_rng",
    "point_key",
    "stream_seed",
    "set_global_seed",
    "trial_seed",
]

_SEED_MODULUS = 2**63

#: Version of the seed derivation, recorded in every results folder: a folder
#: written under another scheme holds other draws and is not resumed.
SEED_SCHEME = "keyed-v2"


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"`seed` must be an int or None; got {seed!r}.")
    return seed % _SEED_MODULUS


def stream_seed(seed: int, purpose: str) -> int:
    """The 63-bit seed of the stream ``purpose`` under seed ``seed``.

    ``SeedSequence(entropy=seed, spawn_key=(crc32("airmodel:" + purpose),))``:
    never ``seed`` itself, so a generator of the project never replays the
    stream ``torch.manual_seed(seed)`` gives, and two purposes never share one.
    """
    ss = np.random.SeedSequence(
        entropy=_check_seed(seed), spawn_key=(_purpose("airmodel:" + purpose),)
    )
    hi, lo = ss.generate_state(2, np.uint32)
    return ((int(hi) << 32) | int(lo)) % _SEED_MODULUS


def make_generator(
    seed: int | None, device: str | torch.device = "cpu", purpose: str = "generic"
) -> torch.Generator:
    """Return a ``torch.Generator`` on ``device`` for stream ``purpose`` of ``seed``.

    Seeded with :func:`stream_seed` ``(seed, purpose)``, not ``seed`` itself.
    ``seed=None`` gives a non-deterministic generator.
    """
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(stream_seed(_check_seed(seed), purpose))
    return gen


def numpy_rng(seed: int, purpose: str) -> np.random.Generator:
    """A NumPy generator for stream ``purpose`` of ``seed`` (:func:`stream_seed`)."""
    return np.random.default_rng(stream_seed(_check_seed(seed), purpose))


def point_key(snr_db: float) -> int:
    """Canonical integer of an Es/N0 value [dB]: its float64 bits (``-0.0`` as ``0.0``).

    ``2``, ``2.0`` and ``"2"`` read from YAML all give the same key; ``.inf``
    (no noise) has its own.
    """
    x = float(snr_db)
    if math.isnan(x):
        raise ValueError("an Es/N0 point must be a number or .inf; got NaN.")
    return struct.unpack("<Q", struct.pack("<d", x + 0.0))[0]


def _purpose(name: str) -> int:
    return zlib.crc32(name.encode())


def derive_seed(run_seed: int, purpose: str, *key: int) -> int:
    """A 63-bit seed from the run seed, a purpose name and integer key parts.

    ``SeedSequence(entropy=run_seed, spawn_key=(crc32(purpose), *key))``:
    distinct keys or run seeds give independent streams (no ``seed + i``
    overlaps between neighbouring runs).
    """
    if isinstance(run_seed, bool) or not isinstance(run_seed, int) or run_seed < 0:
        raise ValueError(f"the run seed must be an int >= 0; got {run_seed!r}.")
    ss = np.random.SeedSequence(
        entropy=run_seed, spawn_key=(_purpose(purpose), *(int(k) for k in key))
    )
    hi, lo = ss.generate_state(2, np.uint32)
    return ((int(hi) << 32) | int(lo)) % _SEED_MODULUS


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (``SeedSequence(parts)``), e.g. (unit seed, round).

    For the streams inside one trial or run, whose own seed is already keyed.
    """
    state = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def trial_seed(run_seed: int, snr_db: float, draw: int) -> int:
    """Seed of the sweep trial (Es/N0 ``snr_db`` [dB], draw ``draw``) of a run."""
    return derive_seed(run_seed, "sweep", point_key(snr_db), draw)


def set_global_seed(seed: int) -> None:
    """Seed Sionna's global RNGs; called only by the CLI, never by library code."""
    import sionna.phy

    sionna.phy.config.seed = stream_seed(seed, "sionna_global")
