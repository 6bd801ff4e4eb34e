"""Signs of gaming per unit, each against a reference distribution across units.

DOMAIN.md's signals are counts (top-box answers, 没办过/记不清 screen-outs, wrong or
unreachable numbers, numbers shared with other units or staff, identical comment wording)
or unit-level values (median interview length). Two pure tools cover them:

:func:`share_outliers`
    For a count ``x_u`` out of ``n_u`` per unit, the reference share is the pooled share of
    the *other* units of the same category, ``p_ref = sum_{v != u} x_v / sum_{v != u} n_v``
    (leaving the unit out, so that a large unit does not hide in its own reference); the
    one-sided exact binomial p value ``P(X >= x_u | n_u, p_ref)`` (or ``X <= x_u`` for
    ``side="low"``) says how surprising the unit's count is. Units are flagged where the p
    value is below ``alpha`` after Holm's step-down correction over the units tested, so the
    office sees few false alarms among hundreds of units.
:func:`robust_z`
    For a value per unit (e.g. median interview seconds), ``(x - median) / (1.4826 MAD)``
    within the category: a z-score that a few outliers cannot mask.

Both describe, they do not accuse: the counts behind each flag are returned to be shown.

References
----------
.. [1] Holm, S. (1979), "A simple sequentially rejective multiple test procedure",
   *Scandinavian Journal of Statistics* 6, 65-70.
.. [2] Hampel, F.R. (1974), "The influence curve and its role in robust estimation",
   *JASA* 69, 383-393 (the MAD scaled by 1.4826).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["ShareOutliers", "robust_z", "share_outliers"]


@dataclass(frozen=True)
class ShareOutliers:
    """Result of :func:`share_outliers`, arrays aligned with the units.

    Attributes
    ----------
    share : ndarray of float64
        ``x / n`` (NaN for ``n = 0``).
    reference : ndarray of float64
        Pooled share of the other units of the category.
    p_value : ndarray of float64
        One-sided exact binomial p value (NaN where not tested).
    p_adjusted : ndarray of float64
        Holm-adjusted p value.
    flagged : ndarray of bool
        ``p_adjusted < alpha``.
    """

    share: np.ndarray
    reference: np.ndarray
    p_value: np.ndarray
    p_adjusted: np.ndarray
    flagged: np.ndarray


def _holm(p: np.ndarray) -> np.ndarray:
    out = np.full(p.size, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def share_outliers(events, totals, category=None, *, side: str = "high", alpha: float = 0.05):
    """Units whose share of some event is surprising against the rest of their category.

    Parameters
    ----------
    events, totals : array_like of int, length U
        ``x_u`` and ``n_u`` per unit (e.g. top-box answers and valid answers).
    category : array_like, optional
        Category of each unit; default one category.
    side : {"high", "low"}
        Test for a share above (default) or below the reference.
    alpha : float, default 0.05
        Family-wise level of the flags (Holm).

    Returns
    -------
    ShareOutliers

    References
    ----------
    .. [1] Holm, S. (1979), *Scandinavian Journal of Statistics* 6, 65-70.

    Examples
    --------
    >>> r = share_outliers([30, 10, 12, 11], [30, 20, 20, 20])
    >>> r.reference.round(4).tolist()[:2], bool(r.flagged[0]), bool(r.flagged[1])
    ([0.55, 0.7571], True, False)
    """
    from scipy.stats import binom

    x = _checks.as_count_array("events", events)
    n = _checks.as_count_array("totals", totals)
    _checks.same_length(events=x, totals=n)
    if np.any(x > n):
        raise SamplingError("events exceed totals for some unit; allowed: 0 <= x <= n")
    if side not in ("high", "low"):
        raise SamplingError(f"side={side!r}; allowed: 'high' or 'low'")
    _checks.level_alpha(1 - alpha)
    cat = (
        np.zeros(x.size, dtype=np.int64)
        if category is None
        else _checks.labels("category", category)
    )
    _checks.same_length(events=x, category=cat)
    _, code = _checks.factorize(cat) if x.size else (None, np.zeros(0, dtype=np.int64))
    sx = np.bincount(code, weights=x)[code]
    sn = np.bincount(code, weights=n)[code]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, x / np.maximum(n, 1), np.nan)
        ref = np.where(sn - n > 0, (sx - x) / (sn - n), np.nan)
    test = (n > 0) & np.isfinite(ref)
    p = np.full(x.size, np.nan)
    if side == "high":
        p[test] = binom.sf(x[test] - 1, n[test], ref[test])
    else:
        p[test] = binom.cdf(x[test], n[test], ref[test])
    adj = _holm(p)
    return ShareOutliers(share, ref, p, adj, np.nan_to_num(adj, nan=1.0) < alpha)


def robust_z(values, category=None) -> np.ndarray:
    """Robust z-score of each unit's value within its category: ``(x - med) / (1.4826 MAD)``.

    Parameters
    ----------
    values : array_like of float, length U
        One value per unit (NaN left out of the reference and returned as NaN).
    category : array_like, optional

    Returns
    -------
    ndarray of float64
        NaN for a NaN value. Where the category's MAD is 0: 0 for a value at the median,
        ``+/-inf`` for any other.

    References
    ----------
    .. [1] Hampel, F.R. (1974), *JASA* 69, 383-393.

    Examples
    --------
    >>> robust_z([300.0, 310.0, 290.0, 305.0, 120.0]).round(3).tolist()
    [0.0, 0.674, -0.674, 0.337, -12.141]
    """
    v = _checks.as_float_array("values", values, ndim=1)
    cat = (
        np.zeros(v.size, dtype=np.int64)
        if category is None
        else _checks.labels("category", category)
    )
    _checks.same_length(values=v, category=cat)
    out = np.full(v.size, np.nan)
    for c in np.unique(cat).tolist():
        sel = (cat == c) & np.isfinite(v)
        if not sel.any():
            continue
        med = np.median(v[sel])
        mad = 1.4826 * np.median(np.abs(v[sel] - med))
        d = v[sel] - med
        with np.errstate(divide="ignore", invalid="ignore"):
            out[sel] = np.where(mad > 0, d / mad, np.where(d == 0, 0.0, np.sign(d) * np.inf))
    return out
