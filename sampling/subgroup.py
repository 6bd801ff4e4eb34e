"""Domain (subpopulation) means for items asked of a subgroup within each unit.

An item asked only of some respondents (服务企业 only of enterprise applicants) estimates the
mean over a *subpopulation* of each unit whose size is unknown. The standard domain estimator
(Lohr 2010 sec. 4.3; Cochran 1977 sec. 2.13; R ``survey``'s ``subset()``, samplics'
``TaylorEstimator.estimate(..., domain=)``) keeps every respondent of the unit in the design:
weights ``N_h / r_h`` from all respondents of the sub-stratum, and non-members contribute zero.
With ``delta_i = 1`` for members,

    ybar_D = sum_i w_i delta_i y_i / sum_i w_i delta_i

(a ratio estimator), with linearised scores ``z_i = w_i delta_i (y_i - ybar_D) / sum w delta``
over *all* respondents (zero for non-members) and the Taylor variance of
:mod:`sampling.estimate` on them: ``sum_g (1 - f_g) r_g / (r_g - 1) sum_{i in g} (z_i -
zbar_g)^2``. Degrees of freedom ``r - H`` of the unit's whole sample, as samplics. Weighting
members alone by the whole sub-stratum (``N_h / m_h``) instead treats the subgroup as if it
were the whole sub-stratum, which differs where sub-strata have different member shares.

A member without a valid answer (NaN) is item nonresponse and is left out of the design, as
:func:`sampling.domain_means` leaves out NaN rows. Intervals are clipped to the scale. A
subgroup whose members all answer alike (zero variance, not a census) gets the interval of
the nearest sample with one member's answer moved by ``resolution``, as in
:func:`sampling.domain_means`; a single member gets the whole scale.

References
----------
.. [1] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., sec. 4.3 and 9.1.
.. [2] Cochran, W.G. (1977), *Sampling Techniques*, 3rd edn., sec. 2.13.
.. [3] Lumley, T. (2010), *Complex Surveys: A Guide to Analysis Using R*, Wiley, sec. 2.4.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError
from sampling.weights import stratum_weights

__all__ = ["SubgroupEstimates", "subgroup_means"]


@dataclass(frozen=True)
class SubgroupEstimates:
    """Result of :func:`subgroup_means`: one row per domain (unit), arrays of length D.

    Attributes
    ----------
    domain : ndarray
        Domain labels (sorted distinct domains of ``stratum_population``).
    n : ndarray of int64
        Members with a valid answer.
    n_base : ndarray of int64
        Respondents in the unit's design (members with an answer plus non-members).
    population : ndarray of float64
        Estimated subgroup size ``sum w delta``.
    mean, se, ci_low, ci_high : ndarray of float64
        Domain estimate, Taylor SE and t interval clipped to the scale.
    df : ndarray of float64
        ``n_base - H``.
    method : ndarray of str
        ``"taylor"``, ``"census"``, ``"zero-variance-bound"`` or ``"no-respondents"``.
    level : float
    """

    domain: np.ndarray
    n: np.ndarray
    n_base: np.ndarray
    population: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: np.ndarray
    method: np.ndarray
    level: float

    def to_records(self) -> np.ndarray:
        """The rows as a NumPy structured array (every field except ``level``)."""
        return _checks.records(self, tuple(f.name for f in fields(self) if f.name != "level"))


def _estimate(y, member, domain, stratum, stratum_population):
    """(labels, n, n_base, population, mean, var, df, census) of the domain estimator."""
    sw = stratum_weights(domain, stratum, stratum_population)
    n_dom = sw.domains.size
    dc = sw.domain_code
    w = sw.weight
    wd = np.where(member, w, 0.0)
    yd = np.where(member, y, 0.0)
    pop_d = np.bincount(dc, weights=wd, minlength=n_dom)
    n_d = np.bincount(dc, weights=member, minlength=n_dom).astype(np.int64)
    has = n_d > 0
    safe = np.where(has, pop_d, 1.0)
    mean = np.where(has, np.bincount(dc, weights=wd * yd, minlength=n_dom) / safe, np.nan)
    z = wd * (yd - np.where(has, mean, 0.0)[dc]) / safe[dc]
    n_g = sw.group_domain.size
    g = sw.group
    r_g = np.bincount(g, minlength=n_g)
    s1 = np.bincount(g, weights=z, minlength=n_g)
    s2 = np.bincount(g, weights=z * z, minlength=n_g)
    ss = np.maximum(s2 - s1 * s1 / np.maximum(r_g, 1), 0.0)
    fpc_g = np.where(
        sw.group_population > 0,
        1.0 - sw.group_respondents / np.maximum(sw.group_population, 1),
        0.0,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        var_g = np.where(r_g >= 2, fpc_g * r_g / (r_g - 1) * ss, 0.0)
    var = np.where(has, np.bincount(sw.group_domain, weights=var_g, minlength=n_dom), np.nan)
    h = np.bincount(sw.group_domain, weights=r_g > 0, minlength=n_dom)
    live = np.bincount(sw.group_domain, weights=(r_g > 0) & (fpc_g > 0), minlength=n_dom)
    census = has & (live == 0)
    n_base = sw.domain_respondents
    df = np.where(has, n_base - h, np.nan)
    return sw.domains, n_d, n_base, pop_d, mean, var, df, census


def subgroup_means(
    y,
    member,
    domain,
    stratum,
    stratum_population,
    level: float = 0.95,
    *,
    scale: tuple[float, float] = (0.0, 10.0),
    resolution: float | None = None,
) -> SubgroupEstimates:
    r"""Mean over each unit's subgroup (domain estimator: non-members count as zeros).

    Parameters
    ----------
    y : array_like of float, length n
        Answer of each respondent of the wave (any value, or NaN, for non-members; NaN for a
        member without a valid answer, who is left out).
    member : array_like of bool, length n
        True for respondents in the subgroup the item was asked of.
    domain, stratum, stratum_population
        As in :func:`sampling.domain_means`: every respondent of the unit, not only members.
    level : float, default 0.95
    scale : (float, float), default (0, 10)
    resolution : float, optional
        Step of the nearest-sample rule for zero-variance subgroups, default a tenth of the
        scale.

    Returns
    -------
    SubgroupEstimates
        Frozen dataclass of arrays, one row per domain.

    Notes
    -----
    .. math::

        \bar y_D = \frac{\sum_i w_i \delta_i y_i}{\sum_i w_i \delta_i}, \quad
        z_i = \frac{w_i \delta_i (y_i - \bar y_D)}{\sum_i w_i \delta_i}

    and the stratified Taylor variance of the ``z_i`` over all respondents (see the module
    docstring). Equal to samplics' ``TaylorEstimator(PopParam.mean).estimate(y, samp_weight=w,
    stratum=g, fpc=1 - r_g/N_g, domain=member)`` on each unit's rows to 1e-9.

    References
    ----------
    .. [1] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., sec. 4.3.
    .. [2] Lumley, T. (2010), *Complex Surveys*, Wiley, sec. 2.4.

    Examples
    --------
    >>> est = subgroup_means([7, 8, 9, 5], [True, False, True, True], ["u"] * 4,
    ...                      [1, 1, 2, 2], {("u", 1): 10, ("u", 2): 20})
    >>> round(float(est.mean[0]), 6), int(est.n[0]), int(est.n_base[0])
    (7.0, 3, 4)
    """
    from scipy.special import stdtrit

    alpha = _checks.level_alpha(level)
    low, high = _checks.scale_bounds(scale)
    step = (high - low) / 10.0 if resolution is None else float(resolution)
    if not (0 < step <= high - low):
        raise SamplingError(f"resolution={resolution!r}; allowed: 0 < resolution <= high - low")
    ya = _checks.as_float_array("y", y, ndim=1)
    mem = np.asarray(member)
    if mem.dtype != bool:
        raise SamplingError(f"member has dtype {mem.dtype}; allowed: booleans")
    dom = _checks.labels("domain", domain)
    stra = _checks.labels("stratum", stratum)
    _checks.same_length(y=ya, member=mem, domain=dom, stratum=stra)
    keep = ~(mem & np.isnan(ya))
    ya, mem, dom, stra = ya[keep], mem[keep], dom[keep], stra[keep]
    answered = ya[mem]
    if answered.size and (answered.min() < low or answered.max() > high):
        raise SamplingError(f"y of a member is outside [{low:g}, {high:g}]; allowed: the scale")
    labels, n, n_base, pop, mean, var, df, census = _estimate(
        ya, mem, dom, stra, stratum_population
    )
    has = n > 0
    se = np.sqrt(var)
    zero = has & ~census & ~(var > 0)
    q = np.full(labels.size, np.nan)
    ok = has & ~census & ~zero
    q[ok] = stdtrit(df[ok], 1.0 - alpha / 2.0)
    ci_low = np.where(census, mean, np.maximum(mean - q * se, low))
    ci_high = np.where(census, mean, np.minimum(mean + q * se, high))
    method = np.full(labels.size, "taylor", dtype=object)
    method[census] = "census"
    method[~has] = "no-respondents"
    method[zero] = "zero-variance-bound"
    for i in np.flatnonzero(zero).tolist():
        ci_low[i], ci_high[i] = _nearest(
            ya, mem, dom, stra, stratum_population, labels, i, mean[i], (low, high), step, alpha
        )
    return SubgroupEstimates(
        domain=labels,
        n=n,
        n_base=n_base,
        population=pop,
        mean=mean,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        df=df,
        method=method.astype(str),
        level=float(level),
    )


def _nearest(y, mem, dom, stra, stratum_population, labels, k, mean, scale, step, alpha):
    """Bounds of zero-variance subgroup `k` from one member's answer moved by -/+ `step`."""
    from scipy.special import stdtrit

    low, high = scale
    rows = dom == labels[k]
    y_d, m_d, s_d = y[rows], mem[rows], stra[rows]
    d_d = dom[rows]
    firsts = np.unique(s_d[m_d], return_index=True)[1]
    members = np.flatnonzero(m_d)[firsts]
    out = []
    for sign in (-1.0, 1.0):
        best = None
        moved = False
        for j in members.tolist():
            new = y_d.copy()
            new[j] = min(max(new[j] + sign * step, low), high)
            if new[j] == y_d[j]:
                continue
            moved = True
            _, _, _, _, m2, v2, df2, _ = _estimate(new, m_d, d_d, s_d, stratum_population)
            if not (np.isfinite(v2[k]) and v2[k] > 0):
                continue
            bound = float(m2[k]) + sign * float(stdtrit(df2[k], 1 - alpha / 2)) * v2[k] ** 0.5
            if best is None or sign * bound < sign * best:
                best = bound
        if best is None and moved:
            return low, high  # a single member: nothing is known about the others
        out.append(mean if best is None else best)
    return max(min(out[0], mean), low), min(max(out[1], mean), high)
