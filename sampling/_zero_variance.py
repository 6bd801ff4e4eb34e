"""Private: intervals for domains whose Taylor variance is zero without being a census.

Two rules (see :func:`sampling.domain_means`, ``zero_variance=``):

``"nearest"`` (default)
    The interval the domain would get had one respondent answered ``resolution`` lower (for
    the lower bound) or higher (for the upper bound), in whichever sub-stratum gives the
    narrowest bound: the closest sample that is not degenerate. Monotone by construction: a
    domain whose answers are all at the top never gets a lower bound below a domain of the
    same design with one answer at least ``resolution`` lower, since that domain's Taylor
    lower bound falls as its lower answer falls (the mean falls by ``w d / N`` and the SE
    grows in proportion to ``d``).
``"hypergeometric"``
    The exact zero-event bound: ``D_u``, the largest number of unasked clients who could
    answer otherwise that is still consistent at level ``1 - alpha`` with seeing none among
    ``n'`` drawn without replacement, answering anywhere on the scale. Valid without any
    model but not monotone: 30 answers of 10 (N = 1,000) give [9.07, 10.00] while 29 of 10
    and one 8 give a Taylor [9.80, 10.00].
"""

from __future__ import annotations

import numpy as np

from sampling import _checks
from sampling._cells import _Core, _core

ZERO_VARIANCE_RULES = ("nearest", "hypergeometric")


def _hypergeometric_zero_bound(pop: np.ndarray, n: np.ndarray, alpha: float) -> np.ndarray:
    """Largest D in [0, pop - n] with C(pop - D, n) / C(pop, n) > alpha (vectorised bisection).

    ``log P0(D) = lnG(pop-D+1) - lnG(pop-D-n+1) - lnG(pop+1) + lnG(pop-n+1)``, decreasing in D.
    """
    from scipy.special import gammaln

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


def _nearest_sample_bounds(
    y: np.ndarray,
    stratum: np.ndarray,
    population: tuple[np.ndarray, np.ndarray, np.ndarray],
    mean: float,
    low: float,
    high: float,
    resolution: float,
    alpha: float,
) -> tuple[float, float, float] | None:
    """``(ci_low, ci_high, rank_se)`` of one zero-variance domain by the ``"nearest"`` rule.

    `y` and `stratum` are the domain's valid answers; `population` its ``(domains, strata,
    N_h)`` table. For each sub-stratum, one of its respondents' answers is moved by
    ``-resolution`` (and ``+resolution``), clipped to the scale; the Taylor bound of that
    sample is computed by the ordinary estimator. The lower bound is the largest such lower
    bound, the upper the smallest upper; where no move changes anything (every answer at the
    end of the scale) the bound is the mean itself. ``rank_se`` is the largest SE among the
    samples that set the bounds. None when no moved sample has a positive, finite variance.
    """
    from scipy.special import stdtrit

    dom = np.zeros(y.size, dtype=np.int64)
    _, first = np.unique(stratum, return_index=True)
    bounds = {}
    for sign in (-1.0, 1.0):
        best = None
        moved_any = False
        for j in first.tolist():
            new = y.copy()
            new[j] = min(max(new[j] + sign * resolution, low), high)
            if new[j] == y[j]:
                continue
            moved_any = True
            c = _core(new, dom, stratum, population, low, high)
            var = float(c.var[0])
            if not (np.isfinite(var) and var > 0):
                continue
            se = var**0.5
            q = float(stdtrit(c.df[0], 1.0 - alpha / 2.0))
            bound = float(c.mean[0]) + sign * q * se
            if best is None or sign * bound < sign * best[0]:
                best = (bound, se)
        if best is None and moved_any:
            return None
        bounds[sign] = best
    lo = bounds[-1.0]
    hi = bounds[1.0]
    spread = max((b[1] for b in (lo, hi) if b is not None), default=0.0)
    ci_low = mean if lo is None else min(max(lo[0], low), mean)
    ci_high = mean if hi is None else max(min(hi[0], high), mean)
    return ci_low, ci_high, spread


def zero_variance_intervals(
    c: _Core, y, domain, stratum, low, high, alpha, rule, resolution
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(ci_low, ci_high, rank_se, notes)`` for the zero-variance domains of `c`, in order."""
    from scipy.special import stdtrit

    zv = np.flatnonzero(c.zero_var)
    lo = np.empty(zv.size)
    hi = np.empty(zv.size)
    spread = np.zeros(zv.size)
    notes: list[str] = []
    d_u = _hypergeometric_zero_bound(c.pop_free[zv], c.n_free[zv], alpha)
    ya = stra = starts = order = None
    des = c.design
    for j, i in enumerate(zv.tolist()):
        got = None
        if rule == "nearest" and c.n[i] >= 2:
            if ya is None:  # once: the rows of every domain, by one stable sort
                ya = _checks.as_float_array("y", y, ndim=1)
                stra = _checks.labels("stratum", stratum)
                code, _ = _checks.encode("domain", _checks.labels("domain", domain), des.domains)
                code = np.where(np.isnan(ya), -1, code)
                order = np.argsort(code, kind="stable")
                starts = np.searchsorted(code[order], np.arange(des.domains.size + 1))
            rows = order[starts[i] : starts[i + 1]]
            cells = np.flatnonzero(des.cell_domain == i)
            table = (
                np.zeros(cells.size, dtype=np.int64),
                des.stratum_labels[des.cell_stratum[cells]],
                des.cell_population[cells],
            )
            got = _nearest_sample_bounds(
                ya[rows], stra[rows], table, float(c.mean[i]), low, high, resolution, alpha
            )
        if got is not None:
            lo[j], hi[j], spread[j] = got
            notes.append(
                "every answer equal within its sub-strata, not a census: interval of the "
                f"nearest sample with one answer {resolution:g} lower (or higher): its lower "
                "bound is never below a unit's with one answer that much lower"
            )
            continue
        share = d_u[j] / c.pop[i]
        lo[j] = max(c.mean[i] - share * c.room_down[i], low)
        hi[j] = min(c.mean[i] + share * c.room_up[i], high)
        spread[j] = (hi[j] - lo[j]) / (2 * float(stdtrit(np.inf, 1 - alpha / 2)))
        why = "one respondent" if c.n[i] == 1 else "every answer equal within its sub-strata"
        notes.append(
            f"{why}, not a census: interval from the exact bound of {int(d_u[j])} of the "
            f"{int(c.pop_free[i] - c.n_free[i])} unasked clients possibly answering otherwise"
        )
    return lo, hi, spread, notes
