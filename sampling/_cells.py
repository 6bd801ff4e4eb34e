"""Private: per-domain means and Taylor variances from per-cell sufficient statistics.

Shared by :func:`sampling.domain_means` and :func:`sampling.domain_proportions`; the
conventions (linearised scores, FPC, df) are stated in :mod:`sampling.estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling._design import _Design, _design
from sampling.errors import SamplingError


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
    df_satt: np.ndarray  # Satterthwaite effective degrees of freedom (NaN if no variance)


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
    # Satterthwaite (1946): each variance stratum's term has r_g - 1 degrees of freedom
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(r_g >= 2, var_g * var_g / (r_g - 1), 0.0)
    den = np.bincount(gdom, weights=part, minlength=n_dom)
    with np.errstate(divide="ignore", invalid="ignore"):
        df_satt = np.where(has & (var > 0) & (den > 0), var * var / den, np.nan)
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
        des,
        n,
        pop,
        mean,
        var,
        df,
        deff,
        census,
        zero_var,
        n_free,
        pop_free,
        room_down,
        room_up,
        df_satt,
    )
