"""Recompute a stored draw from its recorded inputs and report the first difference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.draw import draw
from sampling.framehash import frame_hash

__all__ = ["DrawCheck", "verify_draw"]


@dataclass(frozen=True)
class DrawCheck:
    """Result of :func:`verify_draw`.

    Attributes
    ----------
    ok : bool
        True when everything compared is identical.
    field : str or None
        First field that differs: ``"frame_hash"``, ``"length"``, ``"rank"`` or ``"replicate"``.
    index : int or None
        Row index of the first difference (None for hash or length).
    stored, recomputed : object
        The two differing values.
    message : str
        One readable sentence.
    """

    ok: bool
    field: str | None
    index: int | None
    stored: object
    recomputed: object
    message: str


def verify_draw(
    rank,
    replicate,
    frame_strata,
    sizes,
    seed: int,
    replicate_size=None,
    *,
    keys=None,
    expected_hash: str | None = None,
) -> DrawCheck:
    """Recompute a draw from its recorded inputs and compare it with the stored one.

    Parameters
    ----------
    rank, replicate : array_like of int
        The stored per-row rank and replicate numbers, rows in the same order as `frame_strata`.
    frame_strata, sizes, seed, replicate_size, keys
        As given to :func:`draw`.
    expected_hash : str, optional
        Stored :func:`frame_hash` of ``(frame_strata, keys)`` (or of ``frame_strata`` alone
        when `keys` is None); compared first.

    Returns
    -------
    DrawCheck
        ``ok`` is True when hash, length, ranks and replicates all agree; otherwise the first
        difference (in that order of checks, rows in ascending index).

    Notes
    -----
    The draw is recomputed with :func:`draw` from the recorded seed, sizes and replicate sizes;
    nothing random is stored besides the seed, so agreement proves that the stored sample is
    the one the seed and frame determine.

    References
    ----------
    .. [1] Tillé, Y. (2006), *Sampling Algorithms*, Springer, sec. 4.5.
    .. [2] NIST (2015), FIPS PUB 180-4, *Secure Hash Standard (SHS)*.

    Examples
    --------
    >>> d = draw([1, 1, 2], sizes=1, seed=3, keys=[5, 6, 7])
    >>> verify_draw(d.rank, d.replicate, [1, 1, 2], 1, 3, keys=[5, 6, 7]).ok
    True
    """
    if expected_hash is not None:
        got = frame_hash(frame_strata) if keys is None else frame_hash(frame_strata, keys)
        if got != expected_hash:
            return DrawCheck(
                False,
                "frame_hash",
                None,
                expected_hash,
                got,
                f"frame hash differs: stored {expected_hash}, recomputed {got}",
            )
    new = draw(frame_strata, sizes, seed, replicate_size, keys=keys)
    for name, stored in (("rank", rank), ("replicate", replicate)):
        old = _checks.as_count_array(name, stored)
        fresh = getattr(new, name)
        if old.shape != fresh.shape:
            return DrawCheck(
                False,
                "length",
                None,
                old.shape,
                fresh.shape,
                f"stored {name} has shape {old.shape}, the frame gives {fresh.shape}",
            )
        diff = np.flatnonzero(old != fresh)
        if diff.size:
            i = int(diff[0])
            return DrawCheck(
                False,
                name,
                i,
                int(old[i]),
                int(fresh[i]),
                f"{name} differs first at row {i}: stored {int(old[i])}, recomputed "
                f"{int(fresh[i])} ({diff.size} rows differ)",
            )
    return DrawCheck(True, None, None, None, None, "draw reproduced exactly")
