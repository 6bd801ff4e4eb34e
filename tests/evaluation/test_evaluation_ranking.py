"""The composite total: imports checked whole and versioned, weighted totals, ranks."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlmodel import select

from survey_service.db import transaction
from survey_service.errors import Conflict, ServiceError
from survey_service.evaluation import parts, ranking
from survey_service.evaluation.parts import PartRowsRejected
from survey_service.evaluation.settings import update_settings
from survey_service.models import AuditEvent
from survey_service.models.evaluation import PartImport, PartScore
from tests.evaluation.conftest import TOTALS, build_district, import_three, part_csv


def _import(session, wave, office, part, content, filename="分项.csv"):
    with transaction(session):
        return parts.import_part(
            session=session, wave=wave, part=part, content=content, filename=filename, actor=office
        )


def test_totals_and_ranks_of_the_constructed_district(session, district):
    """Is each unit's total the sum of its four parts, ranked highest first?"""
    wave, _ = district
    result = ranking.composite(session, wave)
    rows = result.groups[ranking.ALL_UNITS]
    assert [(r.code, r.total, r.rank) for r in rows] == [
        (code, total, i + 1) for i, (code, total) in enumerate(TOTALS.items())
    ]
    e01 = result.unit("E01")
    assert e01.scores == {
        "work_style": 9.5,
        "satisfaction": 9.0,
        "supervision": 28.0,
        "big_data": 47.0,
    }
    assert e01.points["satisfaction"] == 9.0


def test_satisfaction_deciding_a_place_is_said(session, district):
    """Does the report say where the satisfaction interval spans the gap to a neighbour?"""
    wave, _ = district
    result = ranking.composite(session, wave)
    flagged = [r.code for r in result.all() if r.decided_by_satisfaction]
    assert flagged == ["E10"]
    (note,) = result.unit("E10").notes
    assert note.startswith("与上一名 单位E04（84.00）相差 1.20 分")
    assert "名次取决于满意度抽样" in note


def test_weights_are_wave_settings(session, district):
    """With satisfaction weighted 20 and big data 40, do the totals follow exactly?"""
    wave, office = district
    with transaction(session):
        update_settings(
            session=session,
            wave=wave,
            raw={"weights": {"satisfaction": 20, "big_data": 40}},
            actor=office,
        )
    result = ranking.composite(session, wave)
    # 9.5 + 9.0 × 2 + 28 + 47 × 40 / 50
    assert result.unit("E01").total == 93.1
    # 6.5 + 6.8 × 2 + 21 + 36 × 0.8
    assert result.unit("E12").total == 69.9
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "evaluation.settings")).one()
    assert event.detail["new"]["weights"]["satisfaction"] == 20.0
    with pytest.raises(ServiceError, match="权重之和应为 100，现为 110"):
        update_settings(
            session=session, wave=wave, raw={"weights": {"satisfaction": 20}}, actor=office
        )


def test_ranked_per_category_when_the_wave_says_so(session):
    wave, office = build_district(session, settings={"rank_by_category": True})
    import_three(session, wave, office)
    result = ranking.composite(session, wave)
    assert list(result.groups) == ["基层站所", "机关科室"]
    assert [(r.code, r.rank) for r in result.groups["机关科室"]] == [
        ("E01", 1),
        ("E02", 2),
        ("E03", 3),
        ("E04", 4),
        ("E05", 5),
        ("E06", 6),
    ]
    assert [r.code for r in result.groups["基层站所"]][:2] == ["E07", "E08"]


def test_refused_before_publication(session):
    wave, _ = build_district(session, publish=False)
    with pytest.raises(Conflict, match="尚未发布"):
        ranking.composite(session, wave)


def test_a_missing_part_leaves_the_unit_unranked_but_listed(session):
    wave, office = build_district(session)
    _import(session, wave, office, "work_style", part_csv(1))
    result = ranking.composite(session, wave)
    row = result.unit("E01")
    assert row.rank is None and row.total is None
    assert row.notes == ["缺少分项：监督检查、互联网+大数据，未排名"]
    assert len(result.all()) == 12


def test_a_file_with_bad_rows_stores_nothing_and_names_every_row(session):
    wave, office = build_district(session)
    content = (
        "单位代码,单位名称,得分\n"
        "E01,单位E01,9.5\n"
        "X99,不存在,8\n"
        "E02,单位E02,十\n"
        "E01,单位E01,9\n"
        "E03,单位E03,10.5\n"
        ",,8\n"
        "合计,,44\n"
    ).encode()
    with pytest.raises(PartRowsRejected) as caught:
        _import(session, wave, office, "work_style", content, "作风.csv")
    assert [str(i) for i in caught.value.issues] == [
        "第 3 行「单位代码」列：未知的单位代码 X99",
        "第 4 行「得分」列：「十」不是数字",
        "第 5 行「单位代码」列：单位代码 E01 重复（第 2 行已有）",
        "第 6 行「得分」列：得分 10.5 超出范围 0–10",
        "第 7 行「单位代码」列：单位代码为空",
    ]
    assert session.exec(select(PartImport)).all() == []
    assert session.exec(select(PartScore)).all() == []


def test_each_import_is_a_new_version_and_the_latest_counts(session, district):
    wave, office = district
    content = part_csv(1).replace(b"E01,\xe5\x8d\x95\xe4\xbd\x8dE01,9.5", b"E01,X,5.5")
    second = _import(session, wave, office, "work_style", content)
    assert second.version == 2
    assert second.source == "区直机关工委"
    assert ranking.composite(session, wave).unit("E01").total == 89.5
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "evaluation.import")).all()
    assert [(e.detail["part"], e.detail["version"], e.detail["rows"]) for e in events] == [
        ("work_style", 1, 12),
        ("supervision", 1, 12),
        ("big_data", 1, 12),
        ("work_style", 2, 12),
    ]


def test_xlsx_with_a_title_row_full_width_digits_and_sub_parts(session):
    """Is an XLSX read by its header words, with sub-parts summing to the score?"""
    wave, office = build_district(session)
    book = Workbook()
    sheet = book.active
    sheet.append(["2017年度互联网+大数据考评得分"])
    sheet.append(["序号", "单位代码", "网上办件", "投诉处理"])
    sheet.append([1, "E01", 28, 19])
    sheet.append([2, "Ｅ０２", "２５", 20])
    buffer = io.BytesIO()
    book.save(buffer)
    record = _import(session, wave, office, "big_data", buffer.getvalue(), "大数据.xlsx")
    assert record.sub_parts == ["网上办件", "投诉处理"]
    scores = {
        s.unit_code: (s.score, s.sub_scores)
        for s in session.exec(select(PartScore).where(PartScore.import_id == record.id))
    }
    assert scores == {
        "E01": (47.0, {"网上办件": 28.0, "投诉处理": 19.0}),
        "E02": (45.0, {"网上办件": 25.0, "投诉处理": 20.0}),
    }


def test_a_score_that_differs_from_its_sub_parts_is_refused(session):
    wave, office = build_district(session)
    content = "单位代码,网上办件,投诉处理,得分\nE01,28,19,46\n".encode()
    with pytest.raises(PartRowsRejected) as caught:
        _import(session, wave, office, "big_data", content)
    assert [str(i) for i in caught.value.issues] == [
        "第 2 行「得分」列：得分 46 与各子项之和 47 不符"
    ]
