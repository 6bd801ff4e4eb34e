"""In Chromium: the office imports the three parts, runs the funnel and exports it; a unit
answers a problem and the office closes it."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import Unit
from survey_service.models.evaluation import Problem
from tests.browser.conftest import login
from tests.evaluation.conftest import big_data_csv, build_district, part_csv
from tests.factories import make_user


def test_office_imports_runs_the_funnel_and_exports(app, session, live_server, page, tmp_path):
    build_district(session, settings={"shortlist_sizes": [4, 3, 2]})
    files = {
        "work_style": ("作风.csv", part_csv(1)),
        "supervision": ("监督.csv", part_csv(4)),
        "big_data": ("大数据.csv", big_data_csv()),
    }
    login(page, live_server, "office")
    page.click("nav >> text=综合评议")

    bad = tmp_path / "错误.csv"
    bad.write_bytes("单位代码,得分\nE01,12\n".encode())
    page.set_input_files("#part-work_style input[name=file]", str(bad))
    page.click("#part-work_style button[type=submit]")
    assert "未导入任何数据" in page.inner_text(".flash")
    assert "得分 12 超出范围 0–10" in page.inner_text("#import-issues")

    for part, (name, content) in files.items():
        path: Path = tmp_path / name
        path.write_bytes(content)
        page.set_input_files(f"#part-{part} input[name=file]", str(path))
        page.click(f"#part-{part} button[type=submit]")
        assert "已导入第 1 版" in page.inner_text(".flash")
        assert page.inner_text(f"#part-{part} .rows") == "12"

    page.click(".subnav >> text=综合排名")
    first = page.locator("table.ranking tr[data-code]").first
    assert first.get_attribute("data-code") == "E07"
    assert first.locator(".total").inner_text() == "96.30"
    assert "名次取决于满意度" in page.inner_text("tr[data-code=E10] .notes")

    page.fill("#veto-form input[name=unit]", "E02")
    page.select_option("#veto-form select[name=reason]", "discipline")
    page.fill("#veto-form input[name=document]", "蔡纪发〔2018〕3号")
    page.click("#veto-form button[type=submit]")
    assert "已记录 E02 的一票否决" in page.inner_text(".flash")

    page.click(".subnav >> text=三轮筛选")
    for step, day in ((1, "2018-01-05"), (2, "2018-01-12"), (3, "2018-01-19")):
        if step == 2:
            page.select_option("select[name=change_list_0]", "worst")
            page.select_option("select[name=change_action_0]", "remove")
            page.fill("input[name=change_unit_0]", "E06")
            page.fill("input[name=change_reason_0]", "已整改到位")
            page.select_option("select[name=change_list_1]", "worst")
            page.select_option("select[name=change_action_1]", "add")
            page.fill("input[name=change_unit_1]", "E05")
            page.fill("input[name=change_reason_1]", "群众投诉集中")
        page.fill("#step-form input[name=decided_on]", day)
        page.fill("#step-form input[name=document]", f"会议纪要第{step}号")
        page.click("#step-form button[type=submit]")
        assert f"已记录第 {step} 轮" in page.inner_text(".flash")
    assert page.inner_text("#funnel-done") == "三轮筛选均已记录。"
    worst = page.locator("#step-3 .worst li")
    assert [worst.nth(i).get_attribute("data-code") for i in range(worst.count())] == [
        "E02",
        "E12",
    ]
    assert "十差候选移出 E06：已整改到位" in page.inner_text("#step-2 .changes")

    with page.expect_download() as info:
        page.click("#export-funnel")
    download = info.value
    assert download.suggested_filename == "三轮筛选-2017.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text("utf-8-sig"))))
    third_worst = [r[8] for r in rows[1:] if r[0] == "3" and r[6] == "十差候选"]
    assert third_worst == ["E02", "E12"]
    assert {r[2] for r in rows[1:]} == {"区纪委常委会", "区政府常务会", "区委常委会"}


def test_unit_answers_a_problem_and_the_office_closes_it(app, session, live_server, page):
    wave, _office = build_district(session)
    with transaction(session):
        unit = session.exec(select(Unit).where(Unit.code == "E12")).one()
        make_user(session, username="unit12", role="unit", unit=unit)
        session.add(
            Problem(
                wave_id=wave.id,
                unit_code="E12",
                seq=1,
                aspect="工作落实",
                source="comment",
                summary="办事效率太低，跑了好几趟才办成",
                mentions=3,
                examples=["办事效率太低，跑了好几趟才办成", "效率低，来回跑了好几趟"],
                issued_on=date(2018, 1, 5),
                deadline=date(2018, 1, 19),
            )
        )
    row = f"#problem-{wave.id}-1"
    login(page, live_server, "unit12")
    page.click("nav >> text=整改清单")
    assert "（3 人提到）" in page.inner_text(row)
    page.fill(row + " textarea[name=measure]", "推行一次告知、预约办理")
    page.click(row + " .answer-form button")
    assert page.inner_text(row + " .status") == "待核验"
    page.click("text=退出")

    login(page, live_server, "office")
    page.goto(f"{live_server}/rectification/units/E12")
    page.fill(row + " input[name=note]", "经回访核实")
    page.click(row + " button[value=close]")
    assert "已销号" in page.inner_text(".flash")
    assert page.inner_text(row + " .status") == "已销号"
    assert page.inner_text(row + " .measure") == "推行一次告知、预约办理"
