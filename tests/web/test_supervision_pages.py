"""The supervisor's page over HTTP: figures, sorting, filtering, releases."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import AuditEvent, Case, CaseStatus, SampleDraw
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
