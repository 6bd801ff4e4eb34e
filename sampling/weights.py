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

from dataclasses import dataclass

import numpy as np

from sampling._design import _design, _row_cells

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
