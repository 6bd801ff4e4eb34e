"""The reviewer's page: the recording, the call-back verification script, answers stored."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from survey_service import dispositions as aapor
from survey_service.calls import verification
from survey_service.db import transaction
from survey_service.errors import ServiceError
from survey_service.models import AuditEvent, CallAttempt, Case, QualityReview
from tests.calls.conftest import reload
from tests.calls.test_quality import build_quality_world

REF = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "c" * 32


@pytest.fixture
def review(session, client, auth):
    """The straight-lined complete on the review list, its attempt recorded."""
    world = build_quality_world(session)
    a = world["cases"][0]
    with transaction(session):
        attempt = session.exec(select(CallAttempt).where(CallAttempt.case_id == a.id)).one()
        attempt.recording_ref = REF
        session.add(attempt)
    auth.login("boss")
    assert client.post("/supervision/review/build").status_code == 302
    session.commit()
    row = session.exec(select(QualityReview).where(QualityReview.case_id == a.id)).one()
    return {"review": row, "case": a, **world}


def test_the_script_checks_its_answers():
    with pytest.raises(ServiceError, match="请选择复核方式"):
        verification.check("", {})
    assert verification.check("recording", {"reached": "yes"}) == {"method": "recording"}
    assert verification.check("callback", {"reached": "no", "caller": "agent"}) == {
        "method": "callback",
        "answers": {"reached": "no"},
        "consistent": None,
    }
    with pytest.raises(ServiceError, match="当时是谁给您打的电话"):
        verification.check("callback", {"reached": "yes", "called_on_date": "yes"})
    with pytest.raises(ServiceError, match="“maybe”不是该题的选项"):
        verification.check("callback", {"reached": "maybe"})
    full = {"reached": "yes", "called_on_date": "yes", "caller": "agent", "answered_items": "all"}
    assert verification.check("callback", full)["consistent"] is True
    assert verification.check("callback", {**full, "caller": "other"})["consistent"] is False


def test_the_review_page_shows_the_recording_and_the_script(client, session, review):
    attempt = session.get(CallAttempt, review["review"].attempt_id)
    day = attempt.started_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y年%m月%d日")
    html = client.get(f"/supervision/review/{review['review'].id}").get_data(as_text=True)
    assert f'<a href="{REF}"' in html
    assert "回访核实话术" in html
    assert "当时您是否回答了对奓山街派出所的满意度评价问题？" in html
    assert f"请问您在 {day} 前后是否接到过区满意度回访中心的电话？" in html
    listing = client.get("/supervision/review").get_data(as_text=True)
    assert REF in listing
    assert f"/supervision/review/{review['review'].id}" in listing


def test_a_call_back_strike_stores_its_answers_with_the_review(client, session, review):
    """Struck with a reason after a call-back: answers in the review, case 2.12, audited."""
    url = f"/supervision/review/{review['review'].id}/decide"
    answers = {
        "reached": "yes",
        "called_on_date": "no",
        "caller": "unsure",
        "answered_items": "no",
    }
    incomplete = {"method": "callback", "reached": "yes", "back": "detail"}
    page = client.post(url, data={**incomplete, "decision": "strike", "reason": "x"})
    assert page.status_code == 302
    assert page.headers["Location"].endswith(f"/supervision/review/{review['review'].id}")
    reload(session, review["review"])
    assert review["review"].status == "pending"  # an unanswered question: nothing decided
    form = {"method": "callback", **answers, "decision": "strike", "reason": "受访者称未接到电话"}
    assert client.post(url, data={**form, "back": "detail"}).status_code == 302
    reload(session, review["review"])
    row = review["review"]
    assert (row.status, row.reason) == ("struck", "受访者称未接到电话")
    stored = row.detail["verification"]
    assert (stored["method"], stored["answers"], stored["consistent"]) == (
        "callback",
        answers,
        False,
    )
    assert session.get(Case, review["case"].id).disposition == aapor.BREAK_OFF
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "interview_struck")).one()
    assert (event.detail["verification"], event.detail["consistent"]) == ("callback", False)
    html = client.get(f"/supervision/review/{row.id}").get_data(as_text=True)
    assert 'id="verification-answers"' in html and "没有接到" in html


def test_the_number_for_a_call_back_is_an_audited_reveal(client, session, review):
    response = client.post(f"/supervision/review/{review['review'].id}/number")
    assert response.status_code == 200
    assert response.get_json()["number"].startswith("+86138")
    session.commit()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "phone.view")).one()
    assert event.detail["review"] == review["review"].id
