"""The agent's page: one screen per case, outcomes by phase, callbacks, hang-ups, reloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from survey_service.calls import queue
from survey_service.db import transaction
from survey_service.models import CallAttempt, Case, CaseStatus, Client, DoNotCall
from tests.calls.conftest import EVENING, make_sample, reload
from tests.factories import make_user


@pytest.fixture(autouse=True)
def wednesday_evening():
    """Every test runs on Wednesday 1 November 2017, 19:00 in Wuhan (the evening window)."""
    with time_machine.travel(EVENING, tick=False):
        yield


@pytest.fixture
def agent(session):
    with transaction(session):
        return make_user(session, username="agent", role="agent")


def _take(client, auth) -> int:
    auth.login("agent")
    response = client.post("/calls/next")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _answer(client, case_id, item_id, value):
    response = client.post(
        f"/calls/case/{case_id}/answer", data={"item_id": item_id, "value": value}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_one_screen_shows_the_case_and_offers_only_outcomes_before_contact(
    session, client, auth, agent
):
    """Unit, service, date, the name as given, masked number, item 1 of 4, no-contact outcomes."""
    make_sample(session, per_unit=1)
    case_id = _take(client, auth)
    case = session.get(Case, case_id)
    row = session.get(Client, case.client_id)
    page = client.get(f"/calls/case/{case_id}").get_data(as_text=True)
    assert f'id="respondent-name">客户{row.row_number - 1}<' in page
    assert 'id="unit-name">奓山街派出所<' in page and 'id="service">户籍办理<' in page
    assert f'id="service-date">{row.service_date}<' in page
    assert f'id="masked-number">{row.phone_masked}<' in page
    assert "第 1 题，共 4 题" in page and 'id="history-none"' in page
    assert 'value="3.13"' in page and 'value="4.31"' in page and 'value="2.11:soft"' in page
    assert 'value="hangup"' not in page
    assert '<option value="" disabled selected>' in page  # nothing preselected that fails
    assert (
        "可预约的时段：工作日上午 09:00–12:00、工作日下午 14:00–17:30、工作日晚上 18:30–20:30"
        in page
    )


def test_after_contact_the_picker_offers_hang_up_and_not_no_answer(session, client, auth, agent):
    make_sample(session, per_unit=1)
    case_id = _take(client, auth)
    _answer(client, case_id, "screening", "dealt")
    page = client.get(f"/calls/case/{case_id}").get_data(as_text=True)
    assert 'value="hangup"' in page and 'value="3.13"' not in page
    response = client.post(f"/calls/case/{case_id}/end", data={"outcome": "3.13"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "字段 通话结果：此时不能选择该通话结果（访问已开始）" in text
    response = client.post(f"/calls/case/{case_id}/end", data={"outcome": ""})
    assert response.status_code == 400 and "请选择本次通话结果" in response.get_data(as_text=True)


def test_earlier_attempts_are_listed_with_their_notes(session, client, auth, agent):
    make_sample(session, per_unit=1)
    case_id = _take(client, auth)
    form = {"outcome": "3.13", "note": "响铃十声"}
    assert client.post(f"/calls/case/{case_id}/end", data=form).status_code == 302
    later = EVENING + timedelta(days=1)  # Thursday 19:00: due again
    with time_machine.travel(later, tick=False):
        assert _take(client, auth) == case_id
        page = client.get(f"/calls/case/{case_id}").get_data(as_text=True)
    assert "<td>2017-11-01 19:00</td><td>3.13 无人接听</td>" in page and "响铃十声" in page
    assert "第 2 次拨打" in page


def test_a_reload_shows_the_due_item_and_the_answers_so_far(session, client, auth, agent):
    make_sample(session, per_unit=1)
    case_id = _take(client, auth)
    _answer(client, case_id, "screening", "dealt")
    _answer(client, case_id, "service_quality", "very_satisfied")
    page = client.get(f"/calls/case/{case_id}").get_data(as_text=True)
    assert "第 3 题，共 4 题" in page and 'name="item_id" value="overall"' in page
    assert "<b>办理过</b>" in page and "办事服务：<b>非常满意</b>" in page


@pytest.mark.parametrize(
    ("answers", "disposition"),
    [((("screening", "dealt"), ("service_quality", "satisfied")), "1.2"), ((), None)],
)
def test_a_hang_up_saves_a_partial_or_breaks_off(
    session, client, auth, agent, answers, disposition
):
    """1.2 when the script's partial rule is met; with only screening answered, 2.12."""
    make_sample(session, per_unit=1)
    case_id = _take(client, auth)
    _answer(client, case_id, "screening", "dealt")
    for item_id, value in answers[1:]:
        _answer(client, case_id, item_id, value)
    response = client.post(f"/calls/case/{case_id}/end", data={"outcome": "hangup"})
    assert response.status_code == 302
    case = session.get(Case, case_id)
    reload(session, case)
    assert (case.status, case.disposition) == (CaseStatus.FINAL, disposition or "2.12")


def test_a_hard_refusal_goes_on_the_do_not_call_list(session, client, auth, agent):
    make_sample(session, per_unit=1)
    case_id = _take(client, auth)
    assert (
        client.post(f"/calls/case/{case_id}/end", data={"outcome": "2.11:hard"}).status_code == 302
    )
    case = session.get(Case, case_id)
    reload(session, case)
    assert (case.status, case.disposition) == (CaseStatus.FINAL, "2.11")
    assert session.exec(select(CallAttempt.refusal)).one() == "hard"
    assert len(session.exec(select(DoNotCall)).all()) == 1


def test_a_callback_outside_the_day_parts_names_the_allowed_ones(session, client, auth, agent):
    make_sample(session, per_unit=1)
    case_id = _take(client, auth)
    response = client.post(
        f"/calls/case/{case_id}/callback", data={"appointment_at": "2017-11-02T13:00"}
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert (
        "字段 预约时间：预约时间不在允许的拨打时段内；群众可预约的时段：工作日上午 09:00–12:00"
        in text
    )
    assert "appointment_at" not in text.split("<main", 1)[-1].split("</form>", 1)[0]
    case = session.get(Case, case_id)
    reload(session, case)
    assert (case.status, case.attempts) == (CaseStatus.IN_PROGRESS, 0)
    response = client.post(f"/calls/case/{case_id}/callback", data={"appointment_at": ""})
    assert response.status_code == 400 and "请选择预约回访的日期和时间" in response.get_data(
        as_text=True
    )


def test_a_callback_comes_back_to_the_booking_agent_15_minutes_early(session, client, auth, agent):
    make_sample(session, per_unit=1)
    case_id = _take(client, auth)
    response = client.post(
        f"/calls/case/{case_id}/callback", data={"appointment_at": "2017-11-02T15:20"}
    )
    assert response.status_code == 302
    case = session.get(Case, case_id)
    reload(session, case)
    booked = datetime(2017, 11, 2, 7, 20, tzinfo=UTC)
    assert (case.status, case.next_attempt_at) == (CaseStatus.PENDING, booked)
    assert queue.claim_next_case(session, agent, now=booked - timedelta(minutes=16)) is None
    assert queue.claim_next_case(session, agent, now=booked - timedelta(minutes=15)).id == case_id


def test_not_now_at_consent_returns_to_the_workbench_instead_of_a_404(session, client, auth, agent):
    """The standard script's "现在不方便（另约时间）" records a 2.21 and leads back, no 404."""
    make_sample(session, per_unit=1, script_id="standard_satisfaction")
    case_id = _take(client, auth)
    page = client.get(f"/calls/case/{case_id}").get_data(as_text=True)
    item_id = page.split('name="item_id" value="', 1)[1].split('"', 1)[0]
    values = [v.split('"', 1)[0] for v in page.split('type="radio" name="value" value="')[1:]]
    not_now = [v for v in values if v not in ("agree", "refuse")]
    assert not_now, values
    response = client.post(
        f"/calls/case/{case_id}/answer", data={"item_id": item_id, "value": not_now[0]}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/calls/")
    case = session.get(Case, case_id)
    reload(session, case)
    assert (case.status, case.attempts) == (CaseStatus.PENDING, 1)
    assert client.get("/calls/").status_code == 200
