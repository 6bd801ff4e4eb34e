"""The office's review of a submitted list: approve, reject with a reason, the padding signals."""

from __future__ import annotations

import pytest
from flask import current_app
from sqlmodel import select

from survey_service.db import transaction
from survey_service.errors import Conflict, ServiceError, Where
from survey_service.lists import importing as list_import
from survey_service.lists import review
from survey_service.lists.review import ListSignals
from survey_service.models import AuditEvent, ClientList, ListStatus
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave, upload_list


@pytest.fixture
def setup(session):
    with transaction(session):
        unit = make_unit(session)
        reviewer = make_user(session, role="reviewer")
        staff = make_user(session, username="staff", role="unit", unit=unit)
        wave = make_wave(session)
    return unit, reviewer, staff, wave


def _submitted(session, unit, wave, staff, content: bytes) -> ClientList:
    client_list = upload_list(session, unit, wave, content, actor=staff)
    list_import.submit_list(session=session, client_list=client_list, actor=staff)
    return client_list


def _last_event(session) -> AuditEvent:
    return session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def test_approve_makes_the_frame_and_supersedes_the_earlier_version(session, setup):
    """Does approving record who and the trimmed note, and set the earlier approved version back?"""
    unit, reviewer, staff, wave = setup
    with transaction(session):
        v1 = _submitted(session, unit, wave, staff, csv_content(3))
        review.approve_list(session=session, client_list=v1, reviewer=reviewer, note="  ")
    assert (v1.status, v1.reviewed_by, v1.review_note) == (ListStatus.APPROVED, reviewer.id, None)
    assert v1.reviewed_at is not None
    with transaction(session):
        v2 = _submitted(session, unit, wave, staff, csv_content(4))
        review.approve_list(session=session, client_list=v2, reviewer=reviewer, note=" 同意 ")
    assert (v2.version, v2.status, v2.review_note) == (2, ListStatus.APPROVED, "同意")
    assert (v1.status, v1.review_note) == (ListStatus.REJECTED, "已被第 2 版取代")
    event = _last_event(session)
    assert (event.action, event.user_id, event.object_type, event.object_id, event.detail) == (
        "list.approve",
        reviewer.id,
        "client_list",
        str(v2.id),
        {"note": "同意"},
    )


def test_approve_refuses_a_draft_and_a_frozen_frame(session, setup):
    unit, reviewer, staff, wave = setup
    with transaction(session):
        draft = upload_list(session, unit, wave, csv_content(3), actor=staff)
    with pytest.raises(Conflict) as not_submitted:
        review.approve_list(session=session, client_list=draft, reviewer=reviewer)
    assert not_submitted.value.message == "只有待审核的名单可以审核"
    assert draft.status == ListStatus.DRAFT
    with transaction(session):
        frame = make_list(session, unit=unit, wave=wave, n=5, actor=reviewer)
        newer = _submitted(session, unit, wave, staff, csv_content(6))
        frame.frozen = True  # as a drawn sample leaves it
        session.add(frame)
    with pytest.raises(Conflict) as frozen:
        review.approve_list(session=session, client_list=newer, reviewer=reviewer)
    assert frozen.value.message == "该单位已有名单用于抽样（已冻结），不能再审核通过新版本"
    assert (frame.status, newer.status) == (ListStatus.APPROVED, ListStatus.SUBMITTED)


def test_reject_needs_a_reason_and_keeps_it(session, setup):
    """Is a rejection without a reason refused on the note field, and a reason kept trimmed?"""
    unit, reviewer, staff, wave = setup
    with transaction(session):
        submitted = _submitted(session, unit, wave, staff, csv_content(3))
    with pytest.raises(ServiceError) as empty:
        review.reject_list(session=session, client_list=submitted, reviewer=reviewer, note=" \n ")
    assert (empty.value.message, empty.value.where) == ("退回时必须填写原因", Where(field="note"))
    assert submitted.status == ListStatus.SUBMITTED
    with transaction(session):
        review.reject_list(
            session=session, client_list=submitted, reviewer=reviewer, note="  名单过短\n"
        )
    assert (submitted.status, submitted.review_note, submitted.reviewed_by) == (
        ListStatus.REJECTED,
        "名单过短",
        reviewer.id,
    )
    event = _last_event(session)
    assert (event.action, event.object_id, event.detail) == (
        "list.reject",
        str(submitted.id),
        {"note": "名单过短"},
    )
    with pytest.raises(Conflict) as again:
        review.reject_list(session=session, client_list=submitted, reviewer=reviewer, note="再退")
    assert again.value.message == "只有待审核的名单可以审核"


def test_signals_of_a_padded_list(session, setup):
    """Every signal of one list, against two other lists of the same category."""
    unit, reviewer, staff, wave = setup
    with transaction(session):
        second = make_unit(session, code="U002", name="区排水中心")
        third = make_unit(session, code="U003", name="区税务所")
        other_category = make_unit(session, code="U004", name="区医院", category="窗口单位")
        make_list(session, unit=second, wave=wave, n=4, start=13900000000, actor=reviewer)
        make_list(session, unit=third, wave=wave, n=10, start=13700000000, actor=reviewer)
        make_list(session, unit=other_category, wave=wave, n=50, start=13600000000, actor=reviewer)
        rows = ["姓名,联系电话,办理事项"]
        rows += [f"张三,1350000000{i},户籍" for i in range(1, 5)]  # a run of 4, one name x4
        rows += ["李四,13900000007,户籍"]  # also on U002's list (13900000000 + 7k)
        rows += ["王五,13512345678,户籍", "赵六,12345,户籍", "钱七,,户籍"]  # 2 rejected
        mine = _submitted(session, unit, wave, staff, "\n".join(rows).encode())
        list_import.import_staff_numbers(
            session=session,
            unit=unit,
            wave=wave,
            content="电话\n13512345678\n".encode(),
            filename="staff.csv",
            vault=current_app.extensions["phone_vault"],
        )
    assert review.list_signals(session, mine) == ListSignals(
        size=6,
        category_median=7.0,  # U002 (4) and U003 (10); U004 is another category
        size_ratio=6 / 7,
        rejected_share=0.25,
        shared_numbers=1,
        staff_numbers=1,
        consecutive_runs=1,
        numbers_in_runs=4,
        names_with_many_numbers=1,
    )


def test_signals_of_a_lone_list(session, setup):
    """Without other lists of the category there is no median and no ratio."""
    unit, _reviewer, staff, wave = setup
    with transaction(session):
        mine = _submitted(session, unit, wave, staff, csv_content(3))
    assert review.list_signals(session, mine) == ListSignals(
        size=3,
        category_median=None,
        size_ratio=None,
        rejected_share=0.0,
        shared_numbers=0,
        staff_numbers=0,
        consecutive_runs=0,
        numbers_in_runs=0,
        names_with_many_numbers=0,
    )
