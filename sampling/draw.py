"""Reproducible stratified draw released in replicates.

:mod:`sampling.framehash` hashes the frame and :mod:`sampling.verify` re-checks a stored draw.

Every stratum's frame is put in a seeded random order; cases are released in replicate batches
from the front of that order. Because the order is a uniformly random permutation, the first
``m`` elements of a stratum's order are a simple random sample without replacement (SRSWOR) of
size ``m`` for every ``m``, so any number of released replicates is itself an SRSWOR
(the "replicate" release of telephone surveys, cf. Lohr 2010 sec. 2.3 on random permutations,
and Tillé 2006 sec. 4.5 on sampling by sorting random numbers).

Canonical order
---------------
The draw must not depend on the order in which the frame's rows happen to arrive. Rows are put
in the *canonical order* first: ascending by stratum label, then by key (integers in numeric
order; strings in Unicode code-point order, which is Python's ``sorted`` order and also the
byte order of their UTF-8 encoding). With ``keys=None`` the canonical order is the stratum
label and then the row's position as given (so the caller must present the frame in a fixed
order). One uniform ``Generator(PCG64(seed)).random()`` number is drawn per row in canonical
order; within each stratum rows are sorted by that number (ties, which have probability about
``M**2 / 2**54``, are broken by canonical position). That is the random order.

References
----------
.. [1] Tillé, Y. (2006), *Sampling Algorithms*, Springer, sec. 4.5 (sort by random numbers).
.. [2] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., sec. 2.3.
.. [3] O'Neill, M.E. (2014), "PCG: A family of simple fast space-efficient statistically good
   algorithms for random number generation", HMC-CS-2014-0905.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["DRAW_ALGORITHM", "Draw", "draw"]

DRAW_ALGORITHM = "sampling.draw/v1: canonical (stratum, key) order, one Generator.random() per row"


@dataclass(frozen=True)
class Draw:
    """Result of :func:`draw`. Per-row arrays follow the frame's rows as given.

    Attributes
    ----------
    rank : ndarray of int64
        0-based position of each row in its stratum's random order.
    replicate : ndarray of int64
        1-based replicate number of each row, ``rank // replicate_size_h + 1``. Every row has
        one: rows beyond the planned sample form reserve replicates that can be released later.
    selected : ndarray of bool
        ``rank < sizes_h``: in the planned sample.
    stratum_code : ndarray of int64
        Index of each row's stratum in `strata`.
    strata : ndarray
        Sorted distinct stratum labels; the per-stratum arrays below follow it.
    population : ndarray of int64
        ``N_h``, rows per stratum.
    sizes : ndarray of int64
        Planned sample size ``n_h`` per stratum.
    replicate_size : ndarray of int64
        Batch size per stratum.
    probability : ndarray of float64
        Selection probability of the planned sample, ``n_h / N_h``.
    seed : int
        The seed given.
    generator : str
        ``"numpy <version> Generator(PCG64)"`` plus :data:`DRAW_ALGORITHM`.
    """

    rank: np.ndarray
    replicate: np.ndarray
    selected: np.ndarray
    stratum_code: np.ndarray
    strata: np.ndarray
    population: np.ndarray
    sizes: np.ndarray
    replicate_size: np.ndarray
    probability: np.ndarray
    seed: int
    generator: str

    def released(self, replicates) -> np.ndarray:
        """Rows released once ``replicates`` batches are out (scalar, or one per stratum)."""
        r = _checks.as_count_array("replicates", replicates)
        if r.ndim == 0:
            return self.replicate <= int(r)
        if r.shape != self.strata.shape:
            raise SamplingError(
                f"replicates has shape {r.shape}; allowed: scalar or one per stratum "
                f"{self.strata.shape}"
            )
        return self.replicate <= r[self.stratum_code]


def _per_stratum(name: str, value, strata: np.ndarray, *, minimum: int) -> np.ndarray:
    if isinstance(value, Mapping):
        lookup = {k.item() if isinstance(k, np.generic) else k: v for k, v in value.items()}
        wanted = strata.tolist()
        missing = [s for s in wanted if s not in lookup]
        if missing:
            raise SamplingError(
                f"{name} has no entry for stratum {missing[0]!r}; allowed: one entry per "
                f"stratum of the frame ({len(wanted)} strata)"
            )
        extra = set(lookup) - set(wanted)
        if extra:
            raise SamplingError(
                f"{name} names stratum {sorted(map(str, extra))[0]!r} that is not in the frame"
            )
        value = [lookup[s] for s in wanted]
    arr = _checks.as_count_array(name, value, minimum=minimum)
    if arr.ndim == 0:
        arr = np.full(strata.shape, int(arr), dtype=np.int64)
    if arr.shape != strata.shape:
        raise SamplingError(
            f"{name} has shape {arr.shape}; allowed: a scalar, a mapping, or one value per "
            f"sorted distinct stratum label ({strata.size})"
        )
    return arr


def _random_order(
    frame_strata, seed: int, keys
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(strata labels, stratum code per row, rank per row, N_h) for the frame as given."""
    lab = _checks.labels("frame_strata", frame_strata)
    strata, code = _checks.factorize(lab)
    m = code.size
    small_code = code.astype(np.int16 if strata.size <= 32767 else np.int64)
    if keys is None:
        canon = np.argsort(small_code, kind="stable")
    else:
        k = _checks.labels("keys", keys)
        _checks.same_length(frame_strata=lab, keys=k)
        # keys are unique within a stratum, so the unstable first sort cannot change the
        # canonical order once the stable sort by stratum has run
        by_key = np.argsort(k)
        canon = by_key[np.argsort(small_code[by_key], kind="stable")]
        if m > 1:
            ks = k[canon]
            cs = code[canon]
            dup = np.flatnonzero((ks[1:] == ks[:-1]) & (cs[1:] == cs[:-1]))
            if dup.size:
                i = canon[dup[0] + 1]
                raise SamplingError(
                    f"keys repeat within a stratum (key {k[i].item()!r} in stratum "
                    f"{lab[i].item()!r}, row {int(i)}); allowed: unique keys per stratum"
                )
    rng = np.random.Generator(np.random.PCG64(seed))
    u = rng.random(m)  # u[j] belongs to the j-th row in canonical order
    code_c = code[canon]
    order_c = _sort_within(code_c, u, strata.size)
    pop = np.bincount(code, minlength=strata.size).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(pop)[:-1]))
    rank_c = np.empty(m, dtype=np.int64)
    rank_c[order_c] = np.arange(m, dtype=np.int64) - starts[code_c[order_c]]
    rank = np.empty(m, dtype=np.int64)
    rank[canon] = rank_c
    return strata, code, rank, pop


def _sort_within(code_c: np.ndarray, u: np.ndarray, n_strata: int) -> np.ndarray:
    """Permutation sorting rows by (stratum code, u); ties in u keep canonical order.

    ``Generator.random`` returns multiples of 2**-53, so ``u * 2**53`` is an exact integer
    and, with fewer than 1024 strata, ``code * 2**53 + u * 2**53`` fits in int64: one stable
    integer sort does it. Otherwise a stable sort by u, then a stable sort by code.
    """
    if n_strata <= 1024:
        combined = (code_c.astype(np.int64) << 53) | (u * 2.0**53).astype(np.int64)
        return np.argsort(combined, kind="stable")
    by_u = np.argsort(u, kind="stable")
    return by_u[np.argsort(code_c[by_u], kind="stable")]


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise SamplingError(f"seed={seed!r}; allowed: a whole number >= 0")
    return int(seed)


def draw(frame_strata, sizes, seed: int, replicate_size=None, *, keys=None) -> Draw:
    r"""Seeded random order of every stratum's frame, released in replicates.

    Parameters
    ----------
    frame_strata : array_like of int or str, length M
        Stratum label of each frame row (e.g. ``unit * 2 + client_kind`` or ``"U017/企业"``).
    sizes : int, mapping or array_like of int
        Planned sample size ``n_h`` per stratum, ``0 <= n_h <= N_h``: a scalar for all strata, a
        mapping ``{label: n_h}`` naming every stratum, or an array aligned with the sorted
        distinct labels (``np.unique(frame_strata)``).
    seed : int
        Recorded seed, ``>= 0``; the generator is ``np.random.Generator(np.random.PCG64(seed))``
        (global NumPy state is never touched).
    replicate_size : int, mapping or array_like of int, optional
        Rows per replicate batch per stratum (``>= 1``); default ``max(n_h, 1)``: the planned
        sample is replicate 1.
    keys : array_like of int or str, optional
        Unique row identifier within stratum (e.g. the client-list row id). Makes the draw
        independent of the order in which rows are given; strongly recommended. See the module
        docstring for the canonical order.

    Returns
    -------
    Draw
        Frozen dataclass with ``rank``, ``replicate`` and ``selected`` per row, per-stratum
        ``population``, ``sizes``, ``replicate_size``, ``probability``, and ``generator``.

    Notes
    -----
    Algorithm (vectorised; no loop over strata): put rows in canonical order (sort
    by stratum, then key); draw ``u = Generator(PCG64(seed)).random(M)``, ``u[j]`` for the
    ``j``-th canonical row; a stable sort on ``(stratum, u)`` gives every stratum's random order;
    ``rank`` is the position within the stratum. Sorting i.i.d. uniforms gives a uniformly
    random permutation, so ``{rank < m}`` is an SRSWOR of size ``m`` in each stratum for every
    ``m`` (Tillé 2006, sec. 4.5); in particular releasing ``r`` replicates releases the first
    ``r * replicate_size_h`` rows of the order, an SRSWOR.

    The result depends on the NumPy version only through ``PCG64`` and ``Generator.random``,
    which NumPy keeps stream-compatible; ``generator`` records the version used.

    References
    ----------
    .. [1] Tillé, Y. (2006), *Sampling Algorithms*, Springer, sec. 4.5.

    Examples
    --------
    >>> d = draw([1, 1, 1, 2, 2], sizes=[2, 1], seed=7, keys=[10, 11, 12, 20, 21])
    >>> sorted(d.rank[:3].tolist()), int(d.selected.sum())
    ([0, 1, 2], 3)
    """
    seed_i = _check_seed(seed)
    strata, code, rank, pop = _random_order(frame_strata, seed_i, keys)
    n_h = _per_stratum("sizes", sizes, strata, minimum=0)
    over = np.flatnonzero(n_h > pop)
    if over.size:
        j = over[0]
        raise SamplingError(
            f"sizes[{strata[j].item()!r}]={int(n_h[j])} exceeds the stratum's frame; "
            f"allowed: 0 <= n_h <= {int(pop[j])}"
        )
    if replicate_size is None:
        rs = np.maximum(n_h, 1)
    else:
        rs = _per_stratum("replicate_size", replicate_size, strata, minimum=1)
    replicate = rank // rs[code] + 1
    selected = rank < n_h[code]
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = np.where(pop > 0, n_h / np.maximum(pop, 1), np.nan)
    gen = f"numpy {np.__version__} Generator(PCG64); {DRAW_ALGORITHM}"
    return Draw(
        rank=rank,
        replicate=replicate,
        selected=selected,
        stratum_code=code.astype(np.int64),
        strata=strata,
        population=pop,
        sizes=n_h,
        replicate_size=rs,
        probability=prob,
        seed=seed_i,
        generator=gen,
    )
