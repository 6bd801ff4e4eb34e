"""The rectification list: grouped comments, low aspects, answer, 销号, overdue, comparison."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from survey_service.calls import attempts as calling
from survey_service.calls import interviews
from survey_service.db import transaction
from survey_service.errors import Conflict, Forbidden, NotFound, ServiceError
from survey_service.evaluation import compare, grouping, rectification
from survey_service.models import AuditEvent, Case, CaseStatus, ResultSnapshot, WaveStatus
from survey_service.models.evaluation import Problem, ProblemStatus
from survey_service.results import publication
from survey_service.sample import draws
from tests.evaluation.conftest import build_district, import_three, snapshot
from tests.factories import make_list, make_unit, make_user, make_wave

COMMENTS = [
    "办事效率太低，跑了好几趟才办成",
    "效率低，来回跑了好几趟",
    "办事效率有待提高",
    "窗口工作人员态度不好",
    "工作人员态度很差，爱理不理",
    "窗口人员服务态度差",
    "希望延长办公时间",
    "建议延长中午的办公时间",
    "执法人员乱罚款",
    "没有意见",
    "很好，没什么意见",
]


def test_the_same_complaint_in_other_words_counts_once():
    groups = grouping.group_comments(COMMENTS)
    assert [(g.count, g.aspect, g.summary) for g in groups] == [
        (3, "工作落实", "办事效率太低，跑了好几趟才办成"),
        (3, "联系群众", "窗口工作人员态度不好"),
        (2, "工作落实", "希望延长办公时间"),
        (1, "依法行政", "执法人员乱罚款"),
    ]
    assert grouping.group_comments(list(reversed(COMMENTS))) == groups


def test_similarity_is_bigram_jaccard():
    a, b = grouping.bigrams("停车位太少"), grouping.bigrams("门口停车难，车位少")
    assert a == {"停车", "车位", "位少"}
    assert grouping.jaccard(a, b) == 3 / 7
    assert grouping.normalise("请联系[号码]某先生！") == "请联系先生"


def test_working_days_skip_weekends():
    assert rectification.add_working_days(date(2018, 1, 5), 10) == date(2018, 1, 19)
    assert rectification.add_working_days(date(2018, 1, 6), 5) == date(2018, 1, 12)


def _interview(session, agent, unit, rating, comment):
    case = session.exec(
        select(Case)
        .where(Case.unit_id == unit.id, Case.status == CaseStatus.PENDING)
        .order_by(Case.order_rank)
    ).first()
    case.status = CaseStatus.IN_PROGRESS
    case.claimed_by = agent.id
    session.add(case)
    session.flush()
    attempt = calling.start_attempt(session, case, agent=agent)
    for item_id, value in (
        ("screening", "dealt"),
        ("service_quality", rating),
        ("overall", rating),
        ("comment", comment),
    ):
        interviews.answer(session, case, attempt, item_id, value, actor=agent)


@pytest.fixture
def surveyed(session):
    """One unit, 8 interviews with comments, results closed: (wave, unit, office, staff)."""
    with transaction(session):
        office = make_user(session, username="office", role="reviewer")
        agent = make_user(session, role="agent")
        wave = make_wave(session)
        unit = make_unit(session, code="JC022", name="奓山街派出所")
        staff = make_user(session, username="unit1", role="unit", unit=unit)
        make_list(session, unit=unit, wave=wave, n=20, actor=office)
        draws.draw_sample(session=session, wave=wave, seed=9, per_unit=8, actor=None)
        ratings = ["dissatisfied", "satisfied", "basically_satisfied", "dissatisfied"] * 2
        comments = [*COMMENTS[:6], "希望延长办公时间", "建议延长中午的办公时间"]
        for rating, comment in zip(ratings, comments, strict=True):
            _interview(session, agent, unit, rating, comment)
        publication.close_results(session=session, wave=wave, actor=office)
        publication.publish_results(session=session, wave=wave, actor=office)
    return wave, unit, office, staff


def test_build_answer_close_and_send_back(session, surveyed):
    wave, unit, office, staff = surveyed
    with transaction(session):
        built = rectification.build_problem_list(
            session=session, wave=wave, unit_code=unit.code, actor=office, today=date(2018, 1, 5)
        )
    rows = [(p.seq, p.source, p.aspect, p.mentions, p.summary) for p in built.problems]
    # Points 30/80/60/30 twice: mean 50 → 5.00 of 10 in both rated items, below 8.
    assert rows == [
        (1, "aspect", "办事服务", 0, "办事服务方面得分 5.00 分（低于 8 分，8 人评价）"),
        (2, "aspect", "总体满意度", 0, "总体满意度方面得分 5.00 分（低于 8 分，8 人评价）"),
        (3, "comment", "工作落实", 3, "办事效率太低，跑了好几趟才办成"),
        (4, "comment", "联系群众", 3, "窗口工作人员态度不好"),
        (5, "comment", "工作落实", 2, "希望延长办公时间"),
    ]
    assert {p.deadline for p in built.problems} == {date(2018, 1, 19)}
    with pytest.raises(Conflict, match="已生成"):
        rectification.build_problem_list(session=session, wave=wave, unit_code=unit.code)

    problem = built.problems[3]
    with pytest.raises(Forbidden):
        rectification.answer_problem(session=session, problem=problem, measure="x", actor=office)
    with transaction(session):
        rectification.answer_problem(
            session=session,
            problem=problem,
            measure="开展文明服务培训，窗口设意见箱",
            actor=staff,
            today=date(2018, 1, 10),
        )
    assert problem.status == ProblemStatus.ANSWERED
    with pytest.raises(ServiceError, match="退回须写明理由"):
        rectification.review_problem(
            session=session, problem=problem, close=False, note="", actor=office
        )
    with transaction(session):
        rectification.review_problem(
            session=session, problem=problem, close=False, note="措施不具体", actor=office
        )
    assert problem.status == ProblemStatus.RETURNED
    with transaction(session):
        rectification.answer_problem(
            session=session,
            problem=problem,
            measure="每周一次文明服务培训，所长每月抽查窗口录像",
            actor=staff,
            today=date(2018, 1, 12),
        )
        rectification.review_problem(
            session=session, problem=problem, close=True, note="经回访核实", actor=office
        )
    assert problem.status == ProblemStatus.CLOSED
    actions = session.exec(
        select(AuditEvent.action)
        .where(AuditEvent.action.startswith("evaluation."))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "evaluation.problems.build",
        "evaluation.problem.answer",
        "evaluation.problem.return",
        "evaluation.problem.answer",
        "evaluation.problem.close",
    ]
    (row,) = rectification.progress(session, wave, today=date(2018, 1, 22))
    assert (row.total, row.closed, row.answered, row.waiting, row.overdue) == (5, 1, 0, 4, 4)
    assert rectification.progress(session, wave, today=date(2018, 1, 19))[0].overdue == 0


def test_a_unit_sees_only_its_own_problems(session, surveyed):
    wave, unit, office, _staff = surveyed
    with transaction(session):
        other = make_unit(session, code="JC023", name="蔡甸街派出所")
        stranger = make_user(session, username="unit2", role="unit", unit=other)
        built = rectification.build_problem_list(
            session=session, wave=wave, unit_code=unit.code, actor=office
        )
    with pytest.raises(NotFound):
        rectification.get_problem(session, built.problems[0].id, stranger)


def test_comments_of_a_small_group_stay_with_the_office(session):
    with transaction(session):
        office = make_user(session, username="office", role="reviewer")
        agent = make_user(session, role="agent")
        wave = make_wave(session)
        unit = make_unit(session, code="JC022", name="奓山街派出所")
        make_list(session, unit=unit, wave=wave, n=20, actor=office)
        draws.draw_sample(session=session, wave=wave, seed=9, per_unit=8, actor=None)
        for comment in ("态度差", "窗口态度差", "罚款随意"):
            _interview(session, agent, unit, "very_satisfied", comment)
        publication.close_results(session=session, wave=wave, actor=office)
        publication.publish_results(session=session, wave=wave, actor=office)
        built = rectification.build_problem_list(session=session, wave=wave, unit_code="JC022")
    assert built.problems == []
    assert built.notes == [
        "受访者过少（否（受访者少于 5 人）），意见建议不转交单位，未列入清单",
        "没有低分项，也没有需要整改的意见建议",
    ]


def test_next_wave_shows_last_waves_score_and_share_closed(session):
    wave, office = build_district(session)
    import_three(session, wave, office)
    with transaction(session):
        for seq, status in enumerate(["closed", "closed", "answered", "open"], start=1):
            session.add(
                Problem(
                    wave_id=wave.id,
                    unit_code="E12",
                    seq=seq,
                    aspect="工作落实",
                    source="comment",
                    summary=f"问题{seq}",
                    status=status,
                    issued_on=date(2018, 1, 5),
                    deadline=date(2018, 1, 19),
                )
            )
        later = make_wave(session, name="2018")
        session.add(
            ResultSnapshot(
                wave_id=later.id,
                unit_code="E12",
                figures=snapshot("E12", "单位E12", "基层站所", 7.9, (7.7, 8.1)),
            )
        )
        later.status = WaveStatus.CLOSED
        session.add(later)
    before, rows = compare.comparison(session, later)
    assert before.id == wave.id
    e12 = next(r for r in rows if r.code == "E12")
    assert (e12.score, e12.previous_score, e12.previous_total) == (7.9, 6.8, 70.3)
    assert round(e12.change, 4) == 1.1
    assert (e12.previous_problems, e12.previous_closed, e12.share_closed) == (4, 2, 0.5)
    e01 = next(r for r in rows if r.code == "E01")
    assert (e01.score, e01.previous_score, e01.share_closed) == (None, 9.0, None)
