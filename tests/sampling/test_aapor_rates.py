"""aapor_rates: hand-worked AAPOR (2016) rates."""

import math

import numpy as np
import pytest

from sampling import CODE_GROUP, SamplingError, aapor_rates

# I=40 (1.1), P=10 (1.2), R=20 (2.11), NC=10 (2.21), O=5 (2.32), UH=40 (3.13), UO=10 (3.90),
# NE=15 (4.31). Resolved = I+P+R+NC+O = 85; e = 85 / (85 + 15) = 0.85; U = 50, eU = 42.5.
COUNTS = {
    "1.1": 40,
    "1.2": 10,
    "2.11": 20,
    "2.21": 10,
    "2.32": 5,
    "3.13": 40,
    "3.90": 10,
    "4.31": 15,
}
HAND = {
    "rr1": 40 / 135,  # I / (85 + 50)
    "rr2": 50 / 135,
    "rr3": 40 / 127.5,  # I / (85 + 42.5)
    "rr4": 50 / 127.5,
    "rr5": 40 / 85,
    "rr6": 50 / 85,
    "coop1": 40 / 75,  # I / ((I+P) + R + O) = 40 / (50 + 20 + 5)
    "coop2": 50 / 75,
    "coop3": 40 / 70,  # I / ((I+P) + R)
    "coop4": 50 / 70,
    "ref1": 20 / 135,
    "ref2": 20 / 127.5,
    "ref3": 20 / 85,
    "con1": 75 / 135,  # ((I+P)+R+O) / ((I+P)+R+O+NC+U) = 75 / (75 + 10 + 50)
    "con2": 75 / 127.5,
    "con3": 75 / 85,
}


def test_hand_worked_rates():
    r = aapor_rates(COUNTS)
    assert r.e == pytest.approx(0.85) and r.e_estimated
    assert (r.I, r.P, r.R, r.NC, r.O, r.UH, r.UO, r.NE) == (40, 10, 20, 10, 5, 40, 10, 15)
    for name, value in HAND.items():
        assert getattr(r, name) == pytest.approx(value, abs=1e-15), name


def test_given_e():
    # e = 0.5: eU = 25 -> RR3 = 40 / 110
    r = aapor_rates(COUNTS, e=0.5)
    assert r.rr3 == pytest.approx(40 / 110) and not r.e_estimated and r.e == 0.5


def test_codes_and_groups_add_up():
    a = aapor_rates({"2.11": 3, "2.12": 4, "R": 1, "I": 5})
    assert a.R == 8 and a.I == 5


def test_vectorised_equals_per_unit():
    rng = np.random.default_rng(3)
    counts = {code: rng.integers(0, 30, 12) for code in CODE_GROUP}
    many = aapor_rates(counts)
    for u in range(12):
        one = aapor_rates({k: int(v[u]) for k, v in counts.items()})
        for name in ("e", "rr1", "rr3", "rr4", "coop2", "ref2", "con2"):
            assert getattr(many, name)[u] == pytest.approx(getattr(one, name), nan_ok=True)


def test_zero_denominators_give_nan_not_warnings():
    r = aapor_rates({"4.20": 3})
    assert math.isnan(r.rr1) and math.isnan(r.coop1) and r.e == 0.0
    r = aapor_rates({"1.1": 2})
    assert math.isnan(r.e) is False and r.rr3 == 1.0
    r = aapor_rates({"3.13": 4})  # nothing resolved: e unknown
    assert math.isnan(r.e) and math.isnan(r.rr3) and r.rr1 == 0.0


@pytest.mark.parametrize(
    ("counts", "e", "text"),
    [
        ({"1.3": 1}, None, "not an AAPOR code"),
        ({"1.1": -1}, None, ">= 0"),
        ({"1.1": 1.5}, None, "whole"),
        ({"1.1": 1}, 1.5, r"e has value 1.5; allowed range \[0, 1\]"),
        ({"1.1": [1, 2], "2.11": [1, 2, 3]}, None, "shape"),
        ([("1.1", 1)], None, "mapping"),
    ],
)
def test_bad_arguments(counts, e, text):
    with pytest.raises(SamplingError, match=text):
        aapor_rates(counts, e=e)


def test_not_attempted_cases_are_counted_apart():
    # 12 of 100 released cases never dialled (3.11): in UH, and reported as such
    r = aapor_rates({"1.1": 40, "2.11": 20, "2.21": 10, "3.11": 12, "3.13": 8, "4.31": 10})
    assert r.UH == 20.0 and r.not_attempted == 12.0
    assert r.not_attempted_share == 0.12
    assert r.rr4 == 40 / (40 + 30 + r.e * 20)
    v = aapor_rates({"1.1": [5, 0], "3.11": [5, 0]})
    assert v.not_attempted.tolist() == [5.0, 0.0]
    assert v.not_attempted_share[0] == 0.5 and np.isnan(v.not_attempted_share[1])
