"""Closing a wave releases the cases agents hold, and the agent is told so, never stuck."""

from __future__ import annotations

import pytest
import time_machine
from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import AuditEvent, CallAttempt, Case, CaseStatus, SurveyWave
from survey_service.results import publication
from tests.calls.conftest import EVENING, make_sample, reload
from tests.factories import make_user


@pytest.fixture(autouse=True)
def wednesday_evening():
    with time_machine.travel(EVENING, tick=False):
        yield


@pytest.fixture
def held(session, client, auth):
    """An agent holding a case (an open attempt) when the office closes the wave."""
    make_sample(session)
    with transaction(session):
        make_user(session, username="agent", role="agent")
        office = make_user(session, username="office", role="statistician")
    auth.login("agent")
    response = client.post("/calls/next")
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.get(f"/calls/case/{case_id}").status_code == 200
    session.commit()
    wave = session.exec(select(SurveyWave)).one()
    with transaction(session):
        publication.close_results(session=session, wave=wave, actor=office)
    return session.get(Case, case_id)


def test_closing_the_wave_releases_the_held_case(session, held):
    """The held case is pending again, unclaimed; its open attempt ended; the release audited."""
    reload(session, held)
    assert (held.status, held.claimed_by, held.claimed_at) == (CaseStatus.PENDING, None, None)
    attempts = session.exec(select(CallAttempt).where(CallAttempt.case_id == held.id)).all()
    assert [(a.outcome, a.ended_at is not None) for a in attempts] == [(None, True)]
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "results.close_released_holds")
    ).one()
    assert event.detail["cases"] == 1


def test_the_workbench_says_the_wave_closed_with_no_continue_link(client, held):
    html = client.get("/calls/").get_data(as_text=True)
    assert "第 2017 轮调查已结束（结果已封存）" in html
    assert 'id="resume"' not in html
    assert 'id="no-open-wave"' in html and "目前没有进行中的调查轮次" in html


def test_the_case_page_says_the_wave_closed_and_offers_the_way_back(client, held):
    """The old tab's page and any answer posted from it: 409 with words and a link back."""
    response = client.get(f"/calls/case/{held.id}")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "第 2017 轮调查已结束（结果已封存）：该样本已释放" in html
    assert 'id="back-to-workbench" href="/calls/"' in html
    posted = client.post(f"/calls/case/{held.id}/answer", data={"item_id": "x", "value": "1"})
    assert posted.status_code == 409
    assert 'id="back-to-workbench"' in posted.get_data(as_text=True)
    assert client.post("/calls/next").status_code == 302  # nothing to take, no error
