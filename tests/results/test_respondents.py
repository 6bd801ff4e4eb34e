"""The one respondent loader: estimates, exports and the unit report see the same respondents."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import select

from survey_service.models import Case
from survey_service.results import estimates, respondents, unit_report
from survey_service.results.exports import design_table, microdata_table
from survey_service.results.exports import tables as export_tables
from tests.results.test_exports import PLAN, build_wave


@pytest.fixture
def wave(session):
    return build_wave(session)


def test_loader_gives_every_respondent_once_with_its_score(session, wave):
    """Are all 1.1/1.2 cases loaded, by unit then case id, scored unless nothing was rated?"""
    data = respondents.load_wave(session, wave)
    expected = session.exec(
        select(Case.id).where(Case.disposition.in_(respondents.RESPONDENT_DISPOSITIONS))
    ).all()
    assert sorted(r.case_id for r in data.respondents) == sorted(expected)
    assert [(r.unit, r.case_id) for r in data.respondents] == sorted(
        (r.unit, r.case_id) for r in data.respondents
    )
    # PLAN: every non-refusal is a complete; B has one that answered only 说不清 (no score)
    completes = {
        code: sum(a is not None for _, (_, p) in k.items() for a in p) for code, k in PLAN.items()
    }
    assert data.count_by_unit() == Counter(completes) == Counter(A=7, B=7, C=6, D=5)
    assert Counter(r.unit for r in data.scored) == Counter(A=7, B=6, C=6, D=5)
    assert all(0 <= r.score <= 10 for r in data.scored)


def test_estimates_exports_and_unit_report_see_the_same_respondents(session, wave):
    """Do the unit's n, the microdata rows, the design's r_h and the unit page agree?"""
    data = respondents.load_wave(session, wave)
    scored = Counter(r.unit for r in data.scored)
    loaded = data.count_by_unit()
    live = {r.code: r for r in estimates.unit_results(session, wave)}
    assert {code: r.n for code, r in live.items()} == dict(scored)
    header, rows = microdata_table(session, wave)
    unit_col, score_col = header.index("unit"), header.index("score")
    respondent_col = header.index("respondent")
    assert Counter(row[unit_col] for row in rows if row[respondent_col] == 1) == loaded
    assert Counter(row[unit_col] for row in rows if row[score_col] != "") == scored
    header, rows = design_table(session, wave)
    by_unit: Counter[str] = Counter()
    for row in rows:
        by_unit[row[0]] += row[header.index("有效回答r_h")]
    assert by_unit == scored
    header, rows = export_tables.estimates(session, data)
    assert {row[0]: row[header.index("有效回答")] for row in rows} == dict(scored)
    for code in PLAN:
        page = unit_report.unit_report(session, wave, code, for_unit=False)
        assert page["figures"].n == scored[code]
        assert page["respondents"] == loaded[code]
        overall = next(a for a in page["aspects"] if a.item == "overall")
        rated = sum(
            1
            for r in data.respondents
            if r.unit == code and r.answers.get("overall") not in (None, "na")
        )
        assert overall.n == rated
