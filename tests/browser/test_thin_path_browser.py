"""Every role does its step of the thin path in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect
from sqlmodel import select

from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.db import transaction
from survey_service.models import Answer, Case, ClientList
from tests.browser.conftest import login
from tests.factories import csv_content, make_unit, make_user, make_wave


# Agents call inside the calling rules' day-parts: a Wednesday evening in Wuhan.
def test_agent_completes_an_interview(app, session, live_server, page, tmp_path: Path):
    """Can each role, in Chromium, upload, approve, draw, interview and read the score?"""
    with transaction(session):
        unit = make_unit(session, code="JC022", name="奓山街派出所")
        make_user(session, username="unit1", role="unit", unit=unit)
        for role in ("reviewer", "statistician", "agent", "supervisor", "admin"):
            make_user(session, username=role, role=role)
        wave = make_wave(session, script_id="short_demo")
        # The browser runs on the wall clock: let the wave call at any hour.
        wave.settings = {**wave.settings, "calling": ROUND_THE_CLOCK}
        session.add(wave)

    # The pages must work under the Content-Security-Policy (no inline scripts).
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    upload = tmp_path / "名单.csv"
    upload.write_bytes(csv_content(6))
    login(page, live_server, "unit1")
    page.set_input_files("input[name=file]", str(upload))
    page.click("form[enctype] button[type=submit]")
    assert page.inner_text("#n-accepted") == "6"
    page.goto(f"{live_server}/unit/")
    page.click("text=提交审核")
    assert page.inner_text("#lists .status") == "待审核"
    page.click("text=退出")

    login(page, live_server, "reviewer")
    page.click("text=奓山街派出所")
    assert page.inner_text("#signals #sig-shared") == "0"
    assert page.inner_text("#signals #sig-runs").startswith("0 段")
    page.fill("textarea[name=note]", "同意")
    page.click("button[value=approve]")
    assert "已通过" in page.inner_text(".flash")
    page.click("text=退出")

    login(page, live_server, "statistician")
    page.select_option("select[name=mode]", "fixed")
    page.fill("input[name=per_unit]", "3")
    page.click("#design-form button[type=submit]")
    assert len(page.inner_text("#frame-hash")) == 64
    page.fill("input[name=seed]", "20170601")
    page.click("#seed-form button[type=submit]")
    assert page.inner_text("#seed") == "20170601"
    assert page.inner_text("#verification").startswith("一致")
    page.click("text=退出")

    login(page, live_server, "agent")
    page.click("text=领取下一个样本")
    assert "****" in page.inner_text("#masked-number")
    page.click("#reveal")  # static/interview.js: an audited fetch
    expect(page.locator("#full-number")).to_have_text(re.compile(r"^\+861\d{10}$"))
    assert page.inner_text("#item-title") == "screening" or "办理" in page.inner_text("#item-text")
    page.check("input[value=dealt]")
    page.click("#submit-answer")
    assert "奓山街派出所" in page.inner_text("#item-text")
    page.check("input[value=satisfied]")
    page.click("#submit-answer")
    page.check("input[value=very_satisfied]")
    page.click("#submit-answer")
    page.fill("#free-text", "希望延长办公时间")
    page.click("#submit-answer")
    assert "访问结束" in page.inner_text(".flash")
    page.click("text=退出")

    login(page, live_server, "supervisor")
    assert "奓山街派出所" in page.inner_text("#unit-progress")
    assert page.inner_text("#agent-progress td:nth-child(1)") == "agent"
    page.click("text=退出")

    login(page, live_server, "admin")
    page.fill("input[name=username]", "agent9")
    page.fill("input[name=password]", "long-enough-1")
    page.select_option("select[name=role]", "agent")
    page.click("form.card button[type=submit]")
    assert "已创建用户 agent9" in page.inner_text(".flash")
    page.click("text=审计日志")
    assert "创建用户" in page.inner_text("#audit")
    page.click("text=退出")

    assert violations == []
    session.expire_all()
    done = session.exec(select(Case).where(Case.disposition == "1.1")).all()
    assert len(done) == 1
    answers = dict(
        session.exec(select(Answer.item_id, Answer.value).where(Answer.case_id == done[0].id)).all()
    )
    assert answers == {
        "screening": "dealt",
        "service_quality": "satisfied",
        "overall": "very_satisfied",
        "comment": "希望延长办公时间",
    }
    assert session.exec(select(ClientList)).one().frozen

    login(page, live_server, "statistician")
    page.goto(f"{live_server}/statistics/results")
    assert page.inner_text("#results tr:nth-child(2) .score") == "9.00"
    with page.expect_download() as download_info:
        page.click("#download-csv")
    assert download_info.value.suggested_filename == "results-2017.csv"
    # Every export downloads, as a statistician would take it.
    page.click("#all-exports")
    links = page.eval_on_selector_all(
        "#exports a, #download-microdata", "els => els.map(e => e.id)"
    )
    # the workbook, two charts, ten tables (signals, cuts and ranks among them), the microdata
    assert "download-xlsx" in links and "download-microdata" in links and len(links) == 14
    names = []
    for link in links:
        with page.expect_download() as download_info:
            page.click(f"#{link}")
        download = download_info.value
        assert Path(download.path()).stat().st_size > 0
        names.append(download.suggested_filename)
    assert any(n.endswith(".xlsx") for n in names)
    assert sum(n.endswith(".svg") for n in names) == 2
    assert sum(n.endswith(".csv") for n in names) == 11
