"""Domain (subpopulation) estimates for items asked of a subgroup, against samplics."""

import warnings

import numpy as np
import pytest

from sampling import SamplingError, stratum_weights, subgroup_means

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam


def _samplics(y, member, w, group, fpc):
    e = TaylorEstimator(PopParam.mean)
    # non-members get any finite y (1): samplics zeroes them in the member domain
    e.estimate(np.where(member, y, 1.0), samp_weight=w, stratum=group, fpc=fpc, domain=member)
    return e.point_est[True], e.stderror[True], e.lower_ci[True], e.upper_ci[True]


def test_hand_computed_ratio_and_variance():
    # 群众 N=10, r=2 (w=5): member 7, non-member; 企业 N=20, r=2 (w=10): members 9 and 5
    est = subgroup_means(
        [7, np.nan, 9, 5],
        [True, False, True, True],
        ["u"] * 4,
        ["群众", "群众", "企业", "企业"],
        {("u", "群众"): 10, ("u", "企业"): 20},
    )
    assert est.mean[0] == pytest.approx(175 / 25, abs=1e-12)
    assert est.population[0] == pytest.approx(25.0)  # 5 + 10 + 10 clients estimated
    # z = w delta (y - 7) / 25: 群众 (0, 0) -> 0; 企业 (10*2/25, -10*2/25) = (0.8, -0.8)
    # var = (1 - 2/20) * 2/1 * (0.8^2 + 0.8^2) = 0.9 * 2 * 1.28
    assert est.se[0] == pytest.approx(np.sqrt(0.9 * 2 * 1.28), abs=1e-12)
    assert (int(est.n[0]), int(est.n_base[0]), float(est.df[0])) == (3, 4, 2.0)


def test_matches_samplics_domain_estimation_to_1e9():
    rng = np.random.default_rng(16)
    units, per = 12, 60
    dom = np.repeat(np.arange(units), per)
    kind = np.where(rng.random(dom.size) < 0.3, "企业", "群众")
    member = rng.random(dom.size) < np.where(kind == "企业", 0.8, 0.2)  # e.g. enterprise items
    y = np.where(member, rng.integers(0, 11, dom.size).astype(float), np.nan)
    y[member & (rng.random(dom.size) < 0.05)] = np.nan  # members who could not say
    pop = {(u, k): int(rng.integers(per, 400)) for u in range(units) for k in ("企业", "群众")}
    est = subgroup_means(y, member, dom, kind, pop)
    keep = ~(member & np.isnan(y))
    w = stratum_weights(dom[keep], kind[keep], pop)
    for i in range(units):
        rows = dom[keep] == i
        ref = _samplics(
            y[keep][rows], member[keep][rows], w.weight[rows], w.group[rows], w.fpc[rows]
        )
        got = (est.mean[i], est.se[i], est.ci_low[i], est.ci_high[i])
        clipped = (ref[0], ref[1], max(ref[2], 0.0), min(ref[3], 10.0))
        np.testing.assert_allclose(got, clipped, rtol=0, atol=1e-9)
        assert est.method[i] == "taylor"


def test_differs_from_weighting_members_by_the_whole_substratum():
    # members are 9 of 10 群众 respondents (all score 10) but 1 of 10 企业 ones (score 0)
    y = np.array([10.0] * 9 + [np.nan] + [0.0] + [np.nan] * 9)
    member = ~np.isnan(y)
    kind = ["群众"] * 10 + ["企业"] * 10
    pop = {("u", "群众"): 100, ("u", "企业"): 100}
    est = subgroup_means(y, member, ["u"] * 20, kind, pop)
    assert est.mean[0] == pytest.approx(90 * 10 / 100, abs=1e-12)  # (90*10 + 10*0) / 100
    # the old way (members alone weighted N_h / m_h) would give (100*10 + 100*0)/200 = 5
    with pytest.raises(SamplingError, match="member"):
        subgroup_means(y, [1] * 20, ["u"] * 20, kind, pop)


def test_zero_variance_subgroup_and_single_member():
    y = np.array([10.0, 10.0, 10.0, np.nan, np.nan, 10.0])
    member = ~np.isnan(y)
    pop = {("u", "x"): 50}
    est = subgroup_means(y, member, ["u"] * 6, ["x"] * 6, pop)
    assert est.method[0] == "zero-variance-bound"
    moved = y.copy()
    moved[0] = 9.0
    ref = subgroup_means(moved, member, ["u"] * 6, ["x"] * 6, pop)
    assert est.ci_low[0] == pytest.approx(ref.ci_low[0], abs=1e-12) and est.ci_high[0] == 10
    one = subgroup_means([8.0, np.nan, np.nan], [True, False, False], ["u"] * 3, ["x"] * 3, pop)
    assert (one.mean[0], one.ci_low[0], one.ci_high[0]) == (8.0, 0.0, 10.0)
