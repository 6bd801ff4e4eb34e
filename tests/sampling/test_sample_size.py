"""sample_size: hand-computed sizes (Cochran 1977 eqs. 4.1-4.2)."""

import math

import numpy as np
import pytest

from sampling import SamplingError, sample_size

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


def test_hand_computed_sizes():
    # sd=2, margin=0.5: n0 = (1.959964 * 2 / 0.5)^2 = 61.4633
    # N=500:   n = 61.4633 / (1 + 61.4633/500)   = 54.735 -> 55
    # N=50000: n = 61.4633 / (1 + 61.4633/50000) = 61.388 -> 62
    # N=20: frame smaller than the need and than the minimum -> census of 20
    s = sample_size([20, 500, 50_000], sd=2.0)
    n0 = (Z95 * 2 / 0.5) ** 2
    assert s.n0 == pytest.approx([n0] * 3, rel=1e-12)
    assert s.n_fpc[1] == pytest.approx(n0 / (1 + n0 / 500), rel=1e-12)
    assert s.completes.tolist() == [20, 55, 62]
    assert s.census.tolist() == [True, False, False]
    assert s.release.tolist() == [20, 55, 62]
    # achieved margin at n=55 of N=500: z * 2 * sqrt((1 - 55/500) / 55)
    assert s.margin[1] == pytest.approx(Z95 * 2 * math.sqrt((1 - 55 / 500) / 55), rel=1e-12)
    assert s.margin[0] == 0.0


def test_minimum_and_census_rule():
    # sd=0.5: n0 = (1.96 * 0.5 / 0.5)^2 = 3.84 -> raised to the minimum 30; N=25 < 30 -> census
    s = sample_size([25, 1000], sd=0.5, minimum=30)
    assert s.completes.tolist() == [25, 30]
    assert s.census.tolist() == [True, False]


def test_inflation_for_response_and_eligibility():
    # N=500: 55 completes / (0.5 * 0.8) = 137.5 -> release 138
    # N=90:  61.4633 / (1 + 61.4633/90) = 36.52 -> 37 completes; 37 / 0.4 = 92.5 -> 93 > 90,
    #        so all 90 are released and the expected completes (36) fall short: shortfall
    s = sample_size([500, 90], sd=2.0, response_rate=0.5, eligibility_rate=0.8)
    assert s.completes.tolist() == [55, 37]
    assert s.release.tolist() == [138, 90]
    assert s.shortfall.tolist() == [False, True]
    assert s.census.tolist() == [False, False]


def test_vectorised_broadcast_equals_scalar_calls():
    pops = np.array([8, 31, 400, 7000, 50_000])
    sds = np.array([1.0, 2.5, 1.7, 3.0, 0.2])
    s = sample_size(pops, sds, margin=0.4, level=0.9, minimum=20, response_rate=0.6)
    for i in range(pops.size):
        one = sample_size(
            int(pops[i]), float(sds[i]), margin=0.4, level=0.9, minimum=20, response_rate=0.6
        )
        assert int(one.completes) == s.completes[i]
        assert int(one.release) == s.release[i]


def test_exact_integer_need_is_not_rounded_up():
    # choose sd so that n0 = 100 exactly with N infinite-ish: no spurious 101 from rounding
    sd = 0.5 * 10 / Z95
    s = sample_size(10**12, sd, minimum=0)
    assert int(s.completes) == 100


def test_empty_frame():
    s = sample_size(0, 2.0)
    assert int(s.completes) == 0 and int(s.release) == 0 and bool(s.census)
    assert math.isnan(float(s.margin))


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"margin": 0}, "margin"),
        ({"level": 1.5}, "level"),
        ({"response_rate": 0}, "response_rate"),
        ({"eligibility_rate": 1.2}, "eligibility_rate"),
        ({"minimum": -1}, "minimum"),
        ({"sd": -1.0}, "sd"),
        ({"population": -3}, "population"),
        ({"population": 10.5}, "population"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, text):
    args = {"population": 100, "sd": 2.0} | kwargs
    with pytest.raises(SamplingError, match=text):
        sample_size(**args)
