"""Excel exports: headers, values, panes, formats, inert text, titles, properties."""

from __future__ import annotations

import datetime as dt
import io
import math

import openpyxl
import pytest

from survey_service.results.render.csvfile import inert
from survey_service.results.render.workbook import PROPERTIES_SHEET, Sheet, build_workbook

PROPERTIES = {
    "title": "2024年社会满意度抽样报告",
    "creator": "区统计局",
    "code_version": "git 1a2b3c4",
    "draw": "draw 7, seed 20240501",
    "script_versions": ["标准问卷 v3", "IVR v2"],
    "data_time": dt.datetime(2024, 6, 30, 18, 0),
}


def load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def scores_sheet(**kwargs) -> Sheet:
    return Sheet(
        title="得分",
        header=["单位", "得分", "应答率", "样本量"],
        rows=[
            ["蔡甸街派出所", 8.4567, 0.4321, 120],
            ["奓山街税务所", math.nan, None, 0],
            ['=HYPERLINK("http://x")', 7.5, 0.5, 33],
        ],
        **kwargs,
    )


def test_header_and_values_exact():
    wb = load(build_workbook([scores_sheet()], properties=PROPERTIES))
    ws = wb["得分"]
    values = [list(row) for row in ws.iter_rows(values_only=True)]
    assert values[0] == ["单位", "得分", "应答率", "样本量"]
    assert values[1] == ["蔡甸街派出所", 8.4567, 0.4321, 120]
    assert values[2] == ["奓山街税务所", None, None, 0]  # NaN and None: empty cells
    assert values[3] == ['\'=HYPERLINK("http://x")', 7.5, 0.5, 33]


def test_header_bold_frozen_and_filtered():
    ws = load(build_workbook([scores_sheet()], properties=PROPERTIES))["得分"]
    assert ws.freeze_panes == "A2"
    assert all(cell.font.bold for cell in ws[1])
    assert not ws["A2"].font.bold
    assert ws.auto_filter.ref == "A1:D4"


def test_number_formats_and_widths():
    sheet = scores_sheet(number_formats={1: "0.00", 2: "0.0%"}, widths={0: 30})
    ws = load(build_workbook([sheet], properties=PROPERTIES))["得分"]
    assert ws["B2"].number_format == "0.00"
    assert ws["C2"].number_format == "0.0%"
    assert ws["D2"].number_format == "General"
    assert ws["B2"].value == 8.4567  # the format rounds the display only
    assert ws.column_dimensions["A"].width == 30
    assert ws.column_dimensions["B"].width >= 6  # estimated


@pytest.mark.parametrize(
    "text", ["=1+1", "+86 138", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]
)
def test_formula_like_text_stays_text(text):
    sheet = Sheet(title="意见", header=["=意见"], rows=[[text, -5, "普通意见"]])
    ws = load(build_workbook([sheet], properties={}))["意见"]
    cell = ws["A2"]
    assert cell.data_type == "s"
    assert inert(text) == "'" + text
    # XML reading turns a bare CR into LF; the cell is still the same inert text.
    assert cell.value == ("'" + text).replace("\r", "\n")
    assert ws["A1"].value == "'=意见" and ws["A1"].data_type == "s"
    assert ws["B2"].value == -5 and ws["B2"].data_type == "n"  # numbers stay numbers
    assert ws["C2"].value == "普通意见"


def test_control_characters_do_not_break_the_file():
    sheet = Sheet(title="意见", header=["意见"], rows=[["好\x07的"]])
    ws = load(build_workbook([sheet], properties={}))["意见"]
    assert ws["A2"].value == "好\ufffd的"


def test_dates_and_aware_datetimes():
    aware = dt.datetime(2024, 5, 1, 19, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    sheet = Sheet(title="通话", header=["时间", "日期"], rows=[[aware, dt.date(2024, 5, 2)]])
    ws = load(build_workbook([sheet], properties={}))["通话"]
    assert ws["A2"].value == dt.datetime(2024, 5, 1, 19, 30)
    assert ws["B2"].is_date


def test_properties_sheet_and_document_properties():
    wb = load(build_workbook([scores_sheet()], properties=PROPERTIES))
    assert wb.sheetnames == ["得分", PROPERTIES_SHEET]
    ws = wb[PROPERTIES_SHEET]
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    assert rows[0] == ["项目", "内容"]
    assert rows[1:] == [
        ["标题", "2024年社会满意度抽样报告"],
        ["制作者", "区统计局"],
        ["程序版本", "git 1a2b3c4"],
        ["抽样", "draw 7, seed 20240501"],
        ["问卷版本", "标准问卷 v3, IVR v2"],
        ["数据时间", "2024-06-30T18:00:00"],
    ]
    assert wb.properties.title == "2024年社会满意度抽样报告"
    assert wb.properties.creator == "区统计局"
    assert "程序版本: git 1a2b3c4" in wb.properties.description
    assert "数据时间: 2024-06-30T18:00:00" in wb.properties.description
    custom = {prop.name: prop.value for prop in wb.custom_doc_props}
    assert custom["code_version"] == "git 1a2b3c4"
    assert custom["draw"] == "draw 7, seed 20240501"


def test_description_key_leads_the_comments():
    wb = load(build_workbook([], properties={"code_version": "v1", "description": "说明文字"}))
    assert wb.properties.description == "说明文字\n程序版本: v1"
    assert wb.sheetnames == [PROPERTIES_SHEET]


def test_titles_truncated_sanitised_and_unique():
    long = "蔡甸区各单位社会满意度得分及置信区间明细表（按机关科室与基层站所分列）"
    assert len(long) > 31
    sheets = [
        Sheet(title=long, header=["a"], rows=[]),
        Sheet(title=long + "第二张", header=["a"], rows=[]),
        Sheet(title="a/b:c*d?[e]", header=["a"], rows=[]),
        Sheet(title=PROPERTIES_SHEET, header=["a"], rows=[]),
        Sheet(title="", header=["a"], rows=[]),
        Sheet(title="History", header=["a"], rows=[]),
    ]
    names = load(build_workbook(sheets, properties={})).sheetnames
    assert len(names) == 7
    assert len({n.casefold() for n in names}) == 7
    assert all(len(n) <= 31 for n in names)
    assert names[0] == long[:31]
    assert names[1] == long[:28] + "(2)"
    assert names[2] == "a_b_c_d__e_"
    assert names[3] == PROPERTIES_SHEET + "(2)"
    assert names[4] == "Sheet"
    assert names[5] == "History(2)"
    assert names[6] == PROPERTIES_SHEET


def test_empty_sheet_still_has_header_filter():
    ws = load(build_workbook([Sheet(title="空", header=["单位", "得分"], rows=[])], properties={}))[
        "空"
    ]
    assert [c.value for c in ws[1]] == ["单位", "得分"]
    assert ws.auto_filter.ref == "A1:B1"
    assert ws.max_row == 1
