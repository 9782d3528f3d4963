# SPDX-License-Identifier: Apache-2.0
"""SNR bookkeeping: the single place where dB becomes a linear noise variance."""

from __future__ import annotations

import math

from airmodel._validation import check_finite

__all__ = ["snr_db_to_no", "db", "from_db"]


def snr_db_to_no(snr_db: float, symbol_energy: float = 1.0) -> float:
    """Noise variance per complex symbol for a given Es/N0 in dB.

    ``no = Es / 10**(snr_db/10)``; symbols have unit energy by convention
    (docs/conventions.md), so ``no = 10**(-snr_db/10)``. ``snr_db=inf`` gives
    ``no = 0`` (a noise-free link).

    :param snr_db: Es/N0 [dB]. Must be a number; ``inf`` means no noise.
    :param symbol_energy: Average energy per complex symbol Es.
    """
    snr_db = check_finite("snr_db", snr_db, allow_inf=True)
    if snr_db == -math.inf:
        raise ValueError(
            "`snr_db` must be > -inf; got -inf (the noise would be infinite)."
        )
    if math.isinf(snr_db):
        return 0.0
    return symbol_energy * 10.0 ** (-snr_db / 10.0)


def db(x: float) -> float:
    """10·log10(x); ``-inf`` for 0 and ``inf`` for ``inf``."""
    if x <= 0:
        return -math.inf
    return 10.0 * math.log10(x)


def from_db(x_db: float) -> float:
    """10**(x_db/10)."""
    return 10.0 ** (x_db / 10.0)
