"""The shortlist funnel and the one-vote veto on the constructed district."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from survey_service.db import transaction
from survey_service.errors import Conflict, ServiceError
from survey_service.evaluation import funnel, parts
from survey_service.evaluation.settings import update_settings
from survey_service.models import AuditEvent
from tests.evaluation.conftest import build_district, import_three, part_csv

SMALL = {"shortlist_sizes": [4, 3, 2]}


@pytest.fixture
def small_district(session):
    wave, office = build_district(session, settings=SMALL)
    import_three(session, wave, office)
    return wave, office


def _step(session, wave, office, day, changes=None, **extra):
    with transaction(session):
        return funnel.record_step(
            session=session,
            wave=wave,
            decided_on=date(2018, 1, day),
            changes=changes,
            actor=office,
            **extra,
        )


def _veto(session, wave, office, code="E02"):
    with transaction(session):
        return funnel.record_veto(
            session=session,
            wave=wave,
            unit_code=code,
            reason="discipline",
            detail="窗口人员收受服务对象财物",
            document="蔡纪发〔2018〕3号",
            actor=office,
        )


def test_three_steps_without_veto(session, small_district):
    wave, office = small_district
    first = _step(session, wave, office, 5, document="区纪委常委会纪要〔2018〕1号")
    assert (first.step, first.size, first.body) == (1, 4, "区纪委常委会")
    assert first.best == {"全部单位": ["E07", "E01", "E08", "E02"]}
    assert first.worst == {"全部单位": ["E12", "E06", "E11", "E05"]}
    second = _step(session, wave, office, 12)
    assert (second.body, second.best, second.worst) == (
        "区政府常务会",
        {"全部单位": ["E07", "E01", "E08"]},
        {"全部单位": ["E12", "E06", "E11"]},
    )
    third = _step(session, wave, office, 19)
    assert third.body == "区委常委会"
    assert third.best == {"全部单位": ["E07", "E01"]}
    assert funnel.ten_worst(session, wave) == ["E12", "E06"]
    with pytest.raises(Conflict, match="三轮筛选均已记录"):
        _step(session, wave, office, 26)


def test_a_vetoed_unit_goes_onto_the_worst_list_whatever_its_total(session, small_district):
    """E02 ranks 4th of 12 (89.8); vetoed, it leaves the best list and heads the worst."""
    wave, office = small_district
    _veto(session, wave, office, "E02")
    first = _step(session, wave, office, 5)
    assert first.best == {"全部单位": ["E07", "E01", "E08", "E03"]}
    assert first.worst == {"全部单位": ["E02", "E12", "E06", "E11"]}
    change = {"list": "worst", "action": "remove", "unit": "E02", "reason": "成绩较好"}
    with pytest.raises(ServiceError, match="被一票否决，不能移出十差候选"):
        _step(session, wave, office, 12, [change])
    second = _step(
        session,
        wave,
        office,
        12,
        [
            {
                "list": "worst",
                "action": "remove",
                "unit": "E06",
                "reason": "已整改到位，经会议研究",
            },
            {"list": "worst", "action": "add", "unit": "E05", "reason": "群众投诉集中"},
        ],
    )
    assert second.worst == {"全部单位": ["E02", "E12", "E05"]}
    assert second.changes[0] == {
        "list": "worst",
        "action": "remove",
        "unit": "E06",
        "reason": "已整改到位，经会议研究",
    }
    _step(session, wave, office, 19)
    assert funnel.ten_worst(session, wave) == ["E02", "E12"]
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action.in_(["evaluation.veto", "evaluation.shortlist"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == [
        "evaluation.veto",
        "evaluation.shortlist",
        "evaluation.shortlist",
        "evaluation.shortlist",
    ]
    assert events[0].detail["document"] == "蔡纪发〔2018〕3号"


def test_changes_keep_the_list_size_and_need_a_reason(session, small_district):
    wave, office = small_district
    with pytest.raises(ServiceError, match="每项调整都须写明理由"):
        _step(session, wave, office, 5, [{"list": "best", "action": "remove", "unit": "E07"}])
    with pytest.raises(ServiceError, match="十佳候选应为 4 个，现为 3 个"):
        _step(
            session,
            wave,
            office,
            5,
            [{"list": "best", "action": "remove", "unit": "E07", "reason": "群众举报"}],
        )
    with pytest.raises(ServiceError, match="在十差候选中，须先移出"):
        _step(
            session,
            wave,
            office,
            5,
            [{"list": "best", "action": "add", "unit": "E12", "reason": "x"}],
        )
    assert funnel.steps(session, wave) == []


def test_a_veto_needs_its_document_and_is_recorded_once(session, small_district):
    wave, office = small_district
    with pytest.raises(ServiceError, match="依据文件"):
        funnel.record_veto(
            session=session, wave=wave, unit_code="E01", reason="investors", document=" "
        )
    _veto(session, wave, office, "E01")
    with pytest.raises(Conflict, match="已有一票否决记录"):
        _veto(session, wave, office, "E01")


def test_no_step_while_a_unit_lacks_a_part(session):
    wave, office = build_district(session, settings=SMALL)
    with transaction(session):
        parts.import_part(
            session=session, wave=wave, part="work_style", content=part_csv(1), filename="a.csv"
        )
    with pytest.raises(Conflict, match="12 个单位缺少分项"):
        _step(session, wave, office, 5)


def test_per_category_funnel(session):
    wave, office = build_district(
        session, settings={"rank_by_category": True, "shortlist_sizes": [2, 2, 1]}
    )
    import_three(session, wave, office)
    first = _step(session, wave, office, 5)
    assert first.best == {"基层站所": ["E07", "E08"], "机关科室": ["E01", "E02"]}
    assert first.worst == {"基层站所": ["E12", "E11"], "机关科室": ["E06", "E05"]}
    _step(session, wave, office, 6)
    third = _step(session, wave, office, 7)
    assert third.worst == {"基层站所": ["E12"], "机关科室": ["E06"]}


def test_the_ranking_is_fixed_once_a_step_is_recorded(session, small_district):
    """After a decision no new part version, no weight change, and after step 3 no veto."""
    wave, office = small_district
    _step(session, wave, office, 5)
    with pytest.raises(Conflict, match="分项得分不能再导入新版本"):
        parts.import_part(
            session=session, wave=wave, part="work_style", content=part_csv(1), filename="a.csv"
        )
    with pytest.raises(Conflict, match="权重、分类排名和名单规模不能再修改"):
        update_settings(
            session=session,
            wave=wave,
            raw={**SMALL, "weights": {"satisfaction": 20, "big_data": 40}},
            actor=office,
        )
    with transaction(session):
        update_settings(session=session, wave=wave, raw={**SMALL, "working_days": 15}, actor=office)
    _step(session, wave, office, 12)
    _step(session, wave, office, 19)
    with pytest.raises(Conflict, match="十差名单已决定"):
        _veto(session, wave, office, "E01")


def test_a_wrong_step_or_veto_is_revoked_with_its_reason(session, small_district):
    wave, office = small_district
    _veto(session, wave, office, "E02")
    with transaction(session):
        funnel.revoke_veto(
            session=session, wave=wave, unit_code="E02", reason="误录单位", actor=office
        )
    first = _step(session, wave, office, 5)
    assert first.worst == {"全部单位": ["E12", "E06", "E11", "E05"]}
    with pytest.raises(ServiceError, match="撤销须写明理由"):
        funnel.revoke_last_step(session=session, wave=wave, reason=" ")
    with transaction(session):
        funnel.revoke_last_step(session=session, wave=wave, reason="日期录错", actor=office)
    assert funnel.steps(session, wave) == []
    again = _step(session, wave, office, 6)
    assert (again.step, again.decided_on) == (1, date(2018, 1, 6))
    revoked = session.exec(
        select(AuditEvent).where(AuditEvent.action == "evaluation.shortlist.revoke")
    ).one()
    assert revoked.detail["worst"] == {"全部单位": ["E12", "E06", "E11", "E05"]}
    assert revoked.detail["reason"] == "日期录错"
