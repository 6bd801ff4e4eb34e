"""allocate: hand-computed allocations and properties (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sampling import SamplingError, allocate


def test_proportional_hand():
    # 10 * [60, 30, 10] / 100 = [6, 3, 1]
    assert allocate(10, [60, 30, 10]).sizes.tolist() == [6, 3, 1]


def test_largest_remainder_keeps_total_and_breaks_ties_to_the_earlier_stratum():
    # 2 * [1, 1, 1] / 3 = [0.667, 0.667, 0.667]: floors 0, remainders equal -> first two get 1
    assert allocate(2, [1, 1, 1]).sizes.tolist() == [1, 1, 0]
    # 7 * [50, 30, 20] / 100 = [3.5, 2.1, 1.4]: floors [3, 2, 1] = 6, one left -> largest
    # remainder 0.5 (stratum 0)
    assert allocate(7, [50, 30, 20]).sizes.tolist() == [4, 2, 1]


def test_neyman_hand():
    # a = N*S = [60, 60, 30]; 10 * a / 150 = [4, 4, 2]
    a = allocate(10, [60, 30, 10], "neyman", sd=[1.0, 2.0, 3.0])
    assert a.sizes.tolist() == [4, 4, 2]
    assert a.method == "neyman"


def test_neyman_caps_at_stratum_size_and_reallocates():
    # a = [100*1, 5*100] = [100, 500]: x_2 = 20*500/600 = 16.7 > N_2 = 5 -> take stratum 2
    # whole (Cochran 5.9) and give the other 15 to stratum 1
    assert allocate(20, [100, 5], "neyman", sd=[1.0, 100.0]).sizes.tolist() == [15, 5]


def test_neyman_zero_sd_strata_fill_last():
    # S_2 = 0: stratum 2 gets nothing until stratum 1 is full (10), then the remaining 40
    assert allocate(50, [10, 100], "neyman", sd=[1.0, 0.0]).sizes.tolist() == [10, 40]
    a = allocate(7, [60, 3, 1], "neyman", sd=[0.0, 0.0, 0.0])
    assert a.method == "neyman->proportional"
    assert a.sizes.tolist() == [7, 0, 0]  # 7*[60,3,1]/64 = [6.56, 0.33, 0.11]


def test_equal_with_minimum_hand():
    # low = [3, 3, 2] (stratum 3 has only 2), up = N; x = [l, l, 2] with 2l + 2 = 12 -> l = 5
    assert allocate(12, [50, 50, 2], "equal", minimum=3).sizes.tolist() == [5, 5, 2]


def test_minimum_raises_small_strata_under_proportional():
    # proportional would give [9.5, 0.5] -> minimum 3 forces [7, 3]
    assert allocate(10, [95, 5], minimum=3).sizes.tolist() == [7, 3]


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        ((11, [5, 5]), {}, "exceeds the frame"),
        ((3, [5, 5]), {"minimum": 2}, "below the minima"),
        ((3, [5, 5], "optimal"), {}, "method"),
        ((3, [5, 5], "neyman"), {}, "sd"),
        ((3, [5, 5], "neyman"), {"sd": [1.0]}, "shape"),
        ((3, [5, -5]), {}, "population"),
        ((3, []), {}, "population"),
    ],
)
def test_bad_arguments(args, kwargs, text):
    with pytest.raises(SamplingError, match=text):
        allocate(*args, **kwargs)


@st.composite
def problems(draw):
    pop = draw(st.lists(st.integers(0, 400), min_size=1, max_size=6))
    method = draw(st.sampled_from(["proportional", "neyman", "equal"]))
    sd = draw(st.lists(st.floats(0, 5), min_size=len(pop), max_size=len(pop)))
    minimum = draw(st.integers(0, 40))
    low = sum(min(minimum, n) for n in pop)
    total = draw(st.integers(low, max(low, sum(pop))))
    return total, pop, method, sd, minimum


@settings(max_examples=40, deadline=None)
@given(problems())
def test_allocation_properties(problem):
    total, pop, method, sd, minimum = problem
    a = allocate(total, pop, method, sd=sd, minimum=minimum)
    n_h = np.asarray(pop)
    assert a.sizes.sum() == total  # exact total
    assert np.all(a.sizes <= n_h)  # never more than the stratum
    assert np.all(a.sizes >= np.minimum(minimum, n_h))  # minima respected
    assert a.target.sum() == pytest.approx(total, abs=1e-6)
    assert np.all(np.abs(a.sizes - a.target) < 1 + 1e-9)  # rounding moves each by < 1
