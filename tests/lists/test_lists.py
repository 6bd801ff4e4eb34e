"""List versions, submission and review: the state machine and its refusals."""

from __future__ import annotations

import hashlib

import pytest
from flask import current_app
from sqlmodel import select

from survey_service.db import transaction
from survey_service.errors import Conflict, ServiceError
from survey_service.lists import importing as list_import
from survey_service.lists import review
from survey_service.models import (
    AuditEvent,
    Client,
    ClientList,
    ListStatus,
    StoredFile,
    StoredFileChunk,
)
from survey_service.privacy.vault import NAME
from survey_service.sample import draws
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave, upload_list


@pytest.fixture
def setup(session):
    with transaction(session):
        unit = make_unit(session)
        other = make_unit(session, code="U002", name="区排水中心")
        reviewer = make_user(session, role="reviewer")
        staff = make_user(session, username="staff", role="unit", unit=unit)
        wave = make_wave(session)
    return unit, other, reviewer, staff, wave


def _upload(session, unit, wave, content, actor=None, **kw):
    return upload_list(session, unit, wave, content, actor=actor, **kw)


def test_versions_count_up_and_keep_the_file(session, setup):
    """Does each upload become the next version, with the raw file kept byte for byte?"""
    unit, _other, _reviewer, staff, wave = setup
    content = csv_content(5)
    with transaction(session):
        first = _upload(session, unit, wave, content, staff)
        second = _upload(session, unit, wave, csv_content(3), staff)
    assert (first.version, second.version) == (1, 2)
    assert (first.status, first.n_accepted) == (ListStatus.DRAFT, 5)
    stored = session.get(StoredFile, first.file_id)
    assert stored.size == len(content)
    vault = current_app.extensions["phone_vault"]
    assert b"".join(list_import.stored_file_chunks(session, first.file_id, vault)) == content
    assert first.file_sha256 == hashlib.sha256(content).hexdigest()


def test_refused_file_stores_nothing(session, setup):
    """Is a file without a phone column refused whole, leaving no row behind?"""
    unit, _other, _reviewer, staff, wave = setup
    with pytest.raises(ServiceError) as info, transaction(session):
        _upload(session, unit, wave, "姓名,地址\n张三,蔡甸街\n".encode(), staff)
    assert "名单.csv" in str(info.value)
    for model in (ClientList, Client, StoredFile, StoredFileChunk):
        assert session.exec(select(model)).all() == []


def test_file_over_the_limit_is_refused(session, setup):
    unit, _other, _reviewer, staff, wave = setup
    options = list_import.ImportOptions(max_bytes=100)
    with pytest.raises(ServiceError) as info, transaction(session):
        _upload(session, unit, wave, csv_content(20), staff, options=options)
    assert "大小上限" in str(info.value)
    assert session.exec(select(StoredFile)).all() == []


def test_review_flow(session, setup):
    """Submit, reject with a reason, resubmit a new version, approve; the old one superseded."""
    unit, _other, reviewer, staff, wave = setup
    with transaction(session):
        v1 = _upload(session, unit, wave, csv_content(5), staff)
        list_import.submit_list(session=session, client_list=v1, actor=staff)
    assert v1.status == ListStatus.SUBMITTED
    with pytest.raises(ServiceError):
        review.reject_list(session=session, client_list=v1, reviewer=reviewer, note="  ")
    with transaction(session):
        review.reject_list(session=session, client_list=v1, reviewer=reviewer, note="名单过短")
    assert (v1.status, v1.review_note) == (ListStatus.REJECTED, "名单过短")
    with pytest.raises(Conflict):
        review.approve_list(session=session, client_list=v1, reviewer=reviewer)
    with transaction(session):
        v2 = _upload(session, unit, wave, csv_content(8), staff)
        list_import.submit_list(session=session, client_list=v2, actor=staff)
        review.approve_list(session=session, client_list=v2, reviewer=reviewer, note="同意")
    assert (v2.status, v2.reviewed_by) == (ListStatus.APPROVED, reviewer.id)
    actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-6:] == [
        "list.upload",
        "list.submit",
        "list.reject",
        "list.upload",
        "list.submit",
        "list.approve",
    ]


def test_frozen_after_draw(session, setup):
    """Once a sample is drawn, can the unit upload or get a new version approved? (No.)"""
    unit, _other, reviewer, staff, wave = setup
    with transaction(session):
        make_list(session, unit=unit, wave=wave, n=10, actor=reviewer)
        draws.draw_sample(session=session, wave=wave, seed=5, per_unit=3, actor=None)
    with pytest.raises(Conflict):
        _upload(session, unit, wave, csv_content(4), staff)


def test_empty_list_cannot_be_submitted(session, setup):
    unit, _other, _reviewer, staff, wave = setup
    content = "姓名,联系电话\n张三,123\n".encode()
    with transaction(session):
        bad = _upload(session, unit, wave, content, staff)
    assert (bad.n_accepted, bad.n_rejected) == (0, 1)
    with pytest.raises(Conflict):
        list_import.submit_list(session=session, client_list=bad, actor=staff)


def test_shared_numbers_signal(session, setup):
    """Does the review page count numbers that also stand on another unit's list?"""
    unit, other, reviewer, _staff, wave = setup
    with transaction(session):
        make_list(session, unit=other, wave=wave, n=10, start=13800000000, actor=reviewer)
        mine = make_list(
            session,
            unit=unit,
            wave=wave,
            n=10,
            start=13800000049,
            status=ListStatus.SUBMITTED,
            actor=reviewer,
        )
    signals = review.list_signals(session, mine)
    # other: 13800000000 + 7k for k<10 (..063); mine: 13800000049 + 7k -> 049, 056, 063 shared
    assert signals.shared_numbers == 3
    assert signals.size == 10
    assert signals.category_median == 10.0  # the other 基层站所 list
    assert signals.size_ratio == 1.0


def test_padding_signals(session, setup):
    """Are runs of consecutive numbers, staff numbers and one name with many numbers counted?"""
    unit, _other, _reviewer, staff_user, wave = setup
    rows = ["姓名,联系电话,办理事项"]
    rows += [f"张三,1380000000{i},户籍" for i in range(1, 6)]  # one run of 5, one name x5
    rows += ["李四,13912345678,户籍", "王五,13912345680,户籍"]
    with transaction(session):
        client_list = _upload(session, unit, wave, "\n".join(rows).encode(), staff_user)
        count = list_import.import_staff_numbers(
            session=session,
            unit=unit,
            wave=wave,
            content="电话\n13912345678\n".encode(),
            filename="staff.csv",
            vault=current_app.extensions["phone_vault"],
        )
    assert count == 1
    assert client_list.signals == {
        "consecutive_runs": 1,
        "numbers_in_runs": 5,
        "names_with_many_numbers": 1,
    }
    signals = review.list_signals(session, client_list)
    assert (signals.staff_numbers, signals.names_with_many_numbers) == (1, 1)
    assert (signals.consecutive_runs, signals.numbers_in_runs) == (1, 5)


def test_formula_names_are_data(app, client, session, setup):
    """Is a name like =HYPERLINK(...) stored as given, shown escaped, exported inert?"""
    unit, _other, _reviewer, staff_user, wave = setup
    content = (
        '姓名,联系电话\n"=HYPERLINK(""http://x"",""点"")",13800000000\n'
        "<script>alert(1)</script>,12345\n"
    ).encode()
    with transaction(session):
        client_list = _upload(session, unit, wave, content, staff_user)
    stored = session.exec(select(Client)).one()
    name = current_app.extensions["phone_vault"].decrypt_text(stored.name, NAME)
    assert name == '=HYPERLINK("http://x","点")'
    client.post("/auth/login", data={"username": "staff", "password": "password123"})
    page = client.get(f"/unit/lists/{client_list.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    from survey_service.results.render.csvfile import csv_bytes

    body = csv_bytes(["姓名"], [[name], ["-1"], [-1], ["@SUM(A1)"]]).decode("utf-8-sig")
    assert body.splitlines() == [
        "姓名",
        '"\'=HYPERLINK(""http://x"",""点"")"',
        "'-1",
        "-1",
        "'@SUM(A1)",
    ]


def test_closed_wave_takes_no_lists(session, setup):
    """After the office closes the wave, are client and staff uploads refused?"""
    from survey_service.models import WaveStatus

    unit, _other, _reviewer, staff_user, wave = setup
    wave.status = WaveStatus.CLOSED
    session.add(wave)
    session.flush()
    with pytest.raises(Conflict):
        _upload(session, unit, wave, csv_content(3), staff_user)
    with pytest.raises(Conflict):
        list_import.import_staff_numbers(
            session=session,
            unit=unit,
            wave=wave,
            content=b"phone\n13800000001\n",
            filename="staff.csv",
            vault=current_app.extensions["phone_vault"],
        )
