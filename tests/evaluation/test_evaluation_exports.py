"""The office's downloads: ranking and funnel as CSV and XLSX, a unit's sheet, the chart."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date

from openpyxl import load_workbook

from survey_service.db import transaction
from survey_service.evaluation import exports, funnel


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_ranking_csv_has_every_part(session, district):
    wave, _ = district
    rows = _rows(exports.ranking_csv(session, wave).data)
    header = rows[0]
    assert header[:7] == [
        "组别",
        "名次",
        "单位代码",
        "单位名称",
        "类别",
        "日常工作作风得分",
        "日常工作作风折算(10分)",
    ]
    first = dict(zip(header, rows[1], strict=True))
    assert (first["单位代码"], first["名次"], first["综合得分"]) == ("E07", "1", "96.3")
    assert first["互联网+大数据得分"] == "48.0"
    e10 = next(dict(zip(header, r, strict=True)) for r in rows if r[2] == "E10")
    assert e10["名次取决于满意度"] == "是"
    assert len(rows) == 13


def test_funnel_exports_with_decisions_and_the_unit_sheet(session, district):
    wave, office = district
    with transaction(session):
        funnel.record_veto(
            session=session,
            wave=wave,
            unit_code="E12",
            reason="investors",
            document="蔡治庸〔2018〕2号",
            detail="刁难投资企业",
            actor=office,
        )
        funnel.record_step(
            session=session,
            wave=wave,
            decided_on=date(2018, 1, 5),
            document="纪要1号",
            actor=office,
        )
    rows = _rows(exports.funnel_csv(session, wave).data)
    assert rows[0] == exports.FUNNEL_HEADER
    assert len(rows) == 1 + 12  # 6 best and 6 worst of 12 units (half each)
    worst = [r for r in rows[1:] if r[6] == "十差候选"]
    assert [r[8] for r in worst] == ["E12", "E06", "E11", "E05", "E10", "E04"]
    assert worst[0][:5] == ["1", "20", "区纪委常委会", "2018-01-05", "纪要1号"]
    assert worst[0][12] == "是"
    book = load_workbook(io.BytesIO(exports.evaluation_xlsx(session, wave).data))
    assert book.sheetnames == ["综合排名", "三轮筛选", "筛选调整", "一票否决", "说明"]
    assert book["一票否决"]["C2"].value == "吓跑投资者"
    _header, sheet = exports.unit_sheet(session, wave, "E12")
    assert dict(sheet)["综合得分"] == 70.3
    assert dict(sheet)["第1轮（区纪委常委会 2018-01-05）"] == "十差候选"
    assert dict(sheet)["一票否决"] == "吓跑投资者：刁难投资企业（蔡治庸〔2018〕2号）"


def test_totals_chart_is_svg_with_every_unit(session, district):
    wave, _ = district
    svg = exports.totals_chart(session, wave)
    root = ET.fromstring(svg)
    text = "".join(root.itertext())
    assert all(f"单位E{i:02d}" in text for i in range(1, 13))
    assert "96.30" in text and "70.30" in text
    assert exports.totals_chart(session, wave) == svg


def test_unit_sheet_as_csv(session, district):
    wave, _ = district
    rows = _rows(exports.unit_csv(session, wave, "E07").data)
    assert rows[0] == ["项目", "内容"]
    assert dict(rows[1:])["综合得分"] == "96.3"
    assert dict(rows[1:])["名次"] == "全部单位第 1 名"
    assert dict(rows[1:])["日常工作作风"] == "9.8（折算 9.8；区直机关工委，第1版）"
