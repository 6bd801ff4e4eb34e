"""The agent's page in Chromium: keyboard-only interview, a partial, a callback that returns."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.db import transaction
from survey_service.models import Answer, CallAttempt, Case, CaseStatus
from tests.browser.conftest import login
from tests.calls.conftest import make_sample, reload
from tests.factories import make_user


def _take_next(page, base_url) -> int:
    page.goto(f"{base_url}/calls/")
    page.click("text=领取下一个样本")
    page.wait_for_selector("body[data-keys=ready] #item-form")
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def _key(page, key: str, position: str | None = None) -> None:
    """Press ``key``; with ``position``, wait for the item it leads to."""
    page.keyboard.press(key)
    if position is not None:
        page.wait_for_selector(f"body[data-keys=ready] #item-position:has-text('{position}')")


def test_agent_works_with_the_keyboard_saves_a_partial_and_gets_a_callback_back(
    app, session, live_server, page
):
    # The browser runs on the wall clock: the wave calls at any hour.
    make_sample(session, per_unit=3, calling=ROUND_THE_CLOCK)
    with transaction(session):
        make_user(session, username="agent", role="agent")
        make_user(session, username="agent2", role="agent")
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    login(page, live_server, "agent")

    # 1. A whole interview with the keyboard only (one step back with Backspace).
    first = _take_next(page, live_server)
    assert page.inner_text("#item-position") == "第 1 题，共 4 题"
    page.locator("body").focus()
    _key(page, "1")
    _key(page, "Enter", "第 2 题")
    _key(page, "Backspace", "第 1 题")
    assert page.locator("#answered").count() == 0
    _key(page, "1")
    _key(page, "Enter", "第 2 题")
    _key(page, "2")
    _key(page, "Enter", "第 3 题")
    assert "办事服务：满意" in page.inner_text("#answered")
    _key(page, "1")
    _key(page, "Enter", "第 4 题")
    page.keyboard.type("窗口服务很好")  # the open item's text box has the focus
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash")
    assert "访问结束：完成访问" in page.inner_text(".flash")
    case = session.get(Case, first)
    reload(session, case)
    assert (case.status, case.disposition) == (CaseStatus.FINAL, "1.1")
    stored = dict(
        session.exec(select(Answer.item_id, Answer.value).where(Answer.case_id == first)).all()
    )
    assert stored == {
        "screening": "dealt",
        "service_quality": "satisfied",
        "overall": "very_satisfied",
        "comment": "窗口服务很好",
    }

    # 2. The respondent hangs up after the first rating: a partial (1.2) is saved.
    second = _take_next(page, live_server)
    page.locator("body").focus()
    _key(page, "1")
    _key(page, "Enter", "第 2 题")
    _key(page, "3")
    _key(page, "Enter", "第 3 题")
    page.reload()  # a reload loses nothing
    page.wait_for_selector("body[data-keys=ready]")
    assert page.inner_text("#item-position") == "第 3 题，共 4 题"
    assert "办事服务：基本满意" in page.inner_text("#answered")
    page.select_option("#outcome", "hangup")
    page.click("#end-call")
    assert "已记录：部分完成" in page.inner_text(".flash")
    case = session.get(Case, second)
    reload(session, case)
    assert (case.status, case.disposition) == (CaseStatus.FINAL, "1.2")

    # 3. A callback ten minutes from now (the wave's local time): not for another
    #    agent yet, but back to the booking agent from 15 minutes before.
    third = _take_next(page, live_server)
    local = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(minutes=10)
    page.fill("#appointment-at", local.strftime("%Y-%m-%dT%H:%M"))
    page.click("#book-callback")
    booked = local.strftime("%Y-%m-%d %H:%M")
    assert f"已预约回访：{booked}" in page.inner_text(".flash")
    attempt = session.exec(select(CallAttempt).where(CallAttempt.case_id == third)).one()
    assert attempt.outcome == "2.21" and attempt.appointment_at is not None
    page.click("text=退出")
    login(page, live_server, "agent2")
    page.goto(f"{live_server}/calls/")
    page.click("text=领取下一个样本")
    assert "当前没有待拨打的样本" in page.inner_text(".flash")
    page.click("text=退出")
    login(page, live_server, "agent")
    assert _take_next(page, live_server) == third
    assert "受访者始终不在" in page.inner_text("#history")
    assert violations == []
