"""Tests of the differences that decide the lists, with the design's degrees of freedom.

A place in the ten worst (十差) or best (十佳) is decided by the difference between the units
on either side of the cut: the 10th and the 11th from either end. :func:`boundary_tests`
tests those differences; :func:`median_tests` tests every unit against its category's median.
Units are independent samples, so a difference has variance ``se_a^2 + se_b^2`` and
Welch-Satterthwaite degrees of freedom
``(v_a + v_b)^2 / (v_a^2 / df_a + v_b^2 / df_b)`` (Welch 1947; Satterthwaite 1946) from each
unit's design df; the test is the two-sided t test of a zero difference.

Assumptions, stated: the units' estimates are independent and approximately t-distributed
with their design df; the category median is treated as a fixed reference (it is the median
of many estimates, far less variable than one unit's), so the median test uses the unit's own
SE and df. A unit with SE 0 (a census) contributes no variance; pass
``DomainEstimates.rank_se`` so that zero-variance units are not treated as exact.

References
----------
.. [1] Welch, B.L. (1947), "The generalization of 'Student's' problem when several different
   population variances are involved", *Biometrika* 34, 28-35.
.. [2] Satterthwaite, F.E. (1946), "An approximate distribution of estimates of variance
   components", *Biometrics Bulletin* 2, 110-114.
.. [3] Goldstein, H. and Spiegelhalter, D.J. (1996), *JRSS A* 159, 385-443.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["BoundaryTest", "MedianTests", "boundary_tests", "median_tests"]


@dataclass(frozen=True)
class BoundaryTest:
    """One test of the difference at a cut (rows of :func:`boundary_tests`).

    Attributes
    ----------
    side : str
        ``"bottom"`` (k-th vs (k+1)-th lowest) or ``"top"`` (k-th vs (k+1)-th highest).
    inside, outside : int
        Indices (into the inputs) of the unit just inside the list and the one just outside.
    difference : float
        ``mean[outside] - mean[inside]`` (>= 0 on the bottom side, <= 0 on the top side).
    se, df, t, p_value : float
        SE of the difference, Welch-Satterthwaite df, t statistic, two-sided p value.
    """

    side: str
    inside: int
    outside: int
    difference: float
    se: float
    df: float
    t: float
    p_value: float


def _diff_test(d: np.ndarray, va: np.ndarray, vb: np.ndarray, dfa, dfb):
    from scipy.stats import t as student

    v = va + vb
    se = np.sqrt(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = np.where(va > 0, va * va / dfa, 0.0) + np.where(vb > 0, vb * vb / dfb, 0.0)
        df = np.where(den > 0, v * v / den, np.inf)
        t = np.where(se > 0, d / se, np.where(d == 0, 0.0, np.sign(d) * np.inf))
    p = 2.0 * student.sf(np.abs(t), df)
    return se, df, t, p


def _inputs(mean, se, df):
    m = _checks.as_float_array("mean", mean, ndim=1)
    s = _checks.as_float_array("se", se, ndim=1)
    dfa = _checks.as_float_array("df", df, ndim=1)
    _checks.same_length(mean=m, se=s, df=dfa)
    if np.any(s < 0):
        raise SamplingError("se has a negative value; allowed: se >= 0")
    return m, s, np.where(np.isnan(dfa), np.inf, dfa)


def boundary_tests(mean, se, df, k: int = 10) -> tuple[BoundaryTest, BoundaryTest]:
    """t tests of the differences at the bottom-k and top-k cuts.

    Parameters
    ----------
    mean, se, df : array_like of float, length U
        Per-unit estimates, SEs and design df; units with a NaN mean or SE are left out.
    k : int, default 10
        The list size; needs at least ``k + 1`` units.

    Returns
    -------
    (BoundaryTest, BoundaryTest)
        The bottom cut (k-th lowest vs (k+1)-th lowest) and the top cut.

    Notes
    -----
    Units are ordered by mean (ties by position). A large p value says the data cannot tell
    the unit just inside the list from the one just outside.

    References
    ----------
    .. [1] Welch, B.L. (1947), *Biometrika* 34, 28-35.

    Examples
    --------
    >>> b, t = boundary_tests([5.0, 6.0, 7.0, 8.0], [0.5] * 4, [20] * 4, k=1)
    >>> (b.inside, b.outside, round(b.difference, 3)), (t.inside, t.outside)
    ((0, 1, 1.0), (3, 2))
    """
    m, s, dfa = _inputs(mean, se, df)
    ok = np.flatnonzero(np.isfinite(m) & np.isfinite(s))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 or k + 1 > ok.size:
        raise SamplingError(f"k={k!r}; allowed: 1 <= k < number of units ({ok.size})")
    order = ok[np.argsort(m[ok], kind="stable")]
    out = []
    for side, a, b in (("bottom", order[k - 1], order[k]), ("top", order[-k], order[-k - 1])):
        d = np.array([m[b] - m[a]])
        se_d, df_d, t, p = _diff_test(d, s[[a]] ** 2, s[[b]] ** 2, dfa[[a]], dfa[[b]])
        out.append(
            BoundaryTest(
                side,
                int(a),
                int(b),
                float(d[0]),
                float(se_d[0]),
                float(df_d[0]),
                float(t[0]),
                float(p[0]),
            )
        )
    return out[0], out[1]


@dataclass(frozen=True)
class MedianTests:
    """Result of :func:`median_tests`, aligned with the inputs.

    Attributes
    ----------
    median : ndarray of float64
        Median of the unit's category (over units with an estimate).
    difference, t, p_value : ndarray of float64
        ``mean - median``, ``difference / se`` and the two-sided p value on the unit's df.
    """

    median: np.ndarray
    difference: np.ndarray
    t: np.ndarray
    p_value: np.ndarray


def median_tests(mean, se, df, category) -> MedianTests:
    """Each unit against its category's median, t test on the unit's design df.

    Parameters
    ----------
    mean, se, df : array_like of float, length U
    category : array_like of int or str, length U
        Category of each unit (e.g. 窗口单位, 执法单位).

    Returns
    -------
    MedianTests

    Notes
    -----
    The median is of the category's estimated means (NaN ones left out) and is treated as a
    fixed reference (see the module docstring).

    References
    ----------
    .. [1] Goldstein, H. and Spiegelhalter, D.J. (1996), *JRSS A* 159, 385-443.

    Examples
    --------
    >>> r = median_tests([6.0, 8.0, 9.0], [0.5, 0.5, 0.5], [30, 30, 30], ["a", "a", "a"])
    >>> r.median.tolist(), r.t.tolist()
    ([8.0, 8.0, 8.0], [-4.0, 0.0, 2.0])
    """
    m, s, dfa = _inputs(mean, se, df)
    cat = _checks.labels("category", category)
    _checks.same_length(mean=m, category=cat)
    med = np.full(m.size, np.nan)
    ok = np.isfinite(m)
    for c in np.unique(cat).tolist():
        sel = cat == c
        if (sel & ok).any():
            med[sel] = np.median(m[sel & ok])
    d = m - med
    _, _, t, p = _diff_test(d, s**2, np.zeros(m.size), dfa, np.full(m.size, np.inf))
    return MedianTests(median=med, difference=d, t=t, p_value=p)
