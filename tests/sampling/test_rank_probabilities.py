"""rank_probabilities: seeded simulation of league-table places."""

import math

import numpy as np
import pytest

from sampling import SamplingError, domain_means, rank_probabilities


def test_clearly_separated_units():
    r = rank_probabilities([5.0, 6.0, 9.0], [0.1, 0.1, 0.1], k=1, n_sim=2000, seed=1)
    assert r.bottom[:, 0].tolist() == [1.0, 0.0, 0.0]
    assert r.top[:, 0].tolist() == [0.0, 0.0, 1.0]
    assert r.mean_rank.tolist() == [1.0, 2.0, 3.0]


def test_reproducible_and_seed_dependent():
    rng = np.random.default_rng(0)
    m, s = rng.normal(8, 0.3, 50), rng.uniform(0.1, 0.3, 50)
    a = rank_probabilities(m, s, k=(5, 10), n_sim=3000, seed=4)
    b = rank_probabilities(m, s, k=(5, 10), n_sim=3000, seed=4)
    c = rank_probabilities(m, s, k=(5, 10), n_sim=3000, seed=5)
    assert np.array_equal(a.bottom, b.bottom) and not np.array_equal(a.bottom, c.bottom)
    # each simulation fills exactly k places
    np.testing.assert_allclose(a.bottom.sum(axis=0), [5, 10])
    np.testing.assert_allclose(a.top.sum(axis=0), [5, 10])


def test_two_equal_units_share_the_bottom_place():
    r = rank_probabilities([7.0, 7.0, 9.0], [0.5, 0.5, 0.01], k=1, n_sim=10_000, seed=2)
    assert r.bottom[0, 0] == pytest.approx(0.5, abs=0.02)  # binomial sd 0.005
    assert r.bottom[2, 0] == 0.0


def test_exact_ties_share_places_evenly():
    # three units known exactly (se 0) at the same value: each gets 1/3 of the bottom place
    r = rank_probabilities([6.0, 6.0, 6.0, 9.0], [0.0, 0.0, 0.0, 0.0], k=1, n_sim=10)
    np.testing.assert_allclose(r.bottom[:3, 0], [1 / 3] * 3)


def test_student_t_has_heavier_tails_than_normal():
    # unit 0 sits 3 se above unit 1; with df=2 it falls below much more often than with normal
    m, s = [3.0, 0.0], [1.0 / math.sqrt(2), 1.0 / math.sqrt(2)]
    normal = rank_probabilities(m, s, k=1, n_sim=20_000, seed=3)
    heavy = rank_probabilities(m, s, df=[2, 2], k=1, n_sim=20_000, seed=3)
    assert heavy.bottom[0, 0] > 2 * normal.bottom[0, 0] > 0
    # P(X0 < X1) for normal draws = Phi(-3 / 1) = 0.00135
    assert normal.bottom[0, 0] == pytest.approx(0.00135, abs=0.0012)


def test_units_without_estimate_are_excluded():
    est = domain_means(
        [5, 6, 7, 8, 9],
        ["a", "a", "b", "b", "b"],
        ["x"] * 5,
        {("a", "x"): 20, ("b", "x"): 20, ("c", "x"): 20},
    )
    r = rank_probabilities(est.mean, est.se, est.df, k=1, n_sim=500, seed=0)
    assert r.included.tolist() == [True, True, False]
    assert math.isnan(r.bottom[2, 0]) and math.isnan(r.mean_rank[2])
    assert r.bottom[0, 0] + r.bottom[1, 0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"k": 4}, "exceeds the 3 units"),
        ({"k": 0}, ">= 1"),
        ({"se": [0.1, -0.1, 0.1]}, "se >= 0"),
        ({"df": [0, 5, 5]}, "df > 0"),
        ({"n_sim": 0}, "n_sim"),
        ({"seed": -2}, "seed"),
        ({"se": [0.1, 0.1]}, "length"),
    ],
)
def test_bad_arguments(kwargs, text):
    args = {"mean": [1.0, 2.0, 3.0], "se": [0.1, 0.1, 0.1], "k": 1} | kwargs
    with pytest.raises(SamplingError, match=text):
        rank_probabilities(**args)
