"""rank_probabilities' in-place draws and tie-free counting give the former loop's numbers.

The oracle below is the simulation loop as it was before them (commit 28de9d0): the same
seed must give the same probabilities to the last bit (the same draws from the stream,
the same arithmetic), whether every unit, some or none are drawn from Student t, with and
without ties at the cut.
"""

from __future__ import annotations

import numpy as np
import pytest

from sampling import rank_probabilities


def _former(mean, se, df, ks, n_sim, seed, lo=0.0, hi=10.0, mean_rank=True):
    """The former loop (28de9d0's ``rank_probabilities`` body for finite inputs), verbatim."""

    def share(x, thr, k, *, lower):
        t = thr[:, None]
        strict = x < t if lower else x > t
        tie = x == t
        n_strict = strict.sum(axis=1, keepdims=True)
        n_tie = tie.sum(axis=1, keepdims=True)
        frac = (k - n_strict) / n_tie
        return (strict + tie * frac).sum(axis=0)

    def mid_rank(x):
        order = np.argsort(x, axis=1)
        ranks = np.empty_like(order)
        rows = np.arange(x.shape[0])[:, None]
        ranks[rows, order] = np.arange(1, x.shape[1] + 1)
        return ranks.sum(axis=0).astype(np.float64)

    mu, sd, dd = np.asarray(mean, float), np.asarray(se, float), np.asarray(df, float)
    units = mu.size
    t_units = np.isfinite(dd)
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    bottom = np.zeros((units, len(ks)))
    top = np.zeros((units, len(ks)))
    rank_sum = np.zeros(units)
    kth = sorted({k - 1 for k in ks} | {units - k for k in ks})
    done = 0
    while done < n_sim:
        b = min(1000, n_sim - done)
        draws = rng.standard_normal((b, units))
        if t_units.any():
            chi = rng.chisquare(np.broadcast_to(dd[t_units], (b, int(t_units.sum()))))
            draws[:, t_units] = draws[:, t_units] / np.sqrt(chi / dd[t_units])
        x = mu + sd * draws
        np.clip(x, lo, hi, out=x)
        part = np.partition(x, kth, axis=1)
        for j, k in enumerate(ks):
            bottom[:, j] += share(x, part[:, k - 1], k, lower=True)
            top[:, j] += share(x, part[:, units - k], k, lower=False)
        if mean_rank:
            rank_sum += mid_rank(x)
        done += b
    return bottom / n_sim, top / n_sim, (rank_sum / n_sim if mean_rank else None)


def _case(name: str):
    rng = np.random.default_rng(17)
    units = 300
    mean = rng.uniform(3.5, 9.8, units)
    se = rng.uniform(0.1, 0.6, units)
    df = rng.integers(3, 40, units).astype(float)
    if name == "all_t":
        return mean, se, df
    if name == "mixed":  # one-respondent units drawn from the normal, a census known exactly
        df[::7] = np.inf
        se[5] = 0.0
        return mean, se, df
    if name == "none_t":
        return mean, se, np.full(units, np.inf)
    if name == "ties":  # units clipped at the top and identical censuses at the bottom
        mean[:12] = 9.95
        se[:12] = 0.4
        mean[12:20] = 1.0
        se[12:20] = 0.0
        return mean, se, df
    raise KeyError(name)


@pytest.mark.parametrize("name", ["all_t", "mixed", "none_t", "ties"])
@pytest.mark.parametrize("mean_rank", [False, True])
def test_same_probabilities_as_the_former_loop(name, mean_rank):
    """Does the same seed give the former loop's probabilities, bit for bit?"""
    mean, se, df = _case(name)
    ks = (1, 10, 15)
    got = rank_probabilities(mean, se, df=df, k=ks, n_sim=2500, seed=20170601, mean_rank=mean_rank)
    bottom, top, ranks = _former(mean, se, df, ks, 2500, 20170601, mean_rank=mean_rank)
    assert got.bottom.tobytes() == bottom.tobytes()
    assert got.top.tobytes() == top.tobytes()
    if mean_rank:
        assert got.mean_rank.tobytes() == ranks.tobytes()
    np.testing.assert_allclose(got.bottom.sum(axis=0), ks)


def test_ties_take_the_general_count():
    """With exact ties at the cut (censuses at one value), are the places still shared?"""
    got = rank_probabilities([6.0, 6.0, 6.0, 9.0], [0.0] * 4, k=(1, 4), n_sim=10)
    bottom, top, _ = _former([6.0] * 3 + [9.0], [0.0] * 4, [np.inf] * 4, (1, 4), 10, 0)
    assert got.bottom.tobytes() == bottom.tobytes() and got.top.tobytes() == top.tobytes()
    np.testing.assert_allclose(got.bottom[:3, 0], [1 / 3] * 3)
