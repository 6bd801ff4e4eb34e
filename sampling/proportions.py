"""Domain proportions (满意率, the share satisfied) with intervals that stay inside [0, 1].

The point estimate, SE, df and design effect are those of :func:`sampling.domain_means` on the
0/1 variable (conventions in :mod:`sampling.estimate`); the interval is Korn-Graubard
(Clopper-Pearson on the effective sample size with the df adjustment) or Wilson's score
interval on the same effective size.

References
----------
.. [1] Korn, E.L. and Graubard, B.I. (1998), "Confidence intervals for proportions with small
   expected number of positive counts estimated from survey data", *Survey Methodology* 24,
   193-201.
.. [2] Dean, N. and Pagano, M. (2015), "Evaluating confidence interval methods for binomial
   proportions in clustered surveys", *J. Survey Statistics and Methodology* 3, 484-503.
.. [3] Wilson, E.B. (1927), "Probable inference, the law of succession, and statistical
   inference", *JASA* 22, 209-212.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sampling import _checks
from sampling._cells import _core
from sampling.errors import SamplingError

__all__ = ["PROPORTION_METHODS", "DomainProportions", "domain_proportions", "proportion_interval"]

PROPORTION_METHODS = ("korn-graubard", "wilson")


@dataclass(frozen=True)
class DomainProportions:
    """Result of :func:`domain_proportions`: one row per domain, arrays of length D.

    Attributes
    ----------
    domain, n, population, se, df, deff, collapsed, note, level
        As in :class:`DomainEstimates`.
    proportion : ndarray of float64
        Weighted share of ``y == 1``.
    ci_low, ci_high : ndarray of float64
        Interval by ``method``, always inside [0, 1].
    n_eff : ndarray of float64
        Effective sample size used by the interval (after the degrees-of-freedom adjustment for
        Korn-Graubard); NaN for census and no-respondent rows.
    method : ndarray of str
        ``"korn-graubard"``, ``"wilson"``, ``"census"`` or ``"no-respondents"``.
    """

    domain: np.ndarray
    n: np.ndarray
    population: np.ndarray
    proportion: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: np.ndarray
    deff: np.ndarray
    n_eff: np.ndarray
    method: np.ndarray
    collapsed: np.ndarray
    note: np.ndarray
    level: float

    def to_records(self) -> np.ndarray:
        """The rows as a NumPy structured array (every field except ``level``)."""
        return _checks.records(self, tuple(f.name for f in fields(self) if f.name != "level"))


def domain_proportions(
    y,
    domain,
    stratum,
    stratum_population,
    level: float = 0.95,
    *,
    method: str = "korn-graubard",
) -> DomainProportions:
    r"""Weighted share per domain (e.g. 满意率, the share satisfied) with a bounded interval.

    Parameters
    ----------
    y : array_like, length n
        1 (or True) for the answer counted, 0 otherwise, NaN for no valid answer (left out).
    domain, stratum, stratum_population
        As in :func:`domain_means`.
    level : float, default 0.95
        Confidence level, ``0 < level < 1``.
    method : {"korn-graubard", "wilson"}
        Interval: Clopper-Pearson on the effective sample size with Korn and Graubard's
        degrees-of-freedom adjustment (default), or Wilson's score interval on the same
        effective size.

    Returns
    -------
    DomainProportions
        Frozen dataclass of arrays; see its attributes.

    Notes
    -----
    The proportion, its SE, df and deff are those of :func:`domain_means` applied to the 0/1
    variable. The effective sample size is

    .. math::

        n^* = \frac{\hat p (1 - \hat p)}{\hat V(\hat p)}
              \left(\frac{t_{n-1}(1-\alpha/2)}{t_{df}(1-\alpha/2)}\right)^2

    (Korn and Graubard 1998). When ``p`` is 0 or 1, or the estimated variance is 0 without a
    census, ``n* = n`` (the respondents), so the interval never collapses to a point
    (Korn-Graubard's convention). ``n*`` is not truncated at ``n``: a large sampling fraction
    legitimately shrinks the variance. With ``x = p n*``:
    ``[Beta^{-1}(alpha/2; x, n* - x + 1), Beta^{-1}(1 - alpha/2; x + 1, n* - x)]``, with 0 and 1
    at the ends. Wilson: ``(p + z^2/2n*  -/+  z sqrt(p(1-p)/n* + z^2/4n*^2)) / (1 + z^2/n*)``
    with the normal ``z``. Census rows have zero width; no-respondent rows are NaN.

    References
    ----------
    .. [1] Korn, E.L. and Graubard, B.I. (1998), *Survey Methodology* 24, 193-201.
    .. [2] Dean, N. and Pagano, M. (2015), *J. Survey Statistics and Methodology* 3, 484-503.
    .. [3] Wilson, E.B. (1927), *JASA* 22, 209-212.

    Examples
    --------
    >>> p = domain_proportions([1, 1, 1, 1], ["u"] * 4, ["a"] * 4, {("u", "a"): 100})
    >>> float(p.proportion[0]), float(p.ci_high[0]), round(float(p.ci_low[0]), 4)
    (1.0, 1.0, 0.3976)
    """
    if method not in PROPORTION_METHODS:
        raise SamplingError(
            f"method={method!r} is unknown; allowed: {', '.join(PROPORTION_METHODS)}"
        )
    _checks.level_alpha(level)
    ya = _checks.as_float_array("y", y, ndim=1)
    ok = np.isnan(ya) | (ya == 0) | (ya == 1)
    if not ok.all():
        bad = ya[~ok][0]
        raise SamplingError(f"y has value {bad!r}; allowed: 0, 1 (or True/False) or NaN")
    c = _core(ya, domain, stratum, stratum_population, 0.0, 1.0)
    n_dom = c.n.size
    has = c.n > 0
    p = c.mean
    se = np.sqrt(np.where(np.isnan(c.var) & has, 0.0, c.var))
    se = np.where(has, se, np.nan)
    est = has & ~c.census
    with np.errstate(divide="ignore", invalid="ignore"):
        interior = est & (p > 0) & (p < 1) & (c.var > 0)
    lo = np.full(n_dom, np.nan)
    hi = np.full(n_dom, np.nan)
    n_eff = np.full(n_dom, np.nan)
    e = np.flatnonzero(est)
    if e.size:
        lo[e], hi[e], n_eff[e] = proportion_interval(
            p[e], c.n[e], c.var[e], c.df[e], level, method=method
        )
    lo = np.where(c.census, p, lo)
    hi = np.where(c.census, p, hi)
    meth = np.full(n_dom, method, dtype=object)
    meth[c.census] = "census"
    meth[~has] = "no-respondents"
    notes = c.design.note.astype(object)
    extra = {
        "census": "census: every client in the frame answered, no sampling error",
        "no-respondents": "no respondent with a valid answer: no estimate",
    }
    for i in range(n_dom):
        text = extra.get(meth[i], "")
        if est[i] and not interior[i]:
            text = "estimated variance is zero (not a census): effective sample size set to n"
        if text:
            notes[i] = text if not notes[i] else notes[i] + "; " + text
    return DomainProportions(
        domain=c.design.domains,
        n=c.n,
        population=c.pop,
        proportion=p,
        se=se,
        ci_low=lo,
        ci_high=hi,
        df=c.df,
        deff=c.deff,
        n_eff=np.where(est, n_eff, np.nan),
        method=meth.astype(str),
        collapsed=c.design.collapsed,
        note=notes.astype(str),
        level=float(level),
    )


def proportion_interval(
    proportion,
    n,
    variance=None,
    df=None,
    level: float = 0.95,
    *,
    method: str = "korn-graubard",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Interval for a share (满意率) from its estimate, variance and design df; inside [0, 1].

    Parameters
    ----------
    proportion : array_like of float
        Estimated shares ``p`` in [0, 1] (100 % included).
    n : array_like of int
        Respondents behind each share (>= 1).
    variance : array_like of float, optional
        Design variance of ``p``; None (or NaN) means simple random sampling,
        ``p (1 - p) / n``, so that the Korn-Graubard interval is exactly Clopper-Pearson.
    df : array_like of float, optional
        Design degrees of freedom; None means ``n - 1`` (no adjustment).
    level : float, default 0.95
    method : {"korn-graubard", "wilson"}

    Returns
    -------
    (ci_low, ci_high, n_eff) : tuple of ndarray
        Bounds and the effective sample size used.

    Notes
    -----
    ``n* = p (1 - p) / V`` (``n`` when ``p`` is 0 or 1, or ``V`` is 0, Korn and Graubard's
    convention, so a share of 100 % gets a real lower bound), times
    ``(t_{n-1}(1 - alpha/2) / t_{df}(1 - alpha/2))^2`` for Korn-Graubard. With ``x = p n*``
    the Clopper-Pearson bounds ``Beta^{-1}(alpha/2; x, n* - x + 1)`` and
    ``Beta^{-1}(1 - alpha/2; x + 1, n* - x)``, 0 and 1 at the ends; for ``p = 1`` the lower
    bound is ``(alpha/2)^(1/n*)``. Wilson's score interval on ``n*`` (unadjusted) otherwise.

    References
    ----------
    .. [1] Korn, E.L. and Graubard, B.I. (1998), *Survey Methodology* 24, 193-201.
    .. [2] Clopper, C.J. and Pearson, E.S. (1934), *Biometrika* 26, 404-413.

    Examples
    --------
    >>> lo, hi, n_eff = proportion_interval([1.0], [30])
    >>> round(float(lo[0]), 6), float(hi[0]), float(n_eff[0])
    (0.884297, 1.0, 30.0)
    """
    from scipy.stats import beta, norm
    from scipy.stats import t as student

    if method not in PROPORTION_METHODS:
        raise SamplingError(
            f"method={method!r} is unknown; allowed: {', '.join(PROPORTION_METHODS)}"
        )
    alpha = _checks.level_alpha(level)
    p = _checks.in_range("proportion", np.atleast_1d(proportion), 0.0, 1.0)
    nf = _checks.as_count_array("n", np.atleast_1d(n), minimum=1).astype(np.float64)
    var = (
        np.full(p.shape, np.nan)
        if variance is None
        else _checks.as_float_array("variance", np.atleast_1d(variance))
    )
    dfa = nf - 1 if df is None else _checks.as_float_array("df", np.atleast_1d(df))
    _checks.same_length(proportion=p, n=nf, variance=var, df=dfa)
    with np.errstate(divide="ignore", invalid="ignore"):
        srs = np.isnan(var)
        interior = (p > 0) & (p < 1) & (srs | (var > 0))
        n_star = np.where(interior, np.where(srs, nf, p * (1 - p) / var), nf)
    adj = (dfa >= 1) & (nf >= 2)
    ratio = np.ones(p.shape)
    if adj.any():
        ratio[adj] = (
            student.ppf(1 - alpha / 2, nf[adj] - 1) / student.ppf(1 - alpha / 2, dfa[adj])
        ) ** 2
    if method == "korn-graubard":
        n_eff = n_star * ratio
        x = p * n_eff
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = np.where(x <= 0, 0.0, beta.ppf(alpha / 2, np.maximum(x, 1e-300), n_eff - x + 1))
            hi = np.where(
                x >= n_eff, 1.0, beta.ppf(1 - alpha / 2, x + 1, np.maximum(n_eff - x, 1e-300))
            )
        return lo, hi, n_eff
    n_eff = n_star
    z = norm.ppf(1 - alpha / 2)
    centre = (p + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z / (1 + z * z / n_eff) * np.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff**2))
    # Exact algebra puts the bounds on p at 0 and 1; rounding can leave them a hair
    # beyond it (2.8e-17 above an estimate of 0), so they are held to [0, p] and [p, 1].
    return np.clip(centre - half, 0.0, p), np.clip(centre + half, p, 1.0), n_eff
