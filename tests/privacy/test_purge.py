"""Retention: a closed wave's personal data purged, its answers and figures kept."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest
from flask import current_app
from sqlmodel import select

from survey_service.calls import attempts as calling
from survey_service.calls import interviews
from survey_service.db import transaction
from survey_service.errors import Conflict
from survey_service.lists import importing as list_import
from survey_service.lists import review
from survey_service.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Client,
    DoNotCall,
    ListRowIssue,
    StaffNumber,
    StoredFile,
    SurveyWave,
    Unit,
)
from survey_service.privacy import retention
from survey_service.results import publication
from survey_service.sample import draws
from tests.factories import make_unit, make_user, make_wave, upload_list
from tests.privacy.at_rest import found_in_dump, found_in_files

LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"]
PLAN = {
    "A": [(0, 0), (0, 1), (1, 1), (0, 0), None, (1, 0)],
    "B": [(2, 2), (3, 2), (2, 3), (1, 2), (2, 2), None],
}
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
COMMENT_NUMBER = "17799990000"
NOTE_NUMBER = "17788880000"
STAFF_NUMBER = "17766660000"


def _name(unit: int, i: int) -> str:
    return f"{SURNAMES[i]}{'甲乙'[unit]}隐私{i:02d}"


def _phone(unit: int, i: int) -> str:
    return f"177{unit:02d}{i:06d}"


def _content(unit: int) -> bytes:
    rows = [f"{_name(unit, i)},{_phone(unit, i)},户籍办理" for i in range(20)]
    rows.append(f"重复{'甲乙'[unit]},{_phone(unit, 0)},户籍办理")  # rejected: duplicate
    return ("姓名,联系电话,办理事项\n" + "\n".join(rows) + "\n").encode()


def _interview(session, agent, case, ratings, comment):
    attempt = calling.start_attempt(session, case, agent=agent)
    if ratings is None:
        calling.record_outcome(
            session, case, attempt, "2.11", actor=agent, note=f"对方说改打 {NOTE_NUMBER}"
        )
        return
    for item_id, value in (
        ("screening", "dealt"),
        ("service_quality", LEVELS[ratings[0]]),
        ("overall", LEVELS[ratings[1]]),
        ("comment", comment),
    ):
        interviews.answer(session, case, attempt, item_id, value, actor=agent)


@pytest.fixture
def closed_wave(session):
    """Two units' lists (with a rejected row and staff numbers), interviews, results closed."""
    vault = current_app.extensions["phone_vault"]
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        agent = make_user(session, role="agent")
        wave = make_wave(session)
        for u, code in enumerate(PLAN):
            unit = make_unit(session, code=code, name=f"单位{code}")
            staff = make_user(session, username=f"staff{code}", role="unit", unit=unit)
            list_import.import_staff_numbers(
                session=session,
                unit=unit,
                wave=wave,
                content=f"电话\n{STAFF_NUMBER}\n".encode(),
                filename="staff.csv",
                vault=vault,
            )
            client_list = upload_list(session, unit, wave, _content(u), actor=staff)
            list_import.submit_list(session=session, client_list=client_list, actor=staff)
            review.approve_list(session=session, client_list=client_list, reviewer=reviewer)
        draws.draw_sample(session=session, wave=wave, seed=9, per_unit=6, actor=None)
        for code, plan in PLAN.items():
            unit = session.exec(select(Unit).where(Unit.code == code)).one()
            for n, ratings in enumerate(plan):
                case = session.exec(
                    select(Case)
                    .where(Case.unit_id == unit.id, Case.status == CaseStatus.PENDING)
                    .order_by(Case.order_rank)
                ).first()
                case.status, case.claimed_by = CaseStatus.IN_PROGRESS, agent.id
                session.add(case)
                session.flush()
                comment = f"有事请打 {COMMENT_NUMBER}" if n == 0 else "_skipped"
                _interview(session, agent, case, ratings, comment)
        publication.close_results(session=session, wave=wave, actor=reviewer)
    return wave


def _needles(session) -> tuple[list[str], list[str]]:
    """Every name and number of the wave: in clear (no list keeps them so, a comment and
    a call note do), and in the forms stored (ciphertexts, lookup hashes, masks)."""
    clients = session.exec(select(Client)).all()
    staff = session.exec(select(StaffNumber.phone_hash)).all()
    assert len(clients) == 40 and len(staff) == 2
    numbers = [_phone(u, i) for u in (0, 1) for i in range(20)] + [STAFF_NUMBER]
    names = [_name(u, i) for u in (0, 1) for i in range(20)] + ["重复甲", "重复乙"]
    clear = [*numbers, *(f"+86{n}" for n in numbers), *names]
    # A hard refusal's hash stays on the do-not-call list (checked on its own).
    kept = set(session.exec(select(DoNotCall.phone_hash)).all())
    stored = [t for c in clients for t in (c.name, c.phone_enc, c.phone_hash, c.phone_masked)]
    issues = session.exec(select(ListRowIssue)).all()
    assert sorted(i.name_masked for i in issues) == ["重*乙", "重*甲"]
    stored += [t for i in issues for t in (i.name, i.name_masked)]
    return clear, [t for t in [*stored, *staff, COMMENT_NUMBER, NOTE_NUMBER] if t not in kept]


def _figures(session, wave):
    return [asdict(r) for r in publication.frozen_results(session, wave)]


def test_purge_leaves_no_name_or_number_and_the_same_figures(
    app, runner, session, closed_wave, backend
):
    """After `waves purge`, is no byte of a name or number left (database, its files,
    the instance folder), and do the published results recompute to the same figures?"""
    wave = closed_wave
    clear, stored = _needles(session)
    assert found_in_dump(session, clear) == []  # encrypted at rest
    assert found_in_dump(session, stored) == stored  # all there before the purge
    needles = clear + stored
    figures = _figures(session, wave)
    assert publication.recheck(session, wave) == []
    refused = session.exec(select(DoNotCall.phone_hash, DoNotCall.case_id)).all()
    assert refused and all(case_id is not None for _hash, case_id in refused)
    session.close()

    result = runner.invoke(args=["waves", "purge", wave.name])
    assert result.exit_code == 0, result.output
    assert "40 clients" not in result.output  # 12 sampled stay as empty rows, 28 deleted
    assert "28 clients deleted, 12 emptied (sampled), 2 files" in result.output
    assert "2 rejected rows, 2 staff numbers, 2 notes and 2 answers" in result.output

    assert found_in_dump(session, needles) == []
    session.expire_all()
    # The refusals still hold (no later wave calls them), tied to no case and its answers.
    after = session.exec(select(DoNotCall.phone_hash, DoNotCall.case_id)).all()
    assert sorted(after) == sorted((h, None) for h, _case in refused)
    wave = session.get(SurveyWave, wave.id)
    assert _figures(session, wave) == figures
    assert publication.recheck(session, wave) == []
    cases = session.exec(select(Case)).all()
    assert len(cases) == 12 and all(len(c.pseudonym) >= 8 for c in cases)
    assert {f.encryption for f in session.exec(select(StoredFile)).all()} == {"purged"}
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "wave.purge")).one()
    assert event.detail["by"].startswith("cli") and event.detail["clients_deleted"] == 28
    assert wave.settings["purged_by"] == event.detail["by"] and wave.settings["purged_at"]

    if backend == "sqlite":
        assert "VACUUM" in result.output
        database = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
        assert found_in_files(database.parent, needles) == []
    assert found_in_files(Path(app.instance_path), needles) == []
    vault = current_app.extensions["phone_vault"]
    file_id = session.exec(select(StoredFile.id)).first()
    with pytest.raises(ValueError, match="retention purge"):
        list(list_import.stored_file_chunks(session, file_id, vault))


def test_purge_is_refused_for_an_open_wave_and_twice(runner, session):
    """Is an open wave refused (exit 2, nothing changed), and a second purge too?"""
    with transaction(session):
        wave = make_wave(session)
        unit = make_unit(session)
        upload_list(session, unit, wave, _content(0))
    result = runner.invoke(args=["waves", "purge", wave.name])
    assert result.exit_code == 2 and "尚未封存" in result.output
    session.expire_all()
    assert len(session.exec(select(Client).where(Client.phone_hash != "")).all()) == 20
    wave.status = "closed"
    with transaction(session):
        session.add(wave)
        retention.purge_wave(session=session, wave=wave, by="test")
    with pytest.raises(Conflict, match="已于"), transaction(session):
        retention.purge_wave(session=session, wave=wave, by="test")
    assert runner.invoke(args=["waves", "purge"]).exit_code == 2  # neither NAME nor --due


def test_purge_after_date_and_due(runner, session, closed_wave):
    """Does `--due` purge a closed wave once its purge_after date has come, not before?"""
    wave = closed_wave
    result = runner.invoke(args=["waves", "purge-after", wave.name, "2099-01-01"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["waves", "purge-after", wave.name, "soon"]).exit_code == 2
    session.expire_all()
    assert session.get(SurveyWave, wave.id).settings["purge_after"] == "2099-01-01"
    session.close()
    result = runner.invoke(args=["waves", "purge", "--due"])
    assert result.output.strip() == "no wave is due for purging"
    session.expire_all()
    assert retention.due_waves(session, date(2099, 1, 1)) == [session.get(SurveyWave, wave.id)]
    with transaction(session):
        retention.set_purge_after(session=session, wave=wave, when=date(2000, 1, 1))
    session.close()
    result = runner.invoke(args=["waves", "purge", "--due", "--no-compact"])
    assert result.exit_code == 0 and f"wave {wave.name} purged" in result.output
    assert "VACUUM" not in result.output
    session.expire_all()
    assert session.exec(select(StaffNumber)).all() == []


def test_redact_numbers():
    assert retention.redact_numbers("请打 138 1234 5678 或 027-8888-6666，2017年3月") == (
        "请打 [号码] 或 [号码]，2017年3月"
    )
    assert retention.redact_numbers(None) is None
