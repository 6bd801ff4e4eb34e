"""Non-response, stated: worst/best-case bounds on each score and a simple R-indicator.

Bounds (Manski 1989; Horowitz and Manski 2000): within each sub-stratum ``h`` of a unit,
``m_h`` cases were sampled (released and not found ineligible) and ``r_h`` gave a valid
answer with mean ``ybar_h``. Had the ``m_h - r_h`` others answered anywhere on the scale
``[L, H]``, the sub-stratum's mean would lie in
``[(r_h ybar_h + (m_h - r_h) L) / m_h, (r_h ybar_h + (m_h - r_h) H) / m_h]``; the unit's
bounds are the ``N_h / N`` weighted sums. They contain the published estimate and need no
model at all: their width, ``(H - L)`` times the weighted non-response share, is the room
non-response leaves.

R-indicator (Schouten, Cobben and Bethlehem 2009): response propensities ``rho_i`` estimated
from variables known for every sampled case (client kind, or any column of the list), here
by the response rate of the case's cell (the saturated model for categorical variables);
``R = 1 - 2 S(rho)`` with ``S`` the (design-weighted) standard deviation of the propensities
over the unit's sampled cases. ``R = 1`` when response does not vary with the known variables
(representative response with respect to them); it falls towards 0 as response splits
into all-or-nothing cells (a little below 0 in tiny units, from the ``n - 1`` divisor).

References
----------
.. [1] Manski, C.F. (1989), "Anatomy of the selection problem", *J. Human Resources* 24,
   343-360.
.. [2] Horowitz, J.L. and Manski, C.F. (2000), "Nonparametric analysis of randomized
   experiments with missing covariate and outcome data", *JASA* 95, 77-84.
.. [3] Schouten, B., Cobben, F. and Bethlehem, J. (2009), "Indicators for the
   representativeness of survey response", *Survey Methodology* 35, 101-113.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling._design import _population_table
from sampling.errors import SamplingError

__all__ = ["NonresponseBounds", "RIndicator", "nonresponse_bounds", "r_indicator"]


@dataclass(frozen=True)
class NonresponseBounds:
    """Result of :func:`nonresponse_bounds`, one row per domain (arrays of length D).

    Attributes
    ----------
    domain : ndarray
        Sorted distinct domains of ``stratum_population``.
    sampled, answered : ndarray of int64
        ``sum m_h`` and ``sum r_h``.
    low, high : ndarray of float64
        Worst and best case of the unit's mean (NaN for a domain with no sampled case).
    nonresponse_share : ndarray of float64
        ``sum_h W_h (m_h - r_h) / m_h``: the weighted share without a valid answer.
    """

    domain: np.ndarray
    sampled: np.ndarray
    answered: np.ndarray
    low: np.ndarray
    high: np.ndarray
    nonresponse_share: np.ndarray


def nonresponse_bounds(
    y, domain, stratum, stratum_population, sampled, *, scale: tuple[float, float] = (0.0, 10.0)
) -> NonresponseBounds:
    """Worst/best-case bounds on each unit's mean had the non-respondents answered anything.

    Parameters
    ----------
    y : array_like of float, length n
        Scores of the respondents; NaN (no valid answer) counts as non-response.
    domain, stratum : array_like, length n
        Unit and sub-stratum of each respondent.
    stratum_population : mapping or tuple
        ``{(domain, stratum): N_h}`` as for :func:`sampling.domain_means`.
    sampled : mapping or tuple
        ``{(domain, stratum): m_h}``: sampled cases (released, not found ineligible), in the
        same form; ``m_h >= r_h``. A sub-stratum missing here has ``m_h = r_h``.
    scale : (float, float), default (0, 10)

    Returns
    -------
    NonresponseBounds

    Notes
    -----
    ``low_d = sum_h (N_h / N_d) (r_h ybar_h + (m_h - r_h) L) / m_h`` and likewise with ``H``;
    a sub-stratum with ``m_h = 0`` contributes ``L`` and ``H`` (nothing is known of it).

    References
    ----------
    .. [1] Manski, C.F. (1989), *J. Human Resources* 24, 343-360.

    Examples
    --------
    >>> b = nonresponse_bounds([8, 10], ["u", "u"], ["x", "x"], {("u", "x"): 100},
    ...                        {("u", "x"): 4})
    >>> float(b.low[0]), float(b.high[0]), float(b.nonresponse_share[0])
    (4.5, 9.5, 0.5)
    """
    low, high = _checks.scale_bounds(scale)
    ya = _checks.as_float_array("y", y, ndim=1)
    dom = _checks.labels("domain", domain)
    stra = _checks.labels("stratum", stratum)
    _checks.same_length(y=ya, domain=dom, stratum=stra)
    pd_, ps_, pn = _population_table(stratum_population)
    md, ms, mn = _population_table(sampled)
    keys = list(zip(pd_.tolist(), ps_.tolist(), strict=True))
    index = {k: i for i, k in enumerate(keys)}
    m_h = {k: None for k in keys}
    for k, v in zip(zip(md.tolist(), ms.tolist(), strict=True), mn.tolist(), strict=True):
        if k not in index:
            raise SamplingError(f"sampled names {k!r}, which has no N_h in stratum_population")
        m_h[k] = int(v)
    ok = ~np.isnan(ya)
    if ok.any() and (ya[ok].min() < low or ya[ok].max() > high):
        raise SamplingError(f"y has a value outside [{low:g}, {high:g}]; allowed: the scale")
    r, s = _cell_sums(dom[ok], stra[ok], ya[ok], pd_, ps_, index)
    domains = np.unique(pd_)
    out = {f: np.zeros(domains.size) for f in ("m", "r", "low", "high", "share", "pop")}
    where = {d: j for j, d in enumerate(domains.tolist())}
    for i, k in enumerate(keys):
        m = r[i] if m_h[k] is None else m_h[k]
        if m < r[i]:
            raise SamplingError(
                f"sampled {k!r} = {m} but {int(r[i])} answered; allowed: m_h >= r_h"
            )
        j = where[k[0]]
        n_h = float(pn[i])
        out["m"][j] += m
        out["r"][j] += r[i]
        out["pop"][j] += n_h
        if m == 0:
            out["low"][j] += n_h * low
            out["high"][j] += n_h * high
            out["share"][j] += n_h
            continue
        out["low"][j] += n_h * (s[i] + (m - r[i]) * low) / m
        out["high"][j] += n_h * (s[i] + (m - r[i]) * high) / m
        out["share"][j] += n_h * (m - r[i]) / m
    with np.errstate(divide="ignore", invalid="ignore"):
        has = (out["pop"] > 0) & (out["m"] > 0)
        lo = np.where(has, out["low"] / out["pop"], np.nan)
        hi = np.where(has, out["high"] / out["pop"], np.nan)
        share = np.where(has, out["share"] / out["pop"], np.nan)
    return NonresponseBounds(
        domain=domains,
        sampled=out["m"].astype(np.int64),
        answered=out["r"].astype(np.int64),
        low=lo,
        high=hi,
        nonresponse_share=share,
    )


def _cell_sums(dom, stra, y, pd_, ps_, index) -> tuple[np.ndarray, np.ndarray]:
    """Respondents and the sum of their ``y`` per sub-stratum of ``index`` (its order).

    Each respondent's sub-stratum is found among the population's by sorting (no loop per
    respondent); the sums are ``np.bincount``'s, which adds in respondent order, as a loop
    would. Labels of another kind than the population's, or a population that names a
    sub-stratum twice, take the loop.

    :raise SamplingError: for a respondent in a sub-stratum without N_h (the first one).
    """
    size = len(pd_)
    if (
        size
        and len(index) == size
        and dom.dtype.kind == pd_.dtype.kind
        and stra.dtype.kind == ps_.dtype.kind
    ):
        _, d_code = np.unique(np.concatenate([pd_, dom]), return_inverse=True)
        s_names, s_code = np.unique(np.concatenate([ps_, stra]), return_inverse=True)
        key = d_code.reshape(-1).astype(np.int64) * s_names.size + s_code.reshape(-1)
        own, theirs = key[:size], key[size:]
        order = np.argsort(own, kind="stable")
        cell = order[np.minimum(np.searchsorted(own, theirs, sorter=order), size - 1)]
        missing = own[cell] != theirs
        if missing.any():
            first = int(np.argmax(missing))
            d, h = dom[first].item(), stra[first].item()
            raise SamplingError(f"respondent in ({d!r}, {h!r}), which has no N_h")
        r = np.bincount(cell, minlength=size).astype(np.int64)
        return r, np.bincount(cell, weights=y, minlength=size)
    r = np.zeros(size, dtype=np.int64)
    s = np.zeros(size)
    for d, h, v in zip(dom.tolist(), stra.tolist(), y.tolist(), strict=True):
        i = index.get((d, h))
        if i is None:
            raise SamplingError(f"respondent in ({d!r}, {h!r}), which has no N_h")
        r[i] += 1
        s[i] += v
    return r, s


@dataclass(frozen=True)
class RIndicator:
    """Result of :func:`r_indicator`, one row per domain.

    Attributes
    ----------
    domain : ndarray
        Sorted distinct domains of the sampled cases.
    cases : ndarray of int64
        Sampled cases.
    response_rate : ndarray of float64
        Weighted mean propensity (the response rate).
    sd : ndarray of float64
        Weighted standard deviation of the estimated propensities, ``S(rho)``.
    r : ndarray of float64
        ``1 - 2 S(rho)`` (NaN with fewer than two cases).
    """

    domain: np.ndarray
    cases: np.ndarray
    response_rate: np.ndarray
    sd: np.ndarray
    r: np.ndarray


def r_indicator(responded, domain, *covariates, weight=None) -> RIndicator:
    """R-indicator per unit from response propensities by the list's known variables.

    Parameters
    ----------
    responded : array_like of bool, length n
        One entry per sampled case: True if it gave an interview (the response counted).
    domain : array_like, length n
        Unit of each case.
    *covariates : array_like, length n
        Variables known for every case (client kind, district...); the propensity of a case
        is the (weighted) response rate of its unit x covariates cell.
    weight : array_like of float, optional
        Design weight of each case (``N_h / m_h``); default 1.

    Returns
    -------
    RIndicator

    Notes
    -----
    ``rho_i = sum_{j in c(i)} d_j R_j / sum_{j in c(i)} d_j``;
    ``S^2 = sum_i d_i (rho_i - rhobar)^2 / (sum_i d_i - 1)`` over the unit's cases
    (Schouten et al. 2009, eq. 6, with the sample sum of weights for ``N``); ``R = 1 - 2 S``.

    References
    ----------
    .. [1] Schouten, B., Cobben, F. and Bethlehem, J. (2009), *Survey Methodology* 35,
       101-113.

    Examples
    --------
    >>> ri = r_indicator([1, 1, 0, 0], ["u"] * 4, ["p", "p", "e", "e"])
    >>> round(float(ri.r[0]), 6)
    -0.154701
    """
    resp = np.asarray(responded)
    if resp.dtype != bool and not np.isin(resp, (0, 1)).all():
        raise SamplingError("responded holds values other than True/False; allowed: booleans")
    resp = resp.astype(np.float64)
    dom = _checks.labels("domain", domain)
    cols = [_checks.labels(f"covariate {i}", c) for i, c in enumerate(covariates)]
    d = (
        np.ones(resp.size)
        if weight is None
        else _checks.in_range("weight", weight, 0.0, np.inf, low_open=True)
    )
    _checks.same_length(
        responded=resp, domain=dom, weight=d, **{f"c{i}": c for i, c in enumerate(cols)}
    )
    domains, dcode = _checks.factorize(dom)
    cell = dcode.astype(np.int64)
    for c in cols:
        _, code = _checks.factorize(c)
        cell = cell * (int(code.max()) + 1 if code.size else 1) + code
    _, cell = np.unique(cell, return_inverse=True)
    rho = (np.bincount(cell, weights=d * resp) / np.bincount(cell, weights=d))[cell]
    nd = domains.size
    sw = np.bincount(dcode, weights=d, minlength=nd)
    mean = np.bincount(dcode, weights=d * rho, minlength=nd) / sw
    ss = np.bincount(dcode, weights=d * (rho - mean[dcode]) ** 2, minlength=nd)
    cases = np.bincount(dcode, minlength=nd)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.where(cases >= 2, np.sqrt(ss / (sw - 1)), np.nan)
    return RIndicator(
        domain=domains,
        cases=cases.astype(np.int64),
        response_rate=mean,
        sd=sd,
        r=1.0 - 2.0 * sd,
    )
