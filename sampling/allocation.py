"""Allocation of a unit's sample across its sub-strata (client kinds or any column).

Proportional, Neyman (optimal for prior standard deviations) and equal allocation, each with a
per-stratum minimum and an upper bound of the stratum's size, followed by integer rounding that
keeps the total exact (largest remainder).

References
----------
.. [1] Cochran, W.G. (1977), *Sampling Techniques*, 3rd edn., Wiley, secs. 5.5-5.9
   (proportional and optimum allocation) and 5.9 (when the optimum n_h exceeds N_h).
.. [2] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., sec. 3.4.
.. [3] Gabler, S., Ganninger, M. and Munnich, R. (2012), "Optimal allocation of the sample size
   to strata under box constraints", *Metrika* 75, 151-161.
.. [4] Balinski, M.L. and Young, H.P. (2001), *Fair Representation*, 2nd edn. (largest
   remainder / Hamilton rounding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["METHODS", "Allocation", "allocate"]

METHODS = ("proportional", "neyman", "equal")


@dataclass(frozen=True)
class Allocation:
    """Result of :func:`allocate`.

    Attributes
    ----------
    sizes : ndarray of int64
        Sample size per stratum; sums exactly to ``total``; ``min(minimum, N_h) <= sizes <= N_h``.
    target : ndarray of float64
        The continuous (box-constrained) allocation before rounding; sums to ``total``.
    population : ndarray of int64
        Stratum sizes ``N_h`` as given.
    total : int
        Requested total.
    method : str
        ``"proportional"``, ``"neyman"`` or ``"equal"``; ``"neyman->proportional"`` when every
        stratum that could take more cases has prior SD 0 (Neyman is then undefined).
    """

    sizes: np.ndarray
    target: np.ndarray
    population: np.ndarray
    total: int
    method: str


def _box_solution(
    n: int, a: np.ndarray, low: np.ndarray, up: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """x_h = clip(lam * a_h, low_h, up_h) with sum x_h = n, solved exactly (piecewise linear).

    Strata with ``a_h == 0`` stay at ``low_h`` unless the others are full; the rest is then
    shared among them by the ``fallback`` weights (the stratum sizes).
    """
    top = float(a.max()) if a.size else 0.0
    # relative weights; anything below 1e-12 of the largest counts as zero (keeps the
    # breakpoints up/a finite, e.g. for denormal SDs)
    a = np.where(a >= 1e-12 * top, a / top, 0.0) if top > 0 else np.zeros_like(a)
    pos = a > 0
    reach = float(np.where(pos, up, low).sum())
    if reach < n:  # a_h > 0 strata taken whole; share the rest by the fallback weights
        x = np.where(pos, up, low).astype(np.float64)
        rest = ~pos
        x[rest] = _box_solution(
            n - float(up[pos].sum()), fallback[rest], low[rest], up[rest], fallback[rest]
        )
        return x

    def total_at(lam: float) -> float:
        return float(np.clip(lam * a, low, up).sum())

    bps = np.unique(np.concatenate(([0.0], low[pos] / a[pos], up[pos] / a[pos])))
    vals = np.array([total_at(b) for b in bps])
    i = min(int(np.searchsorted(vals, n, side="left")), len(bps) - 1)
    if vals[i] == n or i == 0:
        lam = bps[i]
    else:
        lam = bps[i - 1] + (n - vals[i - 1]) * (bps[i] - bps[i - 1]) / (vals[i] - vals[i - 1])
    return np.clip(lam * a, low, up)


def _round_exact(n: int, x: np.ndarray, low: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of x (sum n) within [low, up]; ties go to the earlier stratum."""
    fl = np.clip(np.floor(x + 1e-9), low, up).astype(np.int64)
    k = n - int(fl.sum())
    rem = x - fl
    if k > 0:
        cand = np.flatnonzero(fl < up)
        order = cand[np.argsort(-rem[cand], kind="stable")]
        fl[order[:k]] += 1
    elif k < 0:
        cand = np.flatnonzero(fl > low)
        order = cand[np.argsort(rem[cand], kind="stable")]
        fl[order[:-k]] -= 1
    return fl


def allocate(
    total: int,
    population,
    method: str = "proportional",
    *,
    sd=None,
    minimum: int = 0,
) -> Allocation:
    r"""Allocate ``total`` cases across sub-strata of one unit.

    Parameters
    ----------
    total : int
        Cases to allocate, ``sum(min(minimum, N_h)) <= total <= sum(N_h)``.
    population : array_like of int
        Stratum sizes ``N_h >= 0``.
    method : {"proportional", "neyman", "equal"}
        Shares proportional to ``N_h``, to ``N_h * S_h`` (Neyman), or equal shares.
    sd : array_like of float, optional
        Prior standard deviations ``S_h >= 0``; required for ``"neyman"``.
    minimum : int, default 0
        Per-stratum minimum; a stratum smaller than it is taken whole (``min(minimum, N_h)``).

    Returns
    -------
    Allocation
        Frozen dataclass; ``sizes`` sums exactly to ``total``.

    Raises
    ------
    SamplingError
        Unknown method, negative sizes, missing `sd` for Neyman, or a total outside
        ``[sum(min(minimum, N_h)), sum(N_h)]``.

    Notes
    -----
    With ``a_h = N_h`` (proportional), ``N_h S_h`` (Neyman) or ``1`` (equal), the continuous
    allocation is the solution of minimising the stratified variance (Neyman) or matching the
    shares, subject to the box ``l_h = min(minimum, N_h) <= x_h <= N_h``:

    .. math::

        x_h = \min\{N_h, \max(l_h, \lambda a_h)\}, \qquad \sum_h x_h = n,

    solved exactly for :math:`\lambda` on the piecewise-linear sum (Gabler et al. 2012;
    Cochran 1977 sec. 5.9 takes a stratum whole when its optimum exceeds ``N_h``). The integer
    sizes are the floors plus one for the strata with the largest remainders (ties to the
    earlier stratum), restricted to strata below their bound, so the total is exact and no
    stratum exceeds ``N_h``. If Neyman weights are all zero among strata that could take more
    cases, proportional shares are used and ``method`` says ``"neyman->proportional"``.

    References
    ----------
    .. [1] Cochran, W.G. (1977), *Sampling Techniques*, 3rd edn., secs. 5.5-5.9.
    .. [2] Gabler, S., Ganninger, M. and Munnich, R. (2012), *Metrika* 75, 151-161.

    Examples
    --------
    >>> allocate(10, [60, 30, 10]).sizes.tolist()
    [6, 3, 1]
    >>> allocate(10, [60, 30, 10], "neyman", sd=[1.0, 2.0, 3.0]).sizes.tolist()
    [4, 4, 2]
    """
    if method not in METHODS:
        raise SamplingError(f"method={method!r} is unknown; allowed: {', '.join(METHODS)}")
    pop = _checks.as_count_array("population", population)
    if pop.ndim != 1 or pop.size == 0:
        raise SamplingError(
            f"population has shape {pop.shape}; allowed: one-dimensional, at least one stratum"
        )
    n_arr = _checks.as_count_array("total", total)
    if n_arr.ndim != 0:
        raise SamplingError(f"total={total!r} must be one whole number >= 0")
    n = int(n_arr)
    m_arr = _checks.as_count_array("minimum", minimum)
    if m_arr.ndim != 0:
        raise SamplingError(f"minimum={minimum!r} must be one whole number >= 0")
    low = np.minimum(int(m_arr), pop)
    up = pop
    if n > int(up.sum()):
        raise SamplingError(f"total={n} exceeds the frame; allowed: 0 <= total <= {int(up.sum())}")
    if n < int(low.sum()):
        raise SamplingError(
            f"total={n} is below the minima (minimum={int(m_arr)} per stratum needs "
            f"{int(low.sum())}); allowed: {int(low.sum())} <= total <= {int(up.sum())}"
        )
    used = method
    if method == "proportional":
        a = pop.astype(np.float64)
    elif method == "equal":
        a = (pop > 0).astype(np.float64)
    else:
        if sd is None:
            raise SamplingError("sd=None with method='neyman'; allowed: one S_h >= 0 per stratum")
        s = _checks.in_range("sd", sd, 0.0, np.inf, high_open=True)
        if s.shape != pop.shape:
            raise SamplingError(
                f"sd has shape {s.shape}; allowed: the shape of population {pop.shape}"
            )
        a = pop * s
        room = up > low
        if n > int(low.sum()) and not np.any(a[room] > 0):
            a = pop.astype(np.float64)
            used = "neyman->proportional"
    x = _box_solution(n, a, low.astype(np.float64), up.astype(np.float64), pop.astype(np.float64))
    sizes = _round_exact(n, x, low, up)
    return Allocation(sizes=sizes, target=x, population=pop, total=n, method=used)
