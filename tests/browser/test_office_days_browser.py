"""The reviewer's, the statistician's and the admin's whole days in Chromium, on a
demo-like wave, without a dead end: each message said on the page it belongs to."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl

from tests.browser import day
from tests.browser.conftest import CHROMIUM, click_and_confirm, login


def _watch_csp(page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return violations


def test_reviewer_day(app, session, live_server, page):
    """Queue, a padding signal's rows, an empty reason refused inline, reject with a note,
    approve, a late approval refused, then close and publish, each asking first."""
    d = day.district(session)
    day.approved_lists(session, d, ["JG001"])
    shared = day.demo_list(60, seed=23, start=13600000000)
    day.submit(session, d, "JC023", shared, app)
    day.submit(session, d, "JC024", day.demo_list(50, seed=24, start=13700000000), app)
    # JC022's list carries the first numbers of JC023's: padded from another unit's list.
    padded = day.demo_list(80, seed=22, start=13600000000)
    day.submit(session, d, "JC022", padded, app)
    violations = _watch_csp(page)

    login(page, live_server, "reviewer")
    page.click("nav >> text=名单审核")
    assert page.locator("table tr", has_text="待审核").count() == 3
    page.fill("input[name=q]", "奓山")
    page.press("input[name=q]", "Enter")
    assert page.locator("table tr", has_text="待审核").count() == 1
    page.click("text=奓山街派出所")
    shared_count = int(page.inner_text("#sig-shared"))
    assert shared_count > 0
    page.click("#open-shared")
    rows = page.locator("#signal-rows tr")
    assert rows.count() == 1 + shared_count
    assert "也在 蔡甸街派出所 的名单上" in rows.nth(1).inner_text()
    assert re.search(r"\d{3}\*{4}\d{4}", rows.nth(1).inner_text())
    page.click("text=返回审核页")

    page.click("button[value=reject]")  # no reason given
    assert "退回名单时必须填写理由，单位将看到这条意见。" in page.inner_text("#note-error")
    assert page.locator("#signals").count() == 1  # still the review page
    page.fill("textarea[name=note]", "与蔡甸街派出所名单重复号码较多，请核实后重报")
    page.click("button[value=reject]")
    assert "已退回" in page.inner_text(".flash")
    page.click("text=全部")
    page.click("text=奓山街派出所")
    assert "请核实后重报" in page.inner_text("#review-note")

    for unit in ("蔡甸街派出所", "永安街派出所"):
        page.click("nav >> text=名单审核")
        page.click(f"text={unit}")
        page.click("button[value=approve]")
        assert "已通过" in page.inner_text(".flash")

    # The statistician draws; JC022 sends a corrected list after that: refused, and why.
    day.draw(session, d)
    late = day.submit(session, d, "JC022", day.demo_list(30, seed=25, start=13800000000), app)
    page.goto(f"{live_server}/review/lists/{late.id}")
    page.click("button[value=approve]")
    assert "抽样框已固定" in page.inner_text("#note-error")

    day.interviews(session, d, ["JC023", "JC024", "JG001"])
    page.click("nav >> text=结果")
    asked = click_and_confirm(page, "text=封存本轮结果")
    assert "不可撤销" in asked and "封存" in asked
    assert "已封存" in page.inner_text("#wave-status")
    asked = click_and_confirm(page, "text=向各单位发布")
    assert "不可撤销" in asked and "发布" in asked
    assert "已发布" in page.inner_text("#wave-status")
    assert violations == []


def test_statistician_day(app, session, live_server, page, tmp_path: Path):
    """Design and fix the frame, draw with a seed, a bad unit code said on the page, release,
    read a unit's dispositions in Chinese, reach the exports from the navigation, download."""
    d = day.district(session)
    day.approved_lists(session, d, ["JC022", "JC023", "JC024", "JG001"])
    violations = _watch_csp(page)
    login(page, live_server, "statistician")
    page.click("nav >> text=抽样")
    page.select_option("select[name=mode]", "fixed")
    page.fill("input[name=per_unit]", "8")
    page.fill("input[name=replicates]", "2")
    page.fill("input[name=reserve]", "1")
    assert "不可撤销" in click_and_confirm(page, "#design-form button[type=submit]")
    assert len(page.inner_text("#frame-hash")) == 64
    page.fill("input[name=seed]", "20170601")
    assert "不可撤销" in click_and_confirm(page, "#seed-form button[type=submit]")
    assert page.inner_text("#verification").startswith("一致")
    draw_url = page.url

    page.fill("input[name=units]", "NOPE1")
    page.click("#release-form button[type=submit]")
    assert page.url == draw_url
    assert "未追加发放：单位 NOPE1 不在本次抽样中" in page.inner_text(".flash.error")
    page.fill("input[name=units]", "JC022")
    page.click("#release-form button[type=submit]")
    assert "已为 1 个单位追加发放" in page.inner_text(".flash")

    day.interviews(session, d)
    page.click("nav >> text=结果")
    page.click("#results >> text=奓山街派出所")
    page.wait_for_selector("#dispositions tr >> nth=1")  # the unit's page, not the one before
    labels = page.eval_on_selector_all(
        "#dispositions tr", "rows => rows.slice(1).map(r => r.cells[1].innerText)"
    )
    assert "完成访问" in labels and all(re.search(r"[\u4e00-\u9fff]", t) for t in labels)

    page.click("#nav-exports")
    assert "报告与数据导出" in page.inner_text("h1")
    with page.expect_download() as download:
        page.click("#download-xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    notes = [row for row in workbook["说明"].iter_rows(values_only=True)]
    assert notes[0] == ("项目", "内容")
    assert all(re.search(r"[\u4e00-\u9fff]", str(key)) for key, _value in notes)
    times = [value for key, value in notes if key in ("生成时间", "数据时间")]
    assert len(times) == 2 and all(str(v).endswith("（北京时间）") for v in times)
    with page.expect_download() as download:
        page.click("#exports a[href$='.csv'] >> nth=0")
    assert Path(download.value.path()).read_bytes().startswith("\ufeff".encode())
    assert violations == []


def test_admin_day(app, session, live_server, page, browser):
    """Every user listed (unit staff too), a role change, a password reset that ends the
    user's session, disabling a user, and the audit log filtered with Chinese actions."""
    assert CHROMIUM
    day.district(session)
    violations = _watch_csp(page)
    staff_context = browser.new_context(locale="zh-CN")
    staff = staff_context.new_page()
    login(staff, live_server, "unit_jc023")
    assert "本单位名单" in staff.inner_text("nav")

    login(page, live_server, "admin")
    page.click("nav >> text=用户")
    users = page.inner_text("#users")
    assert "unit_jc022" in users and "unit_jc023" in users and "单位填报员" in users
    assert "JC022 奓山街派出所" in users

    page.click("#users >> text=agent1")
    page.select_option("select[name=role]", "supervisor")
    page.click("#edit-form button[type=submit]")
    assert "已保存用户 agent1" in page.inner_text(".flash")

    page.click("text=← 全部用户")
    page.click("#users >> text=unit_jc023")
    page.fill("#password-form input[name=password]", "new-pass-2017")
    page.click("#password-form button[type=submit]")
    assert "已重置 unit_jc023 的密码，其所有登录会话已失效" in page.inner_text(".flash")
    staff.reload()
    assert "/auth/login" in staff.url  # the old session ended
    staff_context.close()

    page.click("#active-form button[type=submit]")
    assert "已停用用户 unit_jc023" in page.inner_text(".flash")
    assert page.inner_text("#user-status") == "停用"

    page.click("nav >> text=审计日志")
    page.select_option("select[name=action]", "user.role")
    page.click("#audit-filter button[type=submit]")
    rows = page.locator("#audit tr")
    assert rows.count() == 2
    assert "变更角色" in rows.nth(1).inner_text() and "{" not in rows.nth(1).inner_text()
    page.select_option("select[name=action]", "")
    page.fill("input[name=who]", "admin")
    page.click("#audit-filter button[type=submit]")
    text = page.inner_text("#audit")
    assert "重置密码" in text and "停用用户" in text
    assert violations == []
