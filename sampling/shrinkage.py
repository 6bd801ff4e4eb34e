"""An empirical-Bayes (Fay-Herriot) view of the unit means and their ranks, stated as such.

The raw ranking takes every unit's mean at face value, so a small unit with a few low answers
looks more certainly extreme than it is. The Fay-Herriot model without covariates (Fay and
Herriot 1979; Rao and Molina 2015 ch. 6) treats each unit's true mean as drawn from a common
distribution, ``theta_i ~ N(mu, A)``, and its estimate as ``y_i ~ N(theta_i, psi_i)`` with
``psi_i`` the squared design SE taken as known. The best predictor is

    theta_i* = mu + (1 - B_i) (y_i - mu),   B_i = psi_i / (A + psi_i)

(James and Stein 1961 when every ``psi_i`` is equal): each mean moves towards the common mean
by the share ``B_i`` of its variance that is noise. ``A`` is the Fay-Herriot moment
estimator, the root of ``sum_i (y_i - mu(A))^2 / (A + psi_i) = m - 1`` with
``mu(A) = sum_i y_i / (A + psi_i) / sum_i 1 / (A + psi_i)``, or 0 when there is none
(all units then shrink to ``mu``). The posterior SD given here is ``sqrt(A psi_i / (A +
psi_i))`` (the leading term ``g1`` of the MSE; it ignores the uncertainty of ``A`` and
``mu``, so it is a little optimistic for few units).

This is a *view*, not the published estimate: it assumes the units are exchangeable (one
common mean and spread, no covariates) and that the SEs are right. Units with SE 0 keep their
mean (nothing to shrink).

References
----------
.. [1] Fay, R.E. and Herriot, R.A. (1979), "Estimates of income for small places: an
   application of James-Stein procedures to census data", *JASA* 74, 269-277.
.. [2] James, W. and Stein, C. (1961), "Estimation with quadratic loss", *Proc. Fourth
   Berkeley Symp.* 1, 361-379.
.. [3] Rao, J.N.K. and Molina, I. (2015), *Small Area Estimation*, 2nd edn., Wiley, ch. 6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["Shrinkage", "shrink_means"]


@dataclass(frozen=True)
class Shrinkage:
    """Result of :func:`shrink_means`, arrays aligned with the inputs.

    Attributes
    ----------
    mean : ndarray of float64
        Shrunken means ``theta_i*`` (NaN where the input mean or SE is NaN).
    sd : ndarray of float64
        Posterior SD ``sqrt(A psi_i / (A + psi_i))``.
    shrinkage : ndarray of float64
        ``B_i``, the share moved towards the common mean (0 = none, 1 = all the way).
    rank : ndarray of float64
        Rank of the shrunken mean from the bottom, 1 = lowest (ties share the mid-rank).
    raw_rank : ndarray of float64
        Rank of the raw mean, for comparison.
    common_mean, between_variance : float
        ``mu`` and ``A``.
    """

    mean: np.ndarray
    sd: np.ndarray
    shrinkage: np.ndarray
    rank: np.ndarray
    raw_rank: np.ndarray
    common_mean: float
    between_variance: float


def _mid_ranks(x: np.ndarray) -> np.ndarray:
    out = np.full(x.size, np.nan)
    ok = np.flatnonzero(np.isfinite(x))
    vals = x[ok]
    order = np.argsort(vals, kind="stable")
    ranks = np.empty(vals.size)
    sorted_v = vals[order]
    i = 0
    while i < vals.size:
        j = i
        while j + 1 < vals.size and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    out[ok] = ranks
    return out


def shrink_means(mean, se) -> Shrinkage:
    """Fay-Herriot (James-Stein) shrinkage of unit means towards their common mean.

    Parameters
    ----------
    mean, se : array_like of float, length U
        Unit estimates and design SEs (e.g. ``DomainEstimates.mean`` and ``.rank_se``).
        Units with a NaN mean or SE are left out.

    Returns
    -------
    Shrinkage

    Notes
    -----
    See the module docstring. ``A`` is the root found by Brent's method on
    ``[0, m max (y - ybar)^2 + max psi]`` (the left side of the moment equation falls as ``A``
    grows). At least two units with positive SE are needed.

    References
    ----------
    .. [1] Fay, R.E. and Herriot, R.A. (1979), *JASA* 74, 269-277.
    .. [2] Rao, J.N.K. and Molina, I. (2015), *Small Area Estimation*, 2nd edn., sec. 6.1.

    Examples
    --------
    >>> s = shrink_means([6.0, 8.0, 10.0], [1.0, 1.0, 1.0])
    >>> round(s.between_variance, 9), s.mean.round(9).tolist()
    (3.0, [6.5, 8.0, 9.5])
    """
    from scipy.optimize import brentq

    y = _checks.as_float_array("mean", mean, ndim=1)
    s = _checks.as_float_array("se", se, ndim=1)
    _checks.same_length(mean=y, se=s)
    if np.any(s < 0):
        raise SamplingError("se has a negative value; allowed: se >= 0 or NaN")
    ok = np.isfinite(y) & np.isfinite(s)
    free = ok & (s > 0)
    if free.sum() < 2:
        raise SamplingError("fewer than two units with a positive SE; allowed: at least two")
    yv = y[free]
    psi = s[free] ** 2
    m = yv.size

    def mu(a: float) -> float:
        w = 1.0 / (a + psi)
        return float(np.sum(w * yv) / np.sum(w))

    def excess(a: float) -> float:
        return float(np.sum((yv - mu(a)) ** 2 / (a + psi))) - (m - 1)

    if excess(0.0) <= 0:
        a_hat = 0.0
    else:
        hi = float(np.max((yv - yv.mean()) ** 2)) * m + float(psi.max())
        a_hat = float(brentq(excess, 0.0, hi, xtol=1e-15, rtol=1e-15))
    centre = mu(a_hat)
    b = np.full(y.size, np.nan)
    b[ok] = 0.0
    b[free] = psi / (a_hat + psi)
    theta = np.where(ok, centre + (1 - b) * (y - centre), np.nan)
    sd = np.where(ok, 0.0, np.nan)
    sd[free] = np.sqrt(a_hat * psi / (a_hat + psi))
    return Shrinkage(
        mean=theta,
        sd=sd,
        shrinkage=b,
        rank=_mid_ranks(theta),
        raw_rank=_mid_ranks(np.where(ok, y, np.nan)),
        common_mean=centre,
        between_variance=a_hat,
    )
