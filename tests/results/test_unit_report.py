"""The unit report: its figures, aspects, Chinese disposition labels and releasable comments."""

from __future__ import annotations

from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import Answer, Case, Unit
from survey_service.results import unit_report
from survey_service.results.exports import comments_table
from tests.factories import make_user

COMMENTS = [
    "窗口的张三态度很好",  # redacted: releasable
    "李四态度很差，推三阻四",  # a likely name remains: held
    "希望窗口多开几个",
]


def _comment_on_unit_a(session) -> None:
    unit = session.exec(select(Unit).where(Unit.code == "A")).one()
    answers = session.exec(
        select(Answer)
        .join(Case, Case.id == Answer.case_id)
        .where(Case.unit_id == unit.id, Answer.item_id == "comment")
        .order_by(Answer.id)
    ).all()
    with transaction(session):
        for answer, text in zip(answers, COMMENTS, strict=False):
            answer.value = text
            session.add(answer)


def test_unit_sees_only_releasable_comments(session, wave_with_answers):
    """Is a comment that may still name someone kept from the unit and flagged in the export?"""
    wave, _plan = wave_with_answers
    _comment_on_unit_a(session)
    for for_unit in (True, False):
        page = unit_report.unit_report(session, wave, "A", for_unit=for_unit)
        assert page["comments"] == ["希望窗口多开几个", "窗口的[姓名]态度很好"]
        assert page["held_comments"] == 1
    header, rows = comments_table(session, wave)
    table = {r[header.index("意见内容（已去除个人信息）")]: r for r in rows}
    assert set(table) == {"窗口的[姓名]态度很好", "李四态度很差，推三阻四", "希望窗口多开几个"}
    held = table["李四态度很差，推三阻四"]
    assert held[header.index("需人工审核")] == "是（可能含有姓名）"
    assert held[header.index("可否转交单位")] == "否（待人工审核）"
    released = table["窗口的[姓名]态度很好"]
    assert released[header.index("需人工审核")] == ""
    assert released[header.index("可否转交单位")] == "可以"


def test_unit_page_shows_held_count_and_chinese_dispositions(
    client, auth, session, wave_with_answers
):
    """Does the office's unit page say how many comments wait and name dispositions in Chinese?"""
    _comment_on_unit_a(session)
    with transaction(session):
        make_user(session, username="office", role="reviewer")
    auth.login("office")
    page = client.get("/statistics/units/A").get_data(as_text=True)
    assert "李四" not in page and "张三" not in page
    assert "另有 1 条意见可能含有姓名，待人工审核后转交。" in page
    assert "<td>1.1</td><td>完成访问</td>" in page
    assert "<td>2.11</td><td>拒访</td>" in page


def test_aspects_come_from_the_aspects_module(session, wave_with_answers):
    """Are the unit's aspects the aspect rows of its own unit, one per scored item?"""
    wave, _plan = wave_with_answers
    page = unit_report.unit_report(session, wave, "A", for_unit=False)
    assert [(a.unit, a.item) for a in page["aspects"]] == [
        ("A", "service_quality"),
        ("A", "overall"),
    ]
    # 办事服务 for A: 100, 100, 80, 100, 80 points -> 9.2 on the 10-point scale
    assert round(page["aspects"][0].mean, 4) == 9.2 and page["aspects"][0].n == 5


def test_never_dialled_cases_have_a_chinese_label():
    assert unit_report.disposition_label("UH") == "已发放、尚未拨打（计入UH）"
    assert unit_report.disposition_label("1.1") == "完成访问"
