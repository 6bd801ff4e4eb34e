"""The unit staff's whole day in Chromium, on a demo-like wave, without a dead end."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import expect

from survey_service.lists import progress as upload_progress
from tests.browser import day
from tests.browser.conftest import login


def _watch_csp(page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return violations


def _hold_the_first_count(monkeypatch, seconds: float = 1.2) -> None:
    """Pause the import once, after it reports its first rows checked.

    The import checks these 60,000 rows in a fraction of a second, faster
    than the page polls (every 500 ms); held, the poll reads a count, as it
    does on a list of a million rows.
    """
    original = upload_progress.Progress.rows_checked
    held: list[int] = []

    def rows_checked(self, rows: int) -> None:
        original(self, rows)
        if rows and not held:
            held.append(rows)
            time.sleep(seconds)

    monkeypatch.setattr(upload_progress.Progress, "rows_checked", rows_checked)


def test_unit_staff_day(app, session, live_server, page, tmp_path: Path, monkeypatch):
    """Template, mapping preview, upload with progress, rejected rows with name and service
    (paged), submit; then the list frozen by the draw; then the published score beside
    the category's and the 整改 list."""
    d = day.district(session)
    day.approved_lists(session, d, ["JC023", "JC024", "JG001"])
    violations = _watch_csp(page)
    login(page, live_server, "unit_jc022")
    page.click("nav >> text=本单位名单")

    with page.expect_download() as download:
        page.click("#list-template")
    assert download.value.suggested_filename == "服务对象名单模板.csv"

    # A demo-shaped list big enough to watch: 60,000 rows, 2% of numbers cut or missing.
    upload = tmp_path / "奓山街派出所名单.csv"
    upload.write_bytes(day.demo_list(60_000, seed=22, start=13500000000))
    page.set_input_files("input[name=file]", str(upload))
    # The preview of the column mapping comes first, nothing imported yet.
    expect(page.locator("#preview-columns")).to_be_visible()
    assert "表头在第 2 行" in page.inner_text("#mapping-preview")
    columns = page.eval_on_selector_all(
        "#preview-columns tr", "rows => rows.slice(1).map(r => r.innerText.split('\\t'))"
    )
    assert columns == [
        ["联系电话列", "联系电话"],
        ["姓名列", "姓名"],
        ["服务事项列", "办理事项"],
        ["办理日期列", "办理时间"],
        ["对象类型列", "类型"],
    ]
    first = page.inner_text("#preview-rows tr:nth-child(2)")
    assert re.search(r"\d{3}\*{4}\d{4}", first)  # masked

    statuses: list[str] = []
    _hold_the_first_count(monkeypatch)
    page.expose_function("recordStatus", lambda text: statuses.append(text))
    page.evaluate(
        """() => new MutationObserver(() => window.recordStatus(
               document.getElementById('upload-status').textContent))
             .observe(document.getElementById('upload-status'), {childList: true})"""
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/unit/lists/\d+$"), timeout=120_000)
    assert "已导入第 1 版" in page.inner_text(".flash")
    assert any(s.startswith("正在上传：已发送") for s in statuses), statuses
    checked = [
        int(m.group(1)) for s in statuses if (m := re.match(r"正在检查：已检查 (\d+) 行", s))
    ]
    assert checked and max(checked) > 0, statuses

    rejected = int(page.inner_text("#n-rejected"))
    assert rejected > 500
    assert f"问题行共 {rejected} 条，本页第 1–500 条" in page.inner_text("#issues-page")
    header = page.inner_text("#issues tr:first-child")
    assert "姓名（已遮挡）" in header and "办理事项" in header
    name = page.inner_text("#issues tr:nth-child(2) .name")
    assert re.fullmatch(r".\*+.?", name), name
    assert page.inner_text("#issues tr:nth-child(2) .service") in day.SERVICES
    page.click("#next-page")
    assert "本页第 501–1000 条" in page.inner_text("#issues-page")

    page.click("nav >> text=本单位名单")
    page.click("text=提交审核")
    assert "已提交审核" in page.inner_text(".flash")
    assert page.inner_text("#lists .status") == "待审核"

    # The office approves, the statistician draws: the list is frozen, and says why.
    day.approve_submitted(session, d)
    day.draw(session, d)
    page.reload()
    assert "名单已冻结：本轮样本已于" in page.inner_text("#list-frozen")
    assert page.locator("#upload-form").count() == 0
    page.click("nav >> text=本单位结果")
    assert "区治庸办尚未发布本轮结果" in page.inner_text("#not-published")

    # Calls made, results closed and published: the score beside the category's.
    day.interviews(session, d)
    day.close_and_publish(session, d)
    page.reload()
    # About 5 (weighted by client kind within the unit): below both other police stations.
    score = page.inner_text("#unit-score")
    assert 4.5 < float(score) < 5.5
    summary = page.inner_text("#peers-summary")
    assert f"本单位得分 {score} 分；同类 3 个单位中，0 个得分低于本单位" in summary
    assert "中位数 6.00，上四分位 7.00，最高 8.00" in summary
    assert page.locator("#peers-chart rect.mine").count() == 1
    body = page.inner_text("main")
    assert not [name for name in day.OTHERS if name in body]
    assert "区治庸办尚未下发本轮整改清单" in page.inner_text("#unit-problems")
    day.build_problems(session, d, "JC022")
    page.reload()
    assert "窗口工作人员态度不好" in page.inner_text("#problem-list")
    page.click("#unit-problems >> text=整改清单")
    assert "窗口工作人员态度不好" in page.inner_text("main")
    assert violations == []
