"""Signs of gaming: shares against the rest of the category, robust z-scores."""

import math

import numpy as np
import pytest
from scipy.stats import binom

from sampling import SamplingError, robust_z, share_outliers


def test_top_box_share_against_the_other_units_of_the_category():
    # category a: units 0-3; unit 0 has every answer top-box; category b: units 4-5
    x = [30, 10, 12, 11, 5, 9]
    n = [30, 20, 20, 20, 10, 10]
    r = share_outliers(x, n, ["a", "a", "a", "a", "b", "b"])
    assert r.reference[0] == pytest.approx(33 / 60, abs=1e-15)
    assert r.reference[4] == 0.9 and r.reference[5] == 0.5
    p0 = binom.sf(29, 30, 33 / 60)  # P(X >= 30) = 0.55^30
    assert r.p_value[0] == pytest.approx(0.55**30, rel=1e-12) and r.p_value[0] == p0
    # Holm: the smallest of 6 p values is multiplied by 6
    assert r.p_adjusted[0] == pytest.approx(6 * p0, rel=1e-12)
    assert r.flagged.tolist() == [True, False, False, False, False, False]
    assert r.share[0] == 1.0


def test_low_side_and_untestable_units():
    r = share_outliers([0, 8, 9, 0], [20, 10, 10, 0], side="low")
    assert r.p_value[0] == pytest.approx(binom.cdf(0, 20, 17 / 20), rel=1e-12)
    assert math.isnan(r.p_value[3]) and math.isnan(r.share[3]) and not r.flagged[3]
    assert r.flagged[0]
    with pytest.raises(SamplingError, match="exceed"):
        share_outliers([3], [2])


def test_robust_z_within_categories():
    z = robust_z([300.0, 310.0, 290.0, 305.0, 120.0, 60.0, 60.0, np.nan], list("aaaaabbb"))
    assert z[4] == pytest.approx(-180 / (1.4826 * 10), abs=1e-12)
    assert z[:4].tolist() == pytest.approx([0.0, 10 / 14.826, -10 / 14.826, 5 / 14.826])
    assert z[5] == 0.0 and z[6] == 0.0 and math.isnan(z[7])  # MAD 0, value at the median
