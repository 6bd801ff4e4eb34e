"""Issue 16, honest intervals: a monotone zero-variance bound, the scale, Satterthwaite df."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import t as student

from sampling import SamplingError, domain_means, rank_probabilities

POP = {("a", "x"): 1000}


def _one(y, pop=POP, **kw):
    return domain_means(np.asarray(y, float), ["a"] * len(y), ["x"] * len(y), pop, **kw)


def test_perfect_unit_is_not_worse_than_one_answer_of_8():
    # 29 answers of 10 and one 8 (N = 1,000): mean 298/30, s^2 = (29/225 + 841/225)/29
    s2 = (29 * (1 / 15) ** 2 + (29 / 15) ** 2) / 29
    se = math.sqrt((1 - 30 / 1000) * s2 / 30)
    low_8 = 298 / 30 - student.ppf(0.975, 29) * se
    one_8 = _one([10.0] * 29 + [8.0])
    assert one_8.method[0] == "taylor"
    assert one_8.se[0] == pytest.approx(se, abs=1e-12)
    assert one_8.ci_low[0] == pytest.approx(low_8, abs=1e-12)
    assert one_8.ci_low[0] == pytest.approx(9.799045493884, abs=1e-11)
    assert one_8.ci_high[0] == 10.0  # 10.07 before: clipped to the scale
    # 30 answers of 10 with the scale's resolution 2: exactly the bound of 29 x 10 + one 8
    top = _one([10.0] * 30, resolution=2.0)
    assert top.method[0] == "zero-variance-bound"
    assert (top.ci_low[0], top.ci_high[0]) == pytest.approx((low_8, 10.0), abs=1e-12)
    assert top.rank_se[0] == pytest.approx(se, abs=1e-12)
    assert top.se[0] == 0.0
    # default resolution 1 point: the nearest sample is 29 x 10 + one 9
    s2_9 = (29 * (1 / 30) ** 2 + (29 / 30) ** 2) / 29
    se_9 = math.sqrt(0.97 * s2_9 / 30)
    top1 = _one([10.0] * 30)
    assert top1.ci_low[0] == pytest.approx(299 / 30 - student.ppf(0.975, 29) * se_9, abs=1e-12)
    assert top1.ci_low[0] > one_8.ci_low[0]
    assert "one answer 1 lower" in top1.note[0]


def test_interior_value_bounds_both_sides():
    # all 7 (N = 1,000, n = 10): lower from 9 x 7 + one 6, upper from 9 x 7 + one 8, symmetric
    est = _one([7.0] * 10)
    s2 = (9 * 0.1**2 + 0.9**2) / 9
    half = student.ppf(0.975, 9) * math.sqrt(0.99 * s2 / 10)
    assert est.ci_low[0] == pytest.approx(6.9 - half, abs=1e-12)
    assert est.ci_high[0] == pytest.approx(7.1 + half, abs=1e-12)


def test_hypergeometric_rule_is_still_available_and_not_monotone():
    top = _one([10.0] * 30, zero_variance="hypergeometric")
    assert (round(top.ci_low[0], 2), top.ci_high[0]) == (9.07, 10.0)
    with pytest.raises(SamplingError, match="zero_variance"):
        _one([10.0] * 3, zero_variance="rule-of-thumb")
    with pytest.raises(SamplingError, match="resolution"):
        _one([10.0] * 3, resolution=0)


_GRID = st.sampled_from([0.5, 1.0, 2.0, 2.5])


@settings(max_examples=150, deadline=None)
@given(
    r1=st.integers(1, 8),
    r2=st.integers(0, 8),
    extra1=st.integers(1, 300),
    extra2=st.integers(0, 300),
    resolution=_GRID,
    steps=st.integers(1, 20),
    where=st.integers(0, 15),
)
def test_all_top_never_gets_a_lower_bound_below_one_lower_answer(
    r1, r2, extra1, extra2, resolution, steps, where
):
    n = r1 + r2
    if n < 2:
        return
    kinds = ["p"] * r1 + ["e"] * r2
    pop = {("a", "p"): r1 + extra1, ("a", "e"): r2 + extra2 if r2 else extra2}
    if pop[("a", "e")] == 0:
        del pop[("a", "e")]
    lower = max(10.0 - steps * resolution, 0.0)
    y_top = np.full(n, 10.0)
    y_one = y_top.copy()
    y_one[where % n] = lower
    kw = {"resolution": resolution}
    top = domain_means(y_top, ["a"] * n, kinds, pop, **kw)
    one = domain_means(y_one, ["a"] * n, kinds, pop, **kw)
    assert top.ci_low[0] >= one.ci_low[0] - 1e-12
    for est in (top, one):
        assert 0.0 <= est.ci_low[0] <= est.mean[0] <= est.ci_high[0] <= 10.0


@settings(max_examples=100, deadline=None)
@given(
    y=st.lists(st.sampled_from([0.0, 3.0, 6.0, 8.0, 10.0, 9.5, 0.5]), min_size=1, max_size=12),
    extra=st.integers(0, 50),
)
def test_no_interval_leaves_the_scale(y, extra):
    est = _one(y, pop={("a", "x"): len(y) + extra})
    assert 0.0 <= est.ci_low[0] <= est.mean[0] <= est.ci_high[0] <= 10.0


def test_simulated_draws_stay_on_the_scale():
    # unit 1 at 10 with SE 1: half its draws exceed 10 and are clipped, tying unit 0 at 10;
    # bottom-1 probability 0.5 (below 10) + 0.5 * 0.5 (tie shared) = 0.75, not 0.5
    r = rank_probabilities([10.0, 10.0], [0.0, 1.0], k=1, n_sim=20_000, seed=1)
    assert r.bottom[1, 0] == pytest.approx(0.75, abs=0.01)
    free = rank_probabilities([10.0, 10.0], [0.0, 1.0], k=1, n_sim=20_000, seed=1, scale=None)
    assert free.bottom[1, 0] == pytest.approx(0.5, abs=0.01)


def test_satterthwaite_df_and_flag():
    # 群众: N = 500, answers 0 and 10 (r = 2); 企业: N = 50, 10 answers alternating 9, 10
    y = [0.0, 10.0] + [9.0, 10.0] * 5
    kind = ["群众"] * 2 + ["企业"] * 10
    pop = {("a", "群众"): 500, ("a", "企业"): 50}
    w = {"群众": 500 / 550, "企业": 50 / 550}
    v = {
        "群众": w["群众"] ** 2 * (1 - 2 / 500) * 50.0 / 2,
        "企业": w["企业"] ** 2 * (1 - 10 / 50) * (2.5 / 9) / 10,
    }
    df_s = sum(v.values()) ** 2 / (v["群众"] ** 2 / 1 + v["企业"] ** 2 / 9)
    est = domain_means(y, ["a"] * 12, kind, pop)
    assert est.df[0] == est.df_design[0] == 10
    assert est.df_satterthwaite[0] == pytest.approx(df_s, rel=1e-12)
    assert est.df_satterthwaite[0] == pytest.approx(1.0000, abs=1e-3)
    assert bool(est.df_flag[0]) and est.df_method == "n-h"
    ratio = student.ppf(0.975, df_s) / student.ppf(0.975, 10)
    assert f"{ratio:.1f}x as wide" in est.note[0]
    used = domain_means(y, ["a"] * 12, kind, pop, df_method="satterthwaite")
    assert used.df[0] == pytest.approx(df_s, rel=1e-12) and used.df_method == "satterthwaite"
    half = student.ppf(0.975, df_s) * math.sqrt(sum(v.values()))
    assert used.ci_high[0] == pytest.approx(min(est.mean[0] + half, 10.0), abs=1e-9)
    assert used.ci_low[0] == pytest.approx(max(est.mean[0] - half, 0.0), abs=1e-9)


def test_one_stratum_satterthwaite_equals_n_minus_one():
    est = _one([3.0, 5.0, 8.0, 9.0])
    assert est.df_satterthwaite[0] == pytest.approx(3.0, rel=1e-12)
    assert not bool(est.df_flag[0])
