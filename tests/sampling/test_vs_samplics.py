"""domain_means against samplics' TaylorEstimator run on each domain alone (oracle, 1e-9).

samplics is a test-only dependency. Its conventions (read from samplics 0.6.1
``estimation/expansion.py``): ``fpc`` is the multiplier ``1 - f_h`` per stratum; without PSUs
every row is a PSU, so df = rows - strata; the interval is ``point -/+ t(df) * se``.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sampling import domain_means, domain_proportions, stratum_weights

with warnings.catch_warnings():  # samplics warns at import that it is archived
    warnings.simplefilter("ignore")
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

RESULTS = Path(__file__).parent / "results" / "samplics_reference.json"
TOL = 1e-9
KINDS = ("群众", "企业", "其他")


def samplics_alone(y, weight, stratum, fpc, level):
    est = TaylorEstimator(PopParam.mean, alpha=1 - level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.estimate(y, samp_weight=weight, stratum=stratum, fpc=fpc)
    return est


def test_reference_numbers_with_provenance():
    ref = json.loads(RESULTS.read_text(encoding="utf-8"))
    y, dom, kind, pop = [], [], [], {}
    for unit, strata in ref["data"].items():
        for name, cell in strata.items():
            pop[(unit, name)] = cell["N"]
            y += cell["y"]
            dom += [unit] * len(cell["y"])
            kind += [name] * len(cell["y"])
    est = domain_means(np.array(y, float), dom, kind, pop)
    for i, unit in enumerate(est.domain.tolist()):
        want = ref["results"][unit]
        assert est.mean[i] == pytest.approx(want["mean"], abs=TOL)
        assert est.se[i] == pytest.approx(want["se"], abs=TOL)
        # samplics does not clip; ours stays on the 0-10 scale (issue 16)
        assert est.ci_low[i] == pytest.approx(max(want["ci_low"], 0.0), abs=TOL)
        assert est.ci_high[i] == pytest.approx(min(want["ci_high"], 10.0), abs=TOL)
        assert est.df[i] == want["df"]
        assert est.method[i] == "taylor"


scores = st.one_of(
    st.integers(0, 10).map(float),
    st.sampled_from([10.0, 8.0, 6.0, 3.0, 0.0]),  # the 100/80/60/30/0 map rescaled
    st.floats(0, 10, allow_nan=False),
)


@st.composite
def designs(draw, thin: bool):
    n_dom = draw(st.integers(1, 4))
    y, dom, kind, pop = [], [], [], {}
    for d in range(n_dom):
        for h in range(draw(st.integers(1, 3))):
            big_n = draw(st.integers(2, 60))
            low = 0 if thin else 2
            r = draw(st.integers(low, min(big_n, 25)))
            pop[(f"U{d:02d}", KINDS[h])] = big_n
            y += draw(st.lists(scores, min_size=r, max_size=r))
            dom += [f"U{d:02d}"] * r
            kind += [KINDS[h]] * r
    perm = draw(st.permutations(range(len(y))))
    level = draw(st.sampled_from([0.9, 0.95, 0.99]))
    y = np.array(y, float)[list(perm)] if y else np.array([], float)
    return y, np.array(dom)[list(perm)], np.array(kind)[list(perm)], pop, level


def compare(y, dom, kind, pop, level):
    est = domain_means(y, dom, kind, pop, level)
    w = stratum_weights(dom, kind, pop)
    checked = 0
    for i, unit in enumerate(est.domain.tolist()):
        rows = dom == unit
        if est.method[i] == "no-respondents":
            assert np.isnan(est.mean[i]) and est.n[i] == 0
            continue
        groups = w.group[rows]
        if np.unique(groups, return_counts=True)[1].min() < 2:
            continue  # a variance stratum with one row: samplics divides by zero (n/(n-1))
        if est.mean[i] == 0:
            continue  # samplics computes coef_var = se / mean in plain Python: ZeroDivisionError
        ref = samplics_alone(y[rows], w.weight[rows], groups, w.fpc[rows], level)
        assert est.mean[i] == pytest.approx(ref.point_est, abs=TOL)
        assert est.se[i] == pytest.approx(ref.stderror, abs=TOL)
        assert est.df[i] == ref.degree_of_freedom
        if est.method[i] in ("taylor", "census"):
            # samplics does not clip; ours stays on the 0-10 scale (issue 16)
            assert est.ci_low[i] == pytest.approx(max(ref.lower_ci, 0.0), abs=TOL)
            assert est.ci_high[i] == pytest.approx(min(ref.upper_ci, 10.0), abs=TOL)
        checked += 1
    return checked


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs(thin=False))
def test_matches_samplics_per_domain(design):
    y, dom, kind, pop, level = design
    positive = sum(1 for d in np.unique(dom) if y[dom == d].sum() > 0)
    assert compare(y, dom, kind, pop, level) == positive  # every domain was compared


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs(thin=True))
def test_matches_samplics_after_collapsing(design):
    # thin sub-strata (0 or 1 respondent) are collapsed; samplics is then given our weights and
    # the collapsed variance strata, and must agree
    y, dom, kind, pop, level = design
    compare(y, dom, kind, pop, level)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs(thin=False), st.integers(0, 2**32 - 1))
def test_proportion_point_and_se_match_samplics_mean_of_indicator(design, seed):
    y, dom, kind, pop, level = design
    yes = (np.random.default_rng(seed).random(y.size) < 0.7).astype(float)
    est = domain_proportions(yes, dom, kind, pop, level)
    w = stratum_weights(dom, kind, pop)
    for i, unit in enumerate(est.domain.tolist()):
        rows = dom == unit
        if est.proportion[i] == 0:
            continue
        ref = samplics_alone(yes[rows], w.weight[rows], w.group[rows], w.fpc[rows], level)
        assert est.proportion[i] == pytest.approx(ref.point_est, abs=TOL)
        assert est.se[i] == pytest.approx(ref.stderror, abs=TOL)
        assert 0 <= est.ci_low[i] <= est.proportion[i] <= est.ci_high[i] <= 1
