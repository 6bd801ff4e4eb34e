"""Issue 16: non-response bounds, R-indicator, tests at the cuts, empirical-Bayes view."""

import math

import numpy as np
import pytest
from scipy.stats import t as student

from sampling import (
    SamplingError,
    boundary_tests,
    median_tests,
    nonresponse_bounds,
    r_indicator,
    shrink_means,
)


def test_nonresponse_bounds_by_hand():
    # 群众 N=300, m=10 sampled, 6 answered (mean 9); 企业 N=100, m=4, 4 answered (mean 7)
    y = [9.0] * 6 + [7.0] * 4 + [np.nan]  # one more 企业 respondent could not say (说不清)
    kind = ["群众"] * 6 + ["企业"] * 5
    pop = {("u", "群众"): 300, ("u", "企业"): 100}
    b = nonresponse_bounds(y, ["u"] * 11, kind, pop, {("u", "群众"): 10, ("u", "企业"): 5})
    # 群众 [(54 + 0)/10, (54 + 40)/10] = [5.4, 9.4]; 企业 [(28 + 0)/5, (28 + 10)/5] = [5.6, 7.6]
    assert b.low[0] == pytest.approx(0.75 * 5.4 + 0.25 * 5.6, abs=1e-12)
    assert b.high[0] == pytest.approx(0.75 * 9.4 + 0.25 * 7.6, abs=1e-12)
    assert b.nonresponse_share[0] == pytest.approx(0.75 * 0.4 + 0.25 * 0.2, abs=1e-12)
    assert (int(b.sampled[0]), int(b.answered[0])) == (15, 10)
    assert b.high[0] - b.low[0] == pytest.approx(10 * b.nonresponse_share[0], abs=1e-12)
    with pytest.raises(SamplingError, match="m_h >= r_h"):
        nonresponse_bounds(y, ["u"] * 11, kind, pop, {("u", "群众"): 5})


def test_full_response_bounds_are_the_estimate():
    b = nonresponse_bounds([8.0, 6.0], ["u", "u"], ["x", "x"], {("u", "x"): 50}, {})
    assert (b.low[0], b.high[0], b.nonresponse_share[0]) == (7.0, 7.0, 0.0)


def test_r_indicator_by_hand():
    # unit a: 群众 4 cases, 3 responded (0.75); 企业 4 cases, 1 responded (0.25)
    # rho = 0.75 x4, 0.25 x4; mean 0.5; S^2 = 8 * 0.0625 / 7; R = 1 - 2 S
    # unit b: response 0.5 in both kinds: R = 1
    resp = [1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0]  # a: 8 cases, then b: 4
    dom = ["a"] * 8 + ["b"] * 4
    kind = ["p"] * 4 + ["e"] * 4 + ["p", "p", "e", "e"]
    ri = r_indicator(resp, dom, kind)
    assert ri.domain.tolist() == ["a", "b"]
    assert ri.r[0] == pytest.approx(1 - 2 * math.sqrt(0.5 / 7), abs=1e-12)
    assert ri.r[1] == pytest.approx(1.0, abs=1e-12)
    assert ri.response_rate.tolist() == [0.5, 0.5]
    # design weights: 群众 cases weigh 3, 企业 1 -> rhobar = (12*0.75 + 4*0.25)/16 = 0.625
    w = [3.0] * 4 + [1.0] * 4 + [1.0] * 4
    rw = r_indicator(resp, dom, kind, weight=w)
    ss = 12 * (0.75 - 0.625) ** 2 + 4 * (0.25 - 0.625) ** 2
    assert rw.r[0] == pytest.approx(1 - 2 * math.sqrt(ss / 15), abs=1e-12)


def test_boundary_tests_at_the_tenth_place():
    mean = np.arange(1, 25, dtype=float)  # 24 units, means 1..24
    se = np.full(24, 0.5)
    se[9], se[10] = 0.3, 0.4  # the 10th and 11th lowest
    df = np.full(24, 30.0)
    df[10] = 8.0
    bottom, top = boundary_tests(mean, se, df, k=10)
    assert (bottom.side, bottom.inside, bottom.outside) == ("bottom", 9, 10)
    assert bottom.difference == 1.0
    assert bottom.se == pytest.approx(0.5, abs=1e-15)  # sqrt(0.09 + 0.16)
    welch = 0.25**2 / (0.09**2 / 30 + 0.16**2 / 8)
    assert bottom.df == pytest.approx(welch, rel=1e-12)
    assert bottom.t == pytest.approx(2.0, abs=1e-12)
    assert bottom.p_value == pytest.approx(2 * student.sf(2.0, welch), rel=1e-12)
    assert (top.inside, top.outside, top.difference) == (14, 13, -1.0)
    assert top.se == pytest.approx(math.sqrt(0.5), abs=1e-15)
    assert top.df == pytest.approx(60.0, rel=1e-12)
    with pytest.raises(SamplingError, match="k=24"):
        boundary_tests(mean, se, df, k=24)


def test_median_tests():
    r = median_tests(
        [6.0, 8.0, 9.0, 5.0, 7.0], [0.5, 0.5, 0.25, 1.0, 1.0], [10, 10, 10, 4, 4], list("aaabb")
    )
    assert r.median.tolist() == [8.0, 8.0, 8.0, 6.0, 6.0]
    assert r.t.tolist() == [-4.0, 0.0, 4.0, -1.0, 1.0]
    assert r.p_value[0] == pytest.approx(2 * student.sf(4.0, 10), rel=1e-12)
    assert r.p_value[4] == pytest.approx(2 * student.sf(1.0, 4), rel=1e-12)


def test_shrinkage_equal_se_is_james_stein():
    # equal psi = 1: A = s^2 - psi = 4 - 1 = 3, B = 1/4, theta = 8 + 0.75 (y - 8)
    s = shrink_means([6.0, 8.0, 10.0], [1.0, 1.0, 1.0])
    assert s.between_variance == pytest.approx(3.0, abs=1e-12)
    assert s.common_mean == pytest.approx(8.0, abs=1e-12)
    np.testing.assert_allclose(s.mean, [6.5, 8.0, 9.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.shrinkage, [0.25] * 3, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.sd, [math.sqrt(0.75)] * 3, rtol=0, atol=1e-12)
    # spread smaller than noise: A = 0 and every unit at the common mean
    z = shrink_means([7.0, 7.5, 8.0], [1.0, 1.0, 1.0])
    assert z.between_variance == 0.0 and z.mean.tolist() == [7.5, 7.5, 7.5]


def test_shrinkage_pulls_a_small_extreme_unit_past_a_large_one():
    # unit 0: mean 4 with SE 2 (small); unit 1: mean 5 with SE 0.1 (large); two others
    y = np.array([4.0, 5.0, 8.0, 8.5])
    se = np.array([2.0, 0.1, 0.2, 0.2])
    s = shrink_means(y, se)
    psi = se**2
    w = 1 / (s.between_variance + psi)
    mu = np.sum(w * y) / np.sum(w)
    assert np.sum((y - mu) ** 2 / (s.between_variance + psi)) == pytest.approx(3.0, abs=1e-9)
    np.testing.assert_allclose(s.mean, mu + (1 - psi * w) * (y - mu), rtol=0, atol=1e-12)
    assert s.raw_rank.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert s.rank.tolist() == [2.0, 1.0, 3.0, 4.0]  # the small unit is no longer the lowest
    with pytest.raises(SamplingError, match="two units"):
        shrink_means([1.0, 2.0], [0.0, 1.0])
