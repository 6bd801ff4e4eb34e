"""Domain (unit) means and proportions with Taylor-linearised variance and honest edge cases.

Every unit is a domain estimated on its own: a stratified mean over its sub-strata with weights
``N_h / r_h`` (:mod:`sampling.weights`), variance with the finite population correction, and a
Student t interval on the design degrees of freedom. For ordinary cases the numbers equal
samplics' ``TaylorEstimator(PopParam.mean)`` run on the domain alone with ``samp_weight``,
``stratum`` (the variance strata after collapsing) and ``fpc`` (``1 - r_h/N_h``), to 1e-9.

Conventions (checked against samplics 0.6.1 ``estimation/expansion.py``)
------------------------------------------------------------------------
* samplics' ``fpc`` argument is the multiplier ``1 - f_h`` itself (``fpc[s] * variance_s``), not
  ``N_h``; we pass ``1 - r_h / N_h``, i.e. the finite population correction based on the
  *respondents*, treating nonrespondents as missing at random within the sub-stratum.
* Linearised scores ``z_i = w_i (y_i - ybar) / sum(w)``; stratum variance
  ``n_h/(n_h - 1) * sum_i (z_i - zbar_h)^2``; summed over strata times ``1 - f_h``. For weights
  ``N_h / r_h`` this is exactly the textbook ``sum_h (N_h/N)^2 (1 - r_h/N_h) s_h^2 / r_h``
  (Cochran 1977 eq. 5.6; Lohr 2010 eq. 3.5).
* Degrees of freedom: respondents minus variance strata (samplics ``nb_psus - nb_strata``
  with no PSU given: every respondent is a PSU), counted within the domain.
* Interval: ``mean -/+ t_{df}(1 - alpha/2) * se`` with ``alpha = 1 - level``.
* samplics computes no design effect for means (its ``deff`` stays empty); ours is
  Kish's DEFF, ``V_design / V_srswor`` with ``V_srswor = (1 - n/N) sigma^2 / n`` and the
  weighted element variance ``sigma^2 = n/(n - 1) * sum w (y - ybar)^2 / sum w`` (equal to
  ``s^2`` when the weights are equal, so a simple random sample has ``deff == 1`` exactly).

Edge cases (the ``method`` column says which rule produced the row)
-------------------------------------------------------------------
``"taylor"``
    The ordinary case above (``collapsed`` True if thin sub-strata were collapsed, see
    :mod:`sampling.weights`). The interval is not clipped to the scale (as in samplics); with
    very few respondents it can run past 0 or 10, which itself says the estimate is weak.
``"census"``
    Every sub-stratum fully answered (``r_h == N_h``): no sampling variance; ``se = 0``,
    ``ci_low == ci_high == mean``, ``deff`` NaN.
``"zero-variance-bound"``
    Not a census, but every answer within each variance stratum is the same (all ten points,
    say), or there is a single respondent. The t interval would have zero width and claim
    certainty about clients who were not asked. Instead: with ``N'`` clients and ``n'``
    respondents in the sub-strata not fully answered, take ``D_u``, the largest number of
    unasked clients whose answer *could differ* that is still consistent at level
    ``1 - alpha`` with seeing no differing answer among ``n'`` drawn without replacement,
    i.e. the exact hypergeometric (zero-event Clopper-Pearson) bound
    ``D_u = max{D : C(N' - D, n') / C(N', n') > alpha}`` (the finite-population rule of three,
    ``D_u / N' ~ 3 / n'`` at 95 %). The interval is every mean reachable when ``D_u`` clients
    answer anywhere on the scale: ``mean - D_u/N * max(y - low)`` to
    ``mean + D_u/N * max(high - y)``, clipped to the scale. ``se`` stays the Taylor value
    (0; NaN with one respondent), ``deff`` is NaN. The pooled hypergeometric treats the
    unanswered sub-strata as one simple random sample; for unequal sampling fractions it is an
    approximation.
``"no-respondents"``
    No valid answer in the domain: ``n = 0`` and every number NaN.

References
----------
.. [1] Cochran, W.G. (1977), *Sampling Techniques*, 3rd edn., Wiley, chs. 5 and 5A.
.. [2] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., chs. 3, 9, 14.
.. [3] Wolter, K.M. (2007), *Introduction to Variance Estimation*, 2nd edn., Springer.
.. [4] Kish, L. (1965), *Survey Sampling*, Wiley, sec. 8.2 (design effect).
.. [5] Korn, E.L. and Graubard, B.I. (1998), "Confidence intervals for proportions with small
   expected number of positive counts estimated from survey data", *Survey Methodology* 24,
   193-201.
.. [6] Dean, N. and Pagano, M. (2015), "Evaluating confidence interval methods for binomial
   proportions in clustered surveys", *J. Survey Statistics and Methodology* 3, 484-503.
.. [7] Wilson, E.B. (1927), "Probable inference, the law of succession, and statistical
   inference", *JASA* 22, 209-212.
.. [8] Hanley, J.A. and Lippman-Hand, A. (1983), "If nothing goes wrong, is everything all
   right?", *JAMA* 249, 1743-1745 (rule of three).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.special import gammaln, stdtrit

from sampling import _checks
from sampling._cells import _core
from sampling.proportions import PROPORTION_METHODS, DomainProportions, domain_proportions

__all__ = [
    "PROPORTION_METHODS",
    "DomainEstimates",
    "DomainProportions",
    "domain_means",
    "domain_proportions",
]


@dataclass(frozen=True)
class DomainEstimates:
    """Result of :func:`domain_means`: one row per domain, every field an array of length D.

    Attributes
    ----------
    domain : ndarray
        Domain labels: the sorted distinct domains of ``stratum_population``.
    n : ndarray of int64
        Respondents with a valid answer.
    population : ndarray of int64
        ``N_d``.
    mean, se, ci_low, ci_high : ndarray of float64
        Estimate, standard error, interval (see the module docstring for each ``method``).
    df : ndarray of float64
        Design degrees of freedom, respondents minus variance strata (NaN without
        respondents; float so that NaN fits).
    deff : ndarray of float64
        Design effect ``V_design / V_srswor`` (NaN where undefined).
    method : ndarray of str
        ``"taylor"``, ``"census"``, ``"zero-variance-bound"`` or ``"no-respondents"``.
    collapsed : ndarray of bool
        Thin sub-strata were collapsed (see :mod:`sampling.weights`).
    note : ndarray of str
        Plain-language reason for anything unusual ("" otherwise).
    level : float
        Confidence level used.
    """

    domain: np.ndarray
    n: np.ndarray
    population: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: np.ndarray
    deff: np.ndarray
    method: np.ndarray
    collapsed: np.ndarray
    note: np.ndarray
    level: float

    def to_records(self) -> np.ndarray:
        """The rows as a NumPy structured array (every field except ``level``)."""
        return _checks.records(self, tuple(f.name for f in fields(self) if f.name != "level"))


def _hypergeometric_zero_bound(pop: np.ndarray, n: np.ndarray, alpha: float) -> np.ndarray:
    """Largest D in [0, pop - n] with C(pop - D, n) / C(pop, n) > alpha (vectorised bisection).

    ``log P0(D) = lnG(pop-D+1) - lnG(pop-D-n+1) - lnG(pop+1) + lnG(pop-n+1)``, decreasing in D.
    """
    pop = pop.astype(np.float64)
    n = n.astype(np.float64)

    def log_p0(dd: np.ndarray) -> np.ndarray:
        return (
            gammaln(pop - dd + 1)
            - gammaln(pop - dd - n + 1)
            - gammaln(pop + 1)
            + gammaln(pop - n + 1)
        )

    la = np.log(alpha)
    lo = np.zeros_like(pop)  # log_p0(0) = 0 > log(alpha): always feasible
    hi = pop - n
    ok_hi = log_p0(hi) > la
    lo = np.where(ok_hi, hi, lo)
    hi = np.where(ok_hi, hi, hi)  # invariant: lo feasible, hi infeasible unless equal
    while True:
        gap = hi - lo
        active = gap > 1
        if not active.any():
            break
        mid = np.floor((lo + hi) / 2)
        good = log_p0(mid) > la
        lo = np.where(active & good, mid, lo)
        hi = np.where(active & ~good, mid, hi)
    return lo


def domain_means(
    y,
    domain,
    stratum,
    stratum_population,
    level: float = 0.95,
    *,
    scale: tuple[float, float] = (0.0, 10.0),
) -> DomainEstimates:
    r"""Stratified mean per domain with Taylor variance, FPC, t interval and design effect.

    Parameters
    ----------
    y : array_like of float, length n
        Score of each respondent on `scale` (the 10-point score by default). NaN means no valid
        answer (不了解/说不清): the row is left out, never scored as zero.
    domain : array_like of int or str, length n
        Unit of each respondent.
    stratum : array_like of int or str, length n
        Sub-stratum within the unit (client kind or any column).
    stratum_population : mapping or tuple
        ``{(domain, stratum): N_h}`` or ``(domains, strata, N_h)`` arrays, see
        :func:`sampling.weights.stratum_weights`. Domains listed here without respondents get a
        ``"no-respondents"`` row.
    level : float, default 0.95
        Confidence level, ``0 < level < 1``.
    scale : (float, float), default (0, 10)
        Smallest and largest possible score; answers outside raise, and the
        zero-variance bound uses it.

    Returns
    -------
    DomainEstimates
        Frozen dataclass of arrays, one row per domain; ``.to_records()`` gives a structured
        array with fields ``domain, n, population, mean, se, ci_low, ci_high, df, deff, method,
        collapsed, note``.

    Notes
    -----
    With ``W_h = N_h / N``, respondents ``r_h`` and within-stratum variance ``s_h^2``:

    .. math::

        \bar y = \sum_h W_h \bar y_h, \quad
        \hat V(\bar y) = \sum_h W_h^2 \Big(1 - \frac{r_h}{N_h}\Big)\frac{s_h^2}{r_h}, \quad
        \bar y \pm t_{n - H}(1 - \alpha/2) \sqrt{\hat V}

    computed through linearised scores exactly as samplics' ``TaylorEstimator`` does (see the
    module docstring for conventions and for ``census``, ``zero-variance-bound`` and
    ``no-respondents`` rows). All domains are computed at once from per-cell sums; there is
    no loop over domains. Rows grouped by (domain, stratum), e.g. sorted by unit as lists and
    draws usually are, take a faster path (contiguous sums, ``np.add.reduceat``) than
    scattered rows (``np.bincount``); the numbers are the same either way.

    References
    ----------
    .. [1] Cochran, W.G. (1977), *Sampling Techniques*, 3rd edn., eqs. 5.1-5.6.
    .. [2] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., secs. 3.2 and 9.1.
    .. [3] Kish, L. (1965), *Survey Sampling*, sec. 8.2.

    Examples
    --------
    >>> est = domain_means([7, 8, 9, 10, 6, 5], ["u"] * 6, [1, 1, 1, 2, 2, 2],
    ...                    {("u", 1): 10, ("u", 2): 20})
    >>> round(float(est.mean[0]), 6), round(float(est.se[0]), 6), str(est.method[0])
    (7.333333, 0.952579, 'taylor')
    """
    alpha = _checks.level_alpha(level)
    low, high = _checks.scale_bounds(scale)
    c = _core(y, domain, stratum, stratum_population, low, high)
    n_dom = c.n.size
    se = np.sqrt(c.var)
    has = c.n > 0
    taylor = has & ~c.census & ~c.zero_var
    q = np.full(n_dom, np.nan)
    if taylor.any():
        # scipy.stats.t.ppf(q, df) is special.stdtrit(df, q): the same numbers as samplics
        q[taylor] = stdtrit(c.df[taylor], 1.0 - alpha / 2.0)
    ci_low = c.mean - q * se
    ci_high = c.mean + q * se
    ci_low = np.where(c.census, c.mean, ci_low)
    ci_high = np.where(c.census, c.mean, ci_high)
    method = np.full(n_dom, "taylor", dtype=object)
    method[c.census] = "census"
    method[~has] = "no-respondents"
    notes = c.design.note.astype(object)
    deff = c.deff
    if c.zero_var.any():
        zv = c.zero_var
        d_u = _hypergeometric_zero_bound(c.pop_free[zv], c.n_free[zv], alpha)
        share = d_u / c.pop[zv]
        ci_low[zv] = np.maximum(c.mean[zv] - share * c.room_down[zv], low)
        ci_high[zv] = np.minimum(c.mean[zv] + share * c.room_up[zv], high)
        method[zv] = "zero-variance-bound"
        for i, k, dd, nf, pf in zip(
            np.flatnonzero(zv).tolist(),
            c.n[zv].tolist(),
            d_u.tolist(),
            c.n_free[zv].tolist(),
            c.pop_free[zv].tolist(),
            strict=True,
        ):
            why = "one respondent" if k == 1 else "every answer equal within its sub-strata"
            text = (
                f"{why}, not a census: interval from the exact bound of {int(dd)} of the "
                f"{int(pf - nf)} unasked clients possibly answering otherwise"
            )
            notes[i] = text if not notes[i] else notes[i] + "; " + text
    for i in np.flatnonzero(c.census).tolist():
        text = "census: every client in the frame answered, no sampling error"
        notes[i] = text if not notes[i] else notes[i] + "; " + text
    for i in np.flatnonzero(~has).tolist():
        text = "no respondent with a valid answer: no estimate"
        notes[i] = text if not notes[i] else notes[i] + "; " + text
    return DomainEstimates(
        domain=c.design.domains,
        n=c.n,
        population=c.pop,
        mean=c.mean,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        df=c.df,
        deff=deff,
        method=method.astype(str),
        collapsed=c.design.collapsed,
        note=notes.astype(str),
        level=float(level),
    )
