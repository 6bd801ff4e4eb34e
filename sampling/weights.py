"""Design weights ``N_h / r_h`` within sub-strata, with collapsing of thin sub-strata.

Each unit is its own population (a *domain*); inside it the client list is split into
sub-strata (client kind 群众/企业, or any column) of known sizes ``N_h``. With ``r_h``
respondents in sub-stratum ``h`` every respondent there stands for ``N_h / r_h`` clients: the
stratified estimator with a nonresponse adjustment within sub-strata (weighting classes; Lohr
2010 sec. 8.5, Kalton and Flores-Cervantes 2003).

Two thin cases are collapsed, each with a note:

* a sub-stratum with clients but **no respondent** has no weight to give; its population is
  added to the nearest sub-stratum of the same unit that has respondents (the next one in label
  order, else the previous one), a weighting-class collapse;
* a sub-stratum with **one respondent** (and more than one client) keeps its weight
  ``N_h / 1``, but no within-stratum variance can be computed from one answer; for variance it
  is grouped with its neighbour (next in label order, else previous), the collapsed-strata
  variance estimator (Wolter 2007 sec. 2.5; Cochran 1977 sec. 5A.12), which tends to
  overstate the variance a little. The group's finite population correction is pooled,
  ``1 - sum r / sum N``.

References
----------
.. [1] Cochran, W.G. (1977), *Sampling Techniques*, 3rd edn., Wiley, sec. 5A.12.
.. [2] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., secs. 3.2 and 8.5.
.. [3] Wolter, K.M. (2007), *Introduction to Variance Estimation*, 2nd edn., Springer, sec. 2.5.
.. [4] Kalton, G. and Flores-Cervantes, I. (2003), "Weighting methods", *Journal of Official
   Statistics* 19, 81-97.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["StratumWeights", "stratum_weights"]


@dataclass(frozen=True)
class StratumWeights:
    """Result of :func:`stratum_weights`.

    Per respondent (aligned with the input arrays):

    Attributes
    ----------
    weight : ndarray of float64
        ``N'_h / r_h`` where ``N'_h`` is ``N_h`` plus any population merged in from empty
        sub-strata.
    fpc : ndarray of float64
        ``1 - r_g / N'_g`` of the respondent's variance stratum ``g``.
    group : ndarray of int64
        Variance stratum (after collapsing); index into the ``group_*`` arrays.
    domain_code : ndarray of int64
        Index of the respondent's domain in ``domains``.

    Per variance stratum ``g``:

    group_domain : ndarray of int64
        Domain index.
    group_label : ndarray of str
        Sub-stratum labels joined by ``+`` (e.g. ``"企业+群众"`` after collapsing).
    group_population : ndarray of int64
        ``N'_g``.
    group_respondents : ndarray of int64
        ``r_g``.

    Per domain ``d`` (the sorted distinct domains of ``stratum_population``):

    domains : ndarray
        Domain labels.
    domain_population : ndarray of int64
        ``N_d = sum_h N_h``.
    domain_respondents : ndarray of int64
        ``n_d``.
    collapsed : ndarray of bool
        Whether any sub-stratum of the domain was collapsed.
    note : ndarray of str
        What was collapsed and why ("" if nothing).
    """

    weight: np.ndarray
    fpc: np.ndarray
    group: np.ndarray
    domain_code: np.ndarray
    group_domain: np.ndarray
    group_label: np.ndarray
    group_population: np.ndarray
    group_respondents: np.ndarray
    domains: np.ndarray
    domain_population: np.ndarray
    domain_respondents: np.ndarray
    collapsed: np.ndarray
    note: np.ndarray


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


def stratum_weights(domain, stratum, stratum_population) -> StratumWeights:
    """Weights ``N_h / r_h`` and variance strata for respondents, collapsing thin sub-strata.

    Parameters
    ----------
    domain : array_like of int or str, length n
        Domain (unit) of each respondent.
    stratum : array_like of int or str, length n
        Sub-stratum of each respondent within its domain (e.g. ``"群众"``/``"企业"``).
    stratum_population : mapping or tuple
        ``{(domain, stratum): N_h}``, or a tuple ``(domains, strata, N_h)`` of equal-length
        arrays; every (domain, stratum) of a respondent must appear. Domains listed here without
        respondents appear in the result with ``domain_respondents == 0``.

    Returns
    -------
    StratumWeights
        Frozen dataclass; see its attributes.

    Notes
    -----
    ``w_i = N'_h / r_h`` for respondent ``i`` in sub-stratum ``h``; the weights of a domain sum
    to its population ``N_d`` (Lohr 2010 eq. 3.3 with ``r_h`` in place of ``n_h``, i.e. a
    weighting-class nonresponse adjustment). See the module docstring for the collapsing rules.

    References
    ----------
    .. [1] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., secs. 3.2, 8.5.
    .. [2] Wolter, K.M. (2007), *Introduction to Variance Estimation*, 2nd edn., sec. 2.5.

    Examples
    --------
    >>> w = stratum_weights(["A", "A", "A"], ["x", "x", "y"], {("A", "x"): 10, ("A", "y"): 4})
    >>> w.weight.tolist()
    [5.0, 5.0, 4.0]
    """
    des = _design(domain, stratum, stratum_population)
    cell = _row_cells(des)
    with np.errstate(divide="ignore", invalid="ignore"):
        cell_w = np.where(
            des.cell_respondents > 0,
            des.cell_weight_population / np.maximum(des.cell_respondents, 1),
            0.0,
        )
    names = np.array([str(x) for x in des.stratum_labels.tolist()], dtype=object)
    first_cell = np.full(des.group_domain.size, -1, dtype=np.int64)
    first_cell[des.cell_group[::-1]] = np.arange(des.n_cells)[::-1]
    group_label = names[des.cell_stratum[first_cell]].copy()
    for g in np.flatnonzero(des.collapsed[des.group_domain]).tolist():
        members = np.flatnonzero(
            (des.cell_group == g) & ((des.cell_respondents > 0) | (des.cell_population > 0))
        )
        group_label[g] = "+".join(names[des.cell_stratum[members]].tolist())
    group = des.cell_group[cell]
    return StratumWeights(
        weight=cell_w[cell],
        fpc=des.group_fpc[group],
        group=group,
        domain_code=des.cell_domain[cell],
        group_domain=des.group_domain,
        group_label=group_label.astype(str),
        group_population=des.group_population,
        group_respondents=des.group_respondents,
        domains=des.domains,
        domain_population=des.domain_population,
        domain_respondents=des.domain_respondents,
        collapsed=des.collapsed,
        note=des.note.astype(str),
    )
