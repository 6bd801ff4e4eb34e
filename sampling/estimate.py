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
from scipy.stats import beta, norm
from scipy.stats import t as student

from sampling import _checks
from sampling.errors import SamplingError
from sampling.weights import _Design, _design

__all__ = [
    "PROPORTION_METHODS",
    "DomainEstimates",
    "DomainProportions",
    "domain_means",
    "domain_proportions",
]

PROPORTION_METHODS = ("korn-graubard", "wilson")


def _records(obj, names: tuple[str, ...]) -> np.ndarray:
    cols = [np.asarray(getattr(obj, n)) for n in names]
    dtype = []
    for n, c in zip(names, cols, strict=True):
        dtype.append((n, c.dtype if c.dtype.kind != "O" else np.str_))
    out = np.empty(cols[0].shape[0], dtype=dtype)
    for n, c in zip(names, cols, strict=True):
        out[n] = c
    return out


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
        return _records(self, tuple(f.name for f in fields(self) if f.name != "level"))


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
        return _records(self, tuple(f.name for f in fields(self) if f.name != "level"))


@dataclass(frozen=True)
class _Core:
    design: _Design
    n: np.ndarray
    pop: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    df: np.ndarray
    deff: np.ndarray
    census: np.ndarray
    zero_var: np.ndarray
    n_free: np.ndarray  # respondents in sub-strata not fully answered
    pop_free: np.ndarray  # clients in sub-strata not fully answered
    room_down: np.ndarray  # max(y - low) over respondents in such sub-strata
    room_up: np.ndarray  # max(high - y) over them


def _core(y, domain, stratum, stratum_population, low: float, high: float) -> _Core:
    """All domains at once from per-cell sufficient statistics (no per-domain loop).

    Per cell c (domain x sub-stratum) with r_c respondents: the mean and the sum of squares
    ``SS_c`` (around the middle of the scale; cells with a tiny ``SS_c`` are re-done around one
    member's value, so that equal answers give exactly 0). Then, with
    ``w_c = N'_c / r_c`` and ``N_d`` the domain's population, the linearised scores
    ``z_i = w_c (y_i - ybar_d) / N_d`` of samplics satisfy, within variance stratum g,

    ``sum_{i in g} (z_i - zbar_g)^2 = sum_{c in g} [(w_c/N_d)^2 SS_c + r_c (zbar_c - zbar_g)^2]``

    so every quantity of the Taylor variance is a sum over cells.
    """
    ya = _checks.as_float_array("y", y, ndim=1)
    nan = np.isnan(ya)
    any_nan = bool(nan.any()) if ya.size else False
    if ya.size and not (any_nan and nan.all()):
        y_min, y_max = float(np.fmin.reduce(ya)), float(np.fmax.reduce(ya))
        if np.isinf(y_min) or np.isinf(y_max):
            raise SamplingError("y contains inf; allowed: finite scores or NaN for no valid answer")
        if y_min < low or y_max > high:
            bad = y_min if y_min < low else y_max
            raise SamplingError(f"y has value {bad!r}; allowed range [{low:g}, {high:g}] or NaN")
    if len(ya) != len(domain) or len(ya) != len(stratum):
        _checks.same_length(y=ya, domain=np.asarray(domain), stratum=np.asarray(stratum))
    des = _design(domain, stratum, stratum_population, left_out=nan if any_nan else None)
    cell = des.resp_cell
    n_cells = des.n_cells
    r_c = des.cell_respondents
    has_c = r_c > 0
    safe_r = np.maximum(r_c, 1)
    # Sufficient statistics around the middle of the scale; rows left out (NaN) sit in the
    # spare bin n_cells, which is dropped. One buffer is reused in place (dev, then dev**2):
    # every large temporary costs page faults on each call.
    shift = (low + high) / 2.0
    dev = np.subtract(ya, shift)
    grouped = des.seg_starts is not None
    if grouped:
        if any_nan:
            np.putmask(dev, nan, 0.0)  # left-out rows stay in place but add nothing
        s1 = np.zeros(n_cells)
        s2 = np.zeros(n_cells)
        s1[des.seg_cells] = np.add.reduceat(dev, des.seg_starts)
        np.multiply(dev, dev, out=dev)
        s2[des.seg_cells] = np.add.reduceat(dev, des.seg_starts)
    else:
        s1 = np.bincount(cell, weights=dev, minlength=n_cells + 1)[:n_cells]
        np.multiply(dev, dev, out=dev)
        s2 = np.bincount(cell, weights=dev, minlength=n_cells + 1)[:n_cells]
    del dev
    mean_c = shift + s1 / safe_r
    ss_c = np.maximum(s2 - s1 * s1 / safe_r, 0.0)
    # Cells whose answers may all be equal (tiny SS: exact 0 for integer scores, rounding
    # otherwise) are re-done exactly around one member's value, so that "every answer equal"
    # is decided exactly and their mean is that value.
    anchor = np.full(n_cells, np.nan)
    flat_c = ~has_c
    cand = has_c & (ss_c <= 1e-9 * (s2 + 1.0))
    if cand.any():
        if grouped:
            # rows of the candidate cells' runs
            ends = np.append(des.seg_starts[1:], ya.size)
            chosen = np.flatnonzero(cand[des.seg_cells])
            lengths = ends[chosen] - des.seg_starts[chosen]
            offsets = np.repeat(des.seg_starts[chosen] - np.cumsum(lengths) + lengths, lengths)
            rows = np.arange(int(lengths.sum())) + offsets
            sub_cell = np.repeat(des.seg_cells[chosen], lengths)
            if any_nan:
                keep = ~nan[rows]
                rows, sub_cell = rows[keep], sub_cell[keep]
        else:
            rows = np.flatnonzero(np.append(cand, False)[cell])
            sub_cell = cell[rows]
        sub_y = ya[rows]
        first = np.zeros(n_cells)
        first[sub_cell] = sub_y
        d = sub_y - first[sub_cell]
        e1 = np.bincount(sub_cell, weights=d, minlength=n_cells)
        e2 = np.bincount(sub_cell, weights=d * d, minlength=n_cells)
        exact = cand & (e2 == 0)
        mean_c = np.where(cand, first + e1 / safe_r, mean_c)
        ss_c = np.where(cand, np.maximum(e2 - e1 * e1 / safe_r, 0.0), ss_c)
        ss_c = np.where(exact, 0.0, ss_c)
        mean_c = np.where(exact, first, mean_c)
        anchor = np.where(exact, first, anchor)
        flat_c = flat_c | exact

    n_dom = des.domains.size
    cdom = des.cell_domain
    gdom = des.group_domain
    cg = des.cell_group
    n_groups = gdom.size
    n = des.domain_respondents
    has = n > 0
    n_adj = des.cell_weight_population.astype(np.float64)
    w_c = np.where(has_c, n_adj / safe_r, 0.0)
    pop_w = np.bincount(cdom, weights=np.where(has_c, n_adj, 0.0), minlength=n_dom)
    safe_pop = np.where(has, pop_w, 1.0)
    mean = np.bincount(cdom, weights=np.where(has_c, n_adj * mean_c, 0.0), minlength=n_dom)
    mean = np.where(has, mean / safe_pop, np.nan)
    centred = np.where(has_c, mean_c - np.where(has, mean, 0.0)[cdom], 0.0)
    scale_c = w_c / safe_pop[cdom]  # z_i = scale_c * (y_i - ybar_d)
    zsum_c = scale_c * r_c * centred
    r_g = des.group_respondents
    safe_rg = np.maximum(r_g, 1)
    zbar_g = np.bincount(cg, weights=zsum_c, minlength=n_groups) / safe_rg
    multi = des.group_cells > 1
    between = np.where(has_c & multi[cg], r_c * (scale_c * centred - zbar_g[cg]) ** 2, 0.0)
    within = scale_c * scale_c * ss_c
    ss_g = np.bincount(cg, weights=within + between, minlength=n_groups)
    flat_g = np.bincount(cg, weights=~flat_c & has_c, minlength=n_groups) == 0
    flat_g &= np.bincount(cg, weights=between, minlength=n_groups) == 0
    ss_g = np.where(flat_g, 0.0, ss_g)
    fpc = des.group_fpc
    with np.errstate(divide="ignore", invalid="ignore"):
        var_g = np.where(r_g >= 2, fpc * r_g / (r_g - 1) * ss_g, 0.0)
    var_g = np.where((r_g == 1) & (fpc > 0), np.nan, var_g)  # one respondent, not a census
    var = np.bincount(gdom, weights=var_g, minlength=n_dom)
    var = np.where(has, var, np.nan)
    h = np.bincount(gdom, weights=r_g > 0, minlength=n_dom)
    df = np.where(has, n - h, np.nan)
    live = (r_g > 0) & (fpc > 0)
    census = has & (np.bincount(gdom, weights=live, minlength=n_dom) == 0)
    zero_var = has & ~census & ((var == 0) | np.isnan(var))
    pop = des.domain_population
    spread = np.bincount(cdom, weights=w_c * (ss_c + r_c * centred * centred), minlength=n_dom)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma2 = spread / safe_pop * n / (n - 1.0)
        v_srs = (1.0 - n / pop) * sigma2 / n
        deff = np.where(has & ~census & (v_srs > 0) & np.isfinite(var), var / v_srs, np.nan)
    n_free = np.bincount(gdom, weights=r_g * live, minlength=n_dom)
    pop_free = np.bincount(gdom, weights=des.group_population * live, minlength=n_dom)
    room_down = np.zeros(n_dom)
    room_up = np.zeros(n_dom)
    if zero_var.any():
        # in a zero-variance domain every cell of an unfinished group holds one value, `anchor`
        sel = has_c & live[cg] & zero_var[cdom]
        np.maximum.at(room_down, cdom[sel], anchor[sel] - low)
        np.maximum.at(room_up, cdom[sel], high - anchor[sel])
    return _Core(
        des, n, pop, mean, var, df, deff, census, zero_var, n_free, pop_free, room_down, room_up
    )


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


def _level_alpha(level) -> float:
    return _checks.level_alpha(level)


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
    alpha = _level_alpha(level)
    low, high = _scale(scale)
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


def _scale(scale) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise SamplingError(
            f"scale={scale!r}; allowed: a pair (low, high) with low < high"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise SamplingError(f"scale={scale!r}; allowed: finite low < high")
    return low, high


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
    alpha = _level_alpha(level)
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
    nf = c.n.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        interior = est & (p > 0) & (p < 1) & (c.var > 0)
        n_star = np.where(interior, p * (1 - p) / c.var, nf)
    n_star = np.where(est, n_star, np.nan)
    adj = est & (c.df >= 1) & (c.n >= 2)
    ratio = np.ones(n_dom)
    if adj.any():
        ratio[adj] = (
            student.ppf(1 - alpha / 2, nf[adj] - 1) / student.ppf(1 - alpha / 2, c.df[adj])
        ) ** 2
    lo = np.full(n_dom, np.nan)
    hi = np.full(n_dom, np.nan)
    if method == "korn-graubard":
        n_eff = n_star * ratio
        x = p * n_eff
        e = np.flatnonzero(est)
        xe, ne = x[e], n_eff[e]
        with np.errstate(divide="ignore", invalid="ignore"):
            lo[e] = np.where(xe <= 0, 0.0, beta.ppf(alpha / 2, np.maximum(xe, 1e-300), ne - xe + 1))
            hi[e] = np.where(
                xe >= ne, 1.0, beta.ppf(1 - alpha / 2, xe + 1, np.maximum(ne - xe, 1e-300))
            )
    else:
        n_eff = n_star
        z = norm.ppf(1 - alpha / 2)
        e = np.flatnonzero(est)
        pe, ne = p[e], n_eff[e]
        centre = (pe + z * z / (2 * ne)) / (1 + z * z / ne)
        half = z / (1 + z * z / ne) * np.sqrt(pe * (1 - pe) / ne + z * z / (4 * ne * ne))
        # Exact algebra puts the bounds on p at 0 and 1; rounding can leave them a hair
        # beyond it (2.8e-17 above an estimate of 0), so they are held to [0, p] and [p, 1].
        lo[e] = np.clip(centre - half, 0.0, pe)
        hi[e] = np.clip(centre + half, pe, 1.0)
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
