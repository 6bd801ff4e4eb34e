"""Private: the cell tables (domain x sub-stratum) behind the weights and the estimators.

:func:`_design` checks the population table and the respondents' labels, finds each
respondent's cell (a fast path for rows grouped by cell), collapses thin sub-strata (rules in
:mod:`sampling.weights`) and returns every per-cell, per-variance-stratum and per-domain count
the public functions need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError


def _population_table(stratum_population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(stratum_population, Mapping):
        keys = list(stratum_population.keys())
        if not all(isinstance(k, tuple) and len(k) == 2 for k in keys):
            bad = next(k for k in keys if not (isinstance(k, tuple) and len(k) == 2))
            raise SamplingError(
                f"stratum_population key {bad!r} is not a (domain, stratum) pair; allowed: "
                "{(domain, stratum): N_h}"
            )
        d = [k[0].item() if isinstance(k[0], np.generic) else k[0] for k in keys]
        s = [k[1].item() if isinstance(k[1], np.generic) else k[1] for k in keys]
        n = list(stratum_population.values())
    elif isinstance(stratum_population, tuple) and len(stratum_population) == 3:
        d, s, n = stratum_population
    else:
        raise SamplingError(
            f"stratum_population of type {type(stratum_population).__name__}; allowed: a "
            "mapping {(domain, stratum): N_h} or a tuple (domains, strata, N_h) of arrays"
        )
    pd_ = _checks.labels("stratum_population domains", np.asarray(d) if len(d) else d)
    ps_ = _checks.labels("stratum_population strata", np.asarray(s) if len(s) else s)
    pn = _checks.as_count_array("stratum_population N_h", n)
    if pn.ndim != 1:
        raise SamplingError("stratum_population N_h must be one-dimensional")
    _checks.same_length(
        stratum_population_domains=pd_, stratum_population_strata=ps_, stratum_population_N=pn
    )
    return pd_, ps_, pn


@dataclass(frozen=True)
class _Design:
    """Internal: cell (domain x sub-stratum) tables and the respondents' cells.

    Cells are the rows of the population table sorted by (domain, stratum); ``resp_cell`` is
    each respondent's cell. Rows left out (NaN answers) are moved to ``n_cells`` (a spare bin)
    when the rows are not grouped by cell; when they are, ``seg_starts``/``seg_cells`` give
    each cell's run of rows and the left-out rows stay in place (``cell_respondents`` excludes
    them).
    """

    domains: np.ndarray
    stratum_labels: np.ndarray
    cell_domain: np.ndarray
    cell_stratum: np.ndarray
    cell_population: np.ndarray  # N_h as given
    cell_weight_population: np.ndarray  # N'_h after empty sub-strata were merged in
    cell_respondents: np.ndarray
    cell_group: np.ndarray
    group_domain: np.ndarray
    group_population: np.ndarray
    group_respondents: np.ndarray
    group_cells: np.ndarray  # number of cells with respondents in the group
    group_fpc: np.ndarray
    domain_population: np.ndarray
    domain_respondents: np.ndarray
    collapsed: np.ndarray
    note: np.ndarray
    resp_cell: np.ndarray | None  # None when the rows are grouped (see seg_*)
    n_cells: int
    n_rows: int
    seg_starts: np.ndarray | None  # first row of each run when rows are grouped by cell
    seg_cells: np.ndarray | None  # the cell of each run


def _design(domain, stratum, stratum_population, left_out: np.ndarray | None = None) -> _Design:
    dom = _checks.labels("domain", domain)
    stra = _checks.labels("stratum", stratum)
    n = _checks.same_length(domain=dom, stratum=stra)
    pd_, ps_, pn = _population_table(stratum_population)
    if pn.size == 0:
        raise SamplingError("stratum_population is empty; allowed: at least one (domain, stratum)")
    dom_labels, dcode_p = _checks.factorize(pd_)
    str_labels, scode_p = _checks.factorize(ps_)
    n_dom = dom_labels.size
    n_str = np.int64(str_labels.size)
    p = pn.size
    pop_id = dcode_p.astype(np.int64) * n_str + scode_p
    order = np.argsort(pop_id, kind="stable")
    pop_sorted = pop_id[order]
    if p > 1 and np.any(pop_sorted[1:] == pop_sorted[:-1]):
        j = order[np.flatnonzero(pop_sorted[1:] == pop_sorted[:-1])[0] + 1]
        raise SamplingError(
            f"stratum_population repeats ({pd_[j].item()!r}, {ps_[j].item()!r}); allowed: one "
            "N_h per (domain, stratum)"
        )
    cell_N = pn[order]
    cell_dom = (pop_sorted // n_str).astype(np.int64)
    cell_str = (pop_sorted % n_str).astype(np.int64)

    if n_dom * int(n_str) <= 8 * (n + p) + 100_000:
        table = np.full(n_dom * int(n_str), -1, dtype=np.intp)
        table[pop_sorted] = np.arange(p)
    else:
        table = None

    def cells_of(d_lab: np.ndarray, s_lab: np.ndarray) -> tuple[np.ndarray, bool]:
        """Cell index of each (domain, stratum) label pair, -1 where unknown."""
        dcode, d_ok = _checks.encode("domain", d_lab, dom_labels)
        scode, s_ok = _checks.encode("stratum", s_lab, str_labels)
        if not (d_ok and s_ok):
            return np.where((dcode < 0) | (scode < 0), -1, 0).astype(np.intp), False
        # encode() returns a fresh array, reused in place (large temporaries cost page faults)
        cid = dcode.astype(np.intp, copy=False)
        if n_str > 1:
            cid *= n_str
            cid += scode
        if table is not None:
            cells = table.take(cid, mode="clip")  # in range: the codes were checked
        else:
            pos = np.minimum(np.searchsorted(pop_sorted, cid), p - 1)
            cells = np.where(pop_sorted[pos] == cid, pos, -1)
        full_grid = p == n_dom * int(n_str)  # every (domain, stratum) listed: no -1 possible
        return cells, bool(cells.size == 0 or full_grid or cells.min() >= 0)

    # Rows grouped by cell (each cell's rows contiguous, cells in any order: by unit, as lists
    # and draws usually are) need only the labels at the start of each run, and allow
    # contiguous sums (np.add.reduceat) instead of scattered ones (np.bincount).
    seg_starts = seg_cells = resp_cell = None
    dv, sv = _checks.fast_view(dom), _checks.fast_view(stra)
    probe = min(n, 4 * p + 64)  # cheap early exit for clearly scattered rows
    if (
        n > 1
        and np.count_nonzero((dv[1:probe] != dv[: probe - 1]) | (sv[1:probe] != sv[: probe - 1]))
        < p
    ):
        change = dv[1:] != dv[:-1]
        change |= sv[1:] != sv[:-1]
        bounds = np.flatnonzero(change)
        del change
        if bounds.size < p:  # more runs than cells: some cell is split
            heads = np.empty(bounds.size + 1, dtype=np.intp)
            heads[0] = 0
            np.add(bounds, 1, out=heads[1:])
            head_cells, ok = cells_of(dom[heads], stra[heads])
            if ok and np.bincount(head_cells, minlength=p).max() <= 1:
                seg_starts, seg_cells = heads, head_cells
    if seg_starts is None:
        resp_cell, ok = cells_of(dom, stra)
        if not ok:
            i = int(np.flatnonzero(resp_cell < 0)[0])
            raise SamplingError(
                f"respondent {i} is in ({dom[i].item()!r}, {stra[i].item()!r}), which has no "
                "N_h in stratum_population; allowed: (domain, stratum) pairs listed there"
            )
        if left_out is not None:
            np.putmask(resp_cell, left_out, p)  # the spare bin p collects left-out rows
        cell_r = np.bincount(resp_cell, minlength=p + 1)[:p].astype(np.int64)
    else:
        cell_r = np.zeros(p, dtype=np.int64)
        cell_r[seg_cells] = np.diff(np.append(seg_starts, n))
        if left_out is not None:  # few rows: locate them rather than sum a whole mask
            gone_rows = np.flatnonzero(left_out)
            run = np.searchsorted(seg_starts, gone_rows, side="right") - 1
            cell_r -= np.bincount(seg_cells[run], minlength=p)
    over = np.flatnonzero(cell_r > cell_N)
    if over.size:
        j = over[0]
        raise SamplingError(
            f"({dom_labels[cell_dom[j]].item()!r}, {str_labels[cell_str[j]].item()!r}) has "
            f"{int(cell_r[j])} respondents but N_h={int(cell_N[j])}; allowed: r_h <= N_h"
        )

    cell_Nadj = cell_N.copy()
    rep = np.arange(p, dtype=np.int64)  # representative cell of each cell's variance group
    dom_r = np.bincount(cell_dom, weights=cell_r, minlength=n_dom).astype(np.int64)
    thin = ((cell_r == 0) & (cell_N > 0)) | ((cell_r == 1) & (cell_N > 1))
    flagged = np.unique(cell_dom[thin & (dom_r[cell_dom] > 0)])
    collapsed = np.zeros(n_dom, dtype=bool)
    notes = np.full(n_dom, "", dtype=object)
    if flagged.size:
        dom_starts = np.searchsorted(cell_dom, np.arange(n_dom + 1))
        for d in flagged.tolist():
            cs = np.arange(dom_starts[d], dom_starts[d + 1])
            changed = _collapse_domain(
                cs, cell_Nadj, cell_r, rep, [str(str_labels[c].item()) for c in cell_str[cs]]
            )
            if changed:
                collapsed[d] = True
                notes[d] = "; ".join(changed)
    if collapsed.any():
        groups, cell_group = np.unique(rep, return_inverse=True)
    else:
        groups = cell_group = np.arange(p, dtype=np.int64)
    n_groups = groups.size
    group_N = np.bincount(cell_group, weights=cell_Nadj, minlength=n_groups).astype(np.int64)
    group_r = np.bincount(cell_group, weights=cell_r, minlength=n_groups).astype(np.int64)
    group_cells = np.bincount(cell_group, weights=cell_r > 0, minlength=n_groups).astype(np.int64)
    group_fpc = np.where(group_N > 0, 1.0 - group_r / np.maximum(group_N, 1), 0.0)
    return _Design(
        domains=dom_labels,
        stratum_labels=str_labels,
        cell_domain=cell_dom,
        cell_stratum=cell_str,
        cell_population=cell_N,
        cell_weight_population=cell_Nadj,
        cell_respondents=cell_r,
        cell_group=cell_group.astype(np.int64),
        group_domain=cell_dom[groups],
        group_population=group_N,
        group_respondents=group_r,
        group_cells=group_cells,
        group_fpc=group_fpc,
        domain_population=np.bincount(cell_dom, weights=cell_N, minlength=n_dom).astype(np.int64),
        domain_respondents=dom_r,
        collapsed=collapsed,
        note=notes,
        resp_cell=resp_cell,
        n_cells=p,
        n_rows=n,
        seg_starts=seg_starts,
        seg_cells=seg_cells,
    )


def _collapse_domain(
    cs: np.ndarray, n_adj: np.ndarray, r: np.ndarray, rep: np.ndarray, names: list[str]
) -> list[str]:
    """Collapse thin sub-strata of one domain in place; return the notes."""
    notes: list[str] = []
    local = list(range(cs.size))
    resp = [i for i in local if r[cs[i]] > 0]
    absorbed: dict[int, int] = {}
    for i in local:
        c = cs[i]
        if r[c] == 0 and n_adj[c] > 0:
            after = [j for j in resp if j > i]
            j = after[0] if after else resp[-1]
            notes.append(
                f"sub-stratum {names[i]!r} (N={int(n_adj[c])}) had no respondent; its "
                f"population was added to {names[j]!r}"
            )
            n_adj[cs[j]] += n_adj[c]
            n_adj[c] = 0
            absorbed[i] = j
    runs = [[j] for j in resp]

    def thin(run: list[int]) -> bool:
        return sum(int(r[cs[j]]) for j in run) == 1 and sum(int(n_adj[cs[j]]) for j in run) > 1

    while len(runs) > 1 and any(thin(run) for run in runs):
        i = next(k for k, run in enumerate(runs) if thin(run))
        j = i + 1 if i + 1 < len(runs) else i - 1
        lo, hi = min(i, j), max(i, j)
        notes.append(
            f"sub-stratum {'+'.join(names[k] for k in runs[i])!r} had one respondent; "
            f"collapsed with {'+'.join(names[k] for k in runs[j])!r} for variance"
        )
        runs[lo] = runs[lo] + runs[hi]
        del runs[hi]
    for run in runs:
        for j in run:
            rep[cs[j]] = cs[run[0]]
    for i, j in absorbed.items():
        rep[cs[i]] = rep[cs[j]]
    return notes


def _row_cells(des: _Design) -> np.ndarray:
    """Each row's cell (materialised from the runs when the rows are grouped)."""
    if des.resp_cell is not None:
        return des.resp_cell
    lengths = np.diff(np.append(des.seg_starts, des.n_rows))
    return np.repeat(des.seg_cells, lengths)
