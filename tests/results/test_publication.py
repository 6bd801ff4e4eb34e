"""Closing and publishing results: frozen figures, late answers refused, units see their own."""

from __future__ import annotations

import pytest
from sqlmodel import select

from survey_service.calls import attempts as calling
from survey_service.calls import interviews, queue
from survey_service.db import transaction
from survey_service.errors import Conflict
from survey_service.models import Case, CaseStatus, ResultSnapshot, WaveStatus
from survey_service.results import estimates as results
from survey_service.results import publication
from tests.factories import make_user


def test_close_freezes_and_refuses_late_answers(session, wave_with_answers):
    """After closing, do figures stay fixed, and is a late answer refused with a message?"""
    wave, _plan = wave_with_answers
    live = results.unit_results(session, wave)
    office = make_user(session, username="office", role="reviewer")
    with transaction(session):
        count = publication.close_results(session=session, wave=wave, actor=office)
    assert count == 3 and wave.status == WaveStatus.CLOSED
    assert len(session.exec(select(ResultSnapshot)).all()) == 3
    frozen = publication.wave_results(session, wave)
    assert [(r.code, r.n, r.mean, r.se) for r in frozen] == [
        (r.code, r.n, r.mean, r.se) for r in live
    ]
    # The re-computation from the stored data gives the same figures.
    assert publication.recheck(session, wave) == []
    # A case still open (say, a refusal re-opened for a callback) can no longer be
    # claimed, nor answered.
    case = session.exec(select(Case).where(Case.disposition == "2.11")).first()
    case.status, case.disposition = CaseStatus.PENDING, None
    session.add(case)
    session.flush()
    agent = make_user(session, username="late", role="agent")
    assert queue.claim_next_case(session, agent) is None
    attempt = calling.start_attempt(session, case, agent=agent)
    with pytest.raises(Conflict) as info:
        interviews.answer(session, case, attempt, "screening", "dealt", actor=agent)
    assert "已封存" in str(info.value)
    with pytest.raises(Conflict):
        publication.close_results(session=session, wave=wave, actor=office)


def test_publish_shows_units_their_own_page(app, client, session, wave_with_answers):
    """Before publication a unit sees nothing; after it, its own aggregates only."""
    from survey_service.models import Unit
    from tests.factories import PASSWORD

    wave, _plan = wave_with_answers
    with transaction(session):
        unit_a = session.exec(select(Unit).where(Unit.code == "A")).one()
        make_user(session, username="staff_a", role="unit", unit=unit_a)
        office = make_user(session, username="office", role="reviewer")
    client.post("/auth/login", data={"username": "staff_a", "password": PASSWORD})
    page = client.get("/unit/results").get_data(as_text=True)
    assert "尚未发布" in page
    with pytest.raises(Conflict):
        publication.publish_results(session=session, wave=wave, actor=office)
    with transaction(session):
        publication.close_results(session=session, wave=wave, actor=office)
        publication.publish_results(session=session, wave=wave, actor=office)
    page = client.get("/unit/results").get_data(as_text=True)
    row = next(r for r in results.unit_results(session, wave) if r.code == "A")
    assert f"{row.mean:.2f}" in page
    assert "单位B" not in page and "后十名概率" not in page
    # Aspect 办事服务 for A: 100, 100, 80, 100, 80 points -> 9.20 on the 10-point scale.
    aspects = page[page.index('id="aspects"') : page.index("</table>", page.index('id="aspects"'))]
    assert "办事服务" in aspects and "9.20" in aspects
    assert 'id="dispositions"' not in page  # case outcomes stay with the office
    assert client.get("/statistics/units/B").status_code == 403


def test_office_closes_and_publishes_on_the_page(client, session, wave_with_answers):
    from tests.factories import PASSWORD

    wave, _plan = wave_with_answers
    with transaction(session):
        make_user(session, username="office", role="reviewer")
    client.post("/auth/login", data={"username": "office", "password": PASSWORD})
    assert client.post("/statistics/results/close").status_code == 302
    session.refresh(wave)
    assert wave.status == WaveStatus.CLOSED
    assert "已封存" in client.get("/statistics/results").get_data(as_text=True)
    assert client.post("/statistics/results/close").status_code == 409
    assert client.post("/statistics/results/publish").status_code == 302
    session.refresh(wave)
    assert wave.status == WaveStatus.PUBLISHED
    svg = client.get("/statistics/results/forest.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "单位A" in svg.get_data(as_text=True)
