"""The supervisor's page over HTTP: figures, sorting, filtering, releases."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlmodel import select

from survey_service import dispositions as aapor
from survey_service.calls import paradata
from survey_service.db import transaction
from survey_service.models import AuditEvent, Case, CaseStatus, QualityReview, SampleDraw
from survey_service.results import estimates
from tests.calls.test_quality import build_quality_world
from tests.calls.test_supervision import build_wave
from tests.factories import make_user


@pytest.fixture
def built(session, auth):
    built = build_wave(session)
    with transaction(session):
        make_user(session, username="boss", role="supervisor")
    auth.login("boss")
    return built


def _unit_order(html: str) -> list[str]:
    return re.findall(r'data-unit="(U\d+)"', html)


def test_page_shows_the_wave(client, built):
    """Does the page show the units, the held case, the callback and the agents?"""
    html = client.get("/supervision/").get_data(as_text=True)
    assert _unit_order(html) == ["U001", "U002"]
    assert "25.0%" in html and "37.5%" in html  # RR3 of U001 and U002
    assert 'data-agent="agent_one"' in html and 'data-agent="agent_two"' in html
    assert html.count("追加发放下一批") == 2  # both projected 2.0 against a target of 4
    assert f"/supervision/cases/{built['b'][2].id}/release" in html


def test_sort_and_filter(client, built):
    """Do sort, direction, text and category filters work through the query string?"""
    html = client.get("/supervision/?sort=response_rate&dir=desc").get_data(as_text=True)
    assert _unit_order(html) == ["U002", "U001"]
    assert _unit_order(client.get("/supervision/?q=住房").get_data(as_text=True)) == ["U002"]
    assert _unit_order(client.get("/supervision/?category=基层站所").get_data(as_text=True)) == [
        "U001"
    ]
    assert client.get("/supervision/?wave=nosuch").status_code == 404


def test_release_next_replicate(client, session, built):
    """Does one click release the unit's next replicate (2 cases), audited in the draw?"""
    response = client.post("/supervision/release-replicate", data={"unit": "U001"})
    assert response.status_code == 302
    session.commit()
    released = session.exec(select(Case).where(Case.released)).all()
    assert len(released) == 10
    draw = session.get(SampleDraw, built["draw"].id)
    session.refresh(draw)
    assert draw.design["releases"][-1]["units"] == ["U001"]
    assert draw.design["releases"][-1]["by"] == "boss"


def test_release_held_case(client, session, built):
    case_id = built["b"][2].id
    assert client.post(f"/supervision/cases/{case_id}/release").status_code == 302
    session.commit()
    case = session.get(Case, case_id)
    session.refresh(case)
    assert case.status == CaseStatus.PENDING
    assert session.exec(
        select(AuditEvent).where(AuditEvent.action == "case_released_by_supervisor")
    ).one()


@pytest.fixture
def reviewed(session, auth):
    world = build_quality_world(session)
    auth.login("boss")
    return world


def test_reviewer_strikes_and_the_score_moves(client, session, reviewed):
    """Build the list, strike the straight-lined interview with a reason: the mean drops."""
    assert client.post("/supervision/review/build").status_code == 302
    html = client.get("/supervision/review").get_data(as_text=True)
    a = reviewed["cases"][0]
    assert f'data-case="{a.id}"' in html and "所有评分题选择同一选项" in html
    assert "无录音记录" in html
    session.commit()
    review = session.exec(select(QualityReview).where(QualityReview.case_id == a.id)).one()
    response = client.post(
        f"/supervision/review/{review.id}/decide", data={"decision": "strike", "reason": ""}
    )
    assert response.status_code == 302
    session.commit()
    assert session.get(Case, a.id).disposition == aapor.COMPLETE  # no reason: refused
    client.post(
        f"/supervision/review/{review.id}/decide",
        data={"decision": "strike", "reason": "录音中无应答"},
    )
    session.commit()
    case = session.get(Case, a.id)
    session.refresh(case)
    assert case.disposition == aapor.BREAK_OFF
    [row] = estimates.unit_results(session, reviewed["wave"])
    assert row.mean == pytest.approx((7 + 4.5) / 2)
    assert "已作废" in client.get("/supervision/review").get_data(as_text=True)


def test_paradata_csv(client, session, reviewed, app):
    """One row per attempt, agent pseudonymised (never the login), day-part and review result."""
    client.post("/supervision/review/build")
    response = client.get("/supervision/paradata.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == list(paradata.HEADER)
    assert len(rows) == 4
    agent = paradata.agent_pseudonym(reviewed["agent"].id, app.config["SECRET_KEY"])
    assert {r[11] for r in rows[1:]} == {agent}
    assert "agent_one" not in response.get_data(as_text=True)
    by_case = {r[1]: r for r in rows[1:]}
    a, _, c = reviewed["cases"]
    assert by_case[a.pseudonym][13] == "straight_lining"
    assert by_case[a.pseudonym][14] == "pending"
    assert by_case[c.pseudonym][13] == "short"
    assert {r[9] for r in rows[1:]} == {aapor.COMPLETE}
    session.commit()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "export.paradata_csv")).one()
