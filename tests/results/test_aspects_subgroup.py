"""Items asked of a subgroup (服务企业 only of enterprises) are domain estimates (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

import call_scripts
import sampling
from survey_service.models import SampleDraw, SurveyWave, Unit
from survey_service.results.aspects import SUBGROUP_NOTE, aspect_results
from survey_service.results.respondents import Respondent, WaveData

LEVEL = {10: "very_satisfied", 8: "satisfied", 6: "basically_satisfied", 3: "dissatisfied"}
# (stratum kind, applicant, enterprise_service points or None, work points)
ROWS = [
    ("群众", "individual", None, 10),
    ("群众", "individual", None, 8),
    ("群众", "enterprise", 6, 8),
    ("群众", "individual", None, 6),
    ("企业", "enterprise", 10, 10),
    ("企业", "enterprise", 8, 8),
    ("企业", "enterprise", 3, 6),
]
POPULATION = {("U", "U/群众"): 40, ("U", "U/企业"): 10}


def _data() -> WaveData:
    script = call_scripts.load_script("standard_satisfaction")
    respondents = []
    for i, (kind, applicant, enterprise, work) in enumerate(ROWS):
        answers = {"screening": "dealt", "applicant": applicant, "work": LEVEL[work]}
        if enterprise is not None:
            answers["enterprise_service"] = LEVEL[enterprise]
        respondents.append(
            Respondent(i + 1, f"p{i}", "U", f"U/{kind}", "1.1", answers, float(work))
        )
    design = {
        "strata": {label: {"unit": "U", "N": n} for (_u, label), n in POPULATION.items()},
        "units": {"U": {"N": 50, "completes": 7}},
    }
    return WaveData(
        wave=SurveyWave(name="t", year=2026),
        script=script,
        draw=SampleDraw(design=design),
        units=[Unit(code="U", name="单位U", category="机关科室")],
        respondents=respondents,
    )


def test_enterprise_service_is_a_domain_estimate():
    rows = {a.item: a for a in aspect_results(_data())}
    es = rows["enterprise_service"]
    ref = sampling.subgroup_means(
        np.array([np.nan if e is None else e for _k, _a, e, _w in ROWS], dtype=float),
        np.array([a == "enterprise" for _k, a, _e, _w in ROWS]),
        np.array(["U"] * len(ROWS)),
        np.array([f"U/{k}" for k, *_ in ROWS]),
        POPULATION,
    )
    assert es.subgroup and es.n == 4 and es.n_base == 7 and SUBGROUP_NOTE in es.note
    assert es.mean == pytest.approx(float(ref.mean[0]), abs=1e-12)
    assert es.se == pytest.approx(float(ref.se[0]), abs=1e-12)
    # by hand: weights 10 (群众: 40/4) and 10/3 (企业); (10*6 + 10/3*(10+8+3)) / (10 + 10)
    assert es.mean == pytest.approx((10 * 6 + 10 / 3 * 21) / 20, abs=1e-12) == 6.5
    # the old way (weights by the raters only: 40/1 and 10/3): (40*6 + 10/3*21) / 50 = 6.2
    old = sampling.domain_means(
        np.array([6.0, 10.0, 8.0, 3.0]),
        np.array(["U"] * 4),
        np.array(["U/群众", "U/企业", "U/企业", "U/企业"]),
        POPULATION,
    )
    assert float(old.mean[0]) == pytest.approx(6.2, abs=1e-12)
    work = rows["work"]
    assert not work.subgroup and work.n == work.n_base == 7
