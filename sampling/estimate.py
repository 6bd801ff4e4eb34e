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
    :mod:`sampling.weights`). The interval is clipped to the scale (samplics does not clip):
    no interval leaves 0-10. Degrees of freedom ``n - H`` by default; the Satterthwaite
    effective df of the variance strata is computed beside it (``df_satterthwaite``) and a
    row is flagged (``df_flag``) where its t quantile is at least :data:`DF_FLAG_RATIO` times
    the ``n - H`` one; ``df_method="satterthwaite"`` makes the interval use it.
``"census"``
    Every sub-stratum fully answered (``r_h == N_h``): no sampling variance; ``se = 0``,
    ``ci_low == ci_high == mean``, ``deff`` NaN.
``"zero-variance-bound"``
    Not a census, but every answer within each variance stratum is the same (all ten points,
    say), or there is a single respondent. The t interval would have zero width and claim
    certainty about clients who were not asked. Default rule (``zero_variance="nearest"``):
    the interval of the nearest sample that is not degenerate, one respondent's answer moved
    ``resolution`` down (lower bound) or up (upper bound) in the sub-stratum giving the
    narrowest bound. It is monotone: a unit whose answers are all at the top never gets a
    lower bound below a unit of the same design with one answer ``resolution`` or more lower
    (the issue-16 case: 30 answers of 10 gave [9.07, 10] against [9.80, 10] for 29 of 10 and
    one 8). ``rank_se`` carries that nearest sample's SE for the ranking. With a single
    respondent, or with ``zero_variance="hypergeometric"``, the exact zero-event bound: with
    ``N'`` clients and ``n'`` respondents in the sub-strata not fully answered, ``D_u =
    max{D : C(N' - D, n') / C(N', n') > alpha}`` clients could answer anywhere on the scale,
    giving ``mean - D_u/N * max(y - low)`` to ``mean + D_u/N * max(high - y)``, clipped (the
    finite-population rule of three). ``se`` stays the Taylor value (0; NaN with one
    respondent), ``deff`` is NaN.
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

from sampling import _checks
from sampling._cells import _core
from sampling._zero_variance import ZERO_VARIANCE_RULES, zero_variance_intervals
from sampling.errors import SamplingError
from sampling.proportions import PROPORTION_METHODS, DomainProportions, domain_proportions

__all__ = [
    "DF_FLAG_RATIO",
    "DF_METHODS",
    "PROPORTION_METHODS",
    "DomainEstimates",
    "DomainProportions",
    "domain_means",
    "domain_proportions",
]

#: Degrees of freedom for the t interval: n - H (R survey's and samplics' default) or the
#: Satterthwaite effective df of the variance strata.
DF_METHODS = ("n-h", "satterthwaite")
#: A domain is flagged when the Satterthwaite t quantile is at least this multiple of the
#: n - H one, i.e. its interval would be at least 10 % wider.
DF_FLAG_RATIO = 1.10


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
        Degrees of freedom the interval used: ``df_design`` unless ``df_method`` is
        ``"satterthwaite"`` (then ``df_satterthwaite`` where finite). Float so that NaN fits.
    deff : ndarray of float64
        Design effect ``V_design / V_srswor`` (NaN where undefined).
    method : ndarray of str
        ``"taylor"``, ``"census"``, ``"zero-variance-bound"`` or ``"no-respondents"``.
    collapsed : ndarray of bool
        Thin sub-strata were collapsed (see :mod:`sampling.weights`).
    note : ndarray of str
        Plain-language reason for anything unusual ("" otherwise).
    df_design : ndarray of float64
        Respondents minus variance strata, ``n - H`` (NaN without respondents).
    df_satterthwaite : ndarray of float64
        Satterthwaite effective df ``(sum_g v_g)^2 / sum_g v_g^2 / (r_g - 1)`` over the
        variance strata ``g`` (NaN where the variance is zero or undefined).
    df_flag : ndarray of bool
        Taylor rows whose Satterthwaite t quantile is at least :data:`DF_FLAG_RATIO` (1.10)
        times the ``n - H`` one: the interval on the effective df would be 10 % wider or more.
    rank_se : ndarray of float64
        Spread to give :func:`sampling.rank_probabilities`: ``se`` for Taylor rows, 0 for a
        census, and for zero-variance rows the SE of the nearest sample that set the bound
        (or half the hypergeometric interval over the normal quantile).
    level : float
        Confidence level used.
    df_method : str
        ``"n-h"`` or ``"satterthwaite"``: which df the intervals used.
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
    df_design: np.ndarray
    df_satterthwaite: np.ndarray
    df_flag: np.ndarray
    rank_se: np.ndarray
    level: float
    df_method: str

    def to_records(self) -> np.ndarray:
        """The rows as a NumPy structured array (every field except ``level``, ``df_method``)."""
        names = tuple(f.name for f in fields(self) if f.name not in ("level", "df_method"))
        return _checks.records(self, names)


def domain_means(
    y,
    domain,
    stratum,
    stratum_population,
    level: float = 0.95,
    *,
    scale: tuple[float, float] = (0.0, 10.0),
    df_method: str = "n-h",
    zero_variance: str = "nearest",
    resolution: float | None = None,
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
    from scipy.special import stdtrit

    alpha = _checks.level_alpha(level)
    low, high = _checks.scale_bounds(scale)
    if df_method not in DF_METHODS:
        raise SamplingError(f"df_method={df_method!r}; allowed: {', '.join(DF_METHODS)}")
    if zero_variance not in ZERO_VARIANCE_RULES:
        raise SamplingError(
            f"zero_variance={zero_variance!r}; allowed: {', '.join(ZERO_VARIANCE_RULES)}"
        )
    step = (high - low) / 10.0 if resolution is None else float(resolution)
    if not (0 < step <= high - low):
        raise SamplingError(f"resolution={resolution!r}; allowed: 0 < resolution <= high - low")
    c = _core(y, domain, stratum, stratum_population, low, high)
    n_dom = c.n.size
    se = np.sqrt(c.var)
    has = c.n > 0
    taylor = has & ~c.census & ~c.zero_var
    q_nh = np.full(n_dom, np.nan)
    q_satt = np.full(n_dom, np.nan)
    satt_ok = taylor & np.isfinite(c.df_satt)
    if taylor.any():
        # scipy.stats.t.ppf(q, df) is special.stdtrit(df, q): the same numbers as samplics
        q_nh[taylor] = stdtrit(c.df[taylor], 1.0 - alpha / 2.0)
        q_satt[satt_ok] = stdtrit(c.df_satt[satt_ok], 1.0 - alpha / 2.0)
    with np.errstate(invalid="ignore"):
        df_flag = satt_ok & (q_satt >= DF_FLAG_RATIO * q_nh)
    use_satt = satt_ok if df_method == "satterthwaite" else np.zeros(n_dom, dtype=bool)
    q = np.where(use_satt, q_satt, q_nh)
    df = np.where(use_satt, c.df_satt, c.df)
    # no interval leaves the scale (samplics does not clip; the unclipped ends are mean -/+ q se)
    ci_low = np.maximum(c.mean - q * se, low)
    ci_high = np.minimum(c.mean + q * se, high)
    ci_low = np.where(c.census, c.mean, ci_low)
    ci_high = np.where(c.census, c.mean, ci_high)
    rank_se = np.where(has, np.where(c.census, 0.0, se), np.nan)
    method = np.full(n_dom, "taylor", dtype=object)
    method[c.census] = "census"
    method[~has] = "no-respondents"
    notes = c.design.note.astype(object)
    if c.zero_var.any():
        zv = c.zero_var
        lo, hi, spread, zv_notes = zero_variance_intervals(
            c, y, domain, stratum, low, high, alpha, zero_variance, step
        )
        ci_low[zv], ci_high[zv], rank_se[zv] = lo, hi, spread
        method[zv] = "zero-variance-bound"
        for i, text in zip(np.flatnonzero(zv).tolist(), zv_notes, strict=True):
            notes[i] = text if not notes[i] else notes[i] + "; " + text
    for i in np.flatnonzero(df_flag).tolist():
        text = (
            f"Satterthwaite df {c.df_satt[i]:.1f} against n - H = {int(c.df[i])}: the interval "
            f"would be {q_satt[i] / q_nh[i]:.1f}x as wide"
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
        df=df,
        deff=c.deff,
        method=method.astype(str),
        collapsed=c.design.collapsed,
        note=notes.astype(str),
        df_design=c.df,
        df_satterthwaite=c.df_satt,
        df_flag=df_flag,
        rank_se=rank_se,
        level=float(level),
        df_method=df_method,
    )
