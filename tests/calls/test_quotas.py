"""Quotas: a unit at its target of completes is no longer offered (agents and IVR alike)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from survey_service import dispositions as aapor
from survey_service.calls import dialling, queue, quotas
from survey_service.db import transaction
from survey_service.models import AuditEvent, Case, CaseStatus, SampleDraw, Unit
from survey_service.sample import draws
from tests.calls.conftest import EVENING, reload
from tests.factories import make_list, make_unit, make_user, make_wave


@pytest.fixture
def targets(session):
    """Units U0 and U1, five released cases each, a target of two completes each."""
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session)
        for i in range(2):
            unit = make_unit(session, code=f"U{i}", name=f"单位{i}")
            make_list(
                session, unit=unit, wave=wave, n=8, start=13800000000 + i * 1000, actor=reviewer
            )
        draw = draws.draw_sample(session=session, wave=wave, seed=3, per_unit=5, actor=None)
        units = {code: {**spec, "completes": 2} for code, spec in draw.design["units"].items()}
        draw.design = {**draw.design, "units": units}
        session.add(draw)
    return wave


def _cases(session, code):
    unit = session.exec(select(Unit).where(Unit.code == code)).one()
    return session.exec(
        select(Case).where(Case.unit_id == unit.id, Case.released).order_by(Case.id)
    ).all()


def _complete(session, cases, disposition=aapor.COMPLETE):
    with transaction(session):
        for case in cases:
            case.status, case.disposition = CaseStatus.FINAL, disposition
            session.add(case)


def _claim_all(session, agent):
    order = []
    with transaction(session):
        while (case := queue.claim_next_case(session, agent, now=EVENING)) is not None:
            order.append(case.id)
            case.status = CaseStatus.FINAL
            session.add(case)
            session.flush()
    return order


def test_a_unit_at_its_target_is_no_longer_offered(session, targets):
    """With U0's two completes in, are only U1's five cases offered, and 5 counted waiting?"""
    u0, u1 = _cases(session, "U0"), _cases(session, "U1")
    assert (len(u0), len(u1)) == (5, 5)
    _complete(session, u0[:2])
    draw = session.exec(select(SampleDraw)).one()
    assert quotas.full_units(session, [targets]) == {draw.id: [u0[0].unit_id]}
    assert queue.waiting_count(session, now=EVENING) == 5
    with transaction(session):
        agent = make_user(session, role="agent")
    assert sorted(_claim_all(session, agent)) == [c.id for c in u1]


def test_one_complete_short_of_the_target_keeps_the_unit_open(session, targets):
    """One complete of two: are U0's four open cases still offered with U1's five?"""
    _complete(session, _cases(session, "U0")[:1])
    assert queue.waiting_count(session, now=EVENING) == 9


def test_a_struck_complete_reopens_its_unit(session, targets):
    """A complete re-coded 2.12 by review no longer counts: U0's three open cases come back."""
    u0 = _cases(session, "U0")
    _complete(session, u0[:2])
    assert queue.waiting_count(session, now=EVENING) == 5
    _complete(session, u0[1:2], aapor.BREAK_OFF)
    assert queue.waiting_count(session, now=EVENING) == 8


def test_the_ivr_skips_a_full_unit(app, session, targets, telephony):
    """Does the IVR dialler, asked for ten calls, dial only U1's five cases?"""
    u0, u1 = _cases(session, "U0"), _cases(session, "U1")
    _complete(session, u0[:2])
    with transaction(session):
        claimed = dialling.claim_due_cases(session, limit=10, now=EVENING)
    assert sorted(case.id for case, _attempt in claimed) == [c.id for c in u1]


@pytest.fixture
def reserves(session):
    """Units U0 and U1: four released cases each (two batches of two), two batches in reserve."""
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        make_user(session, username="boss", role="supervisor")
        wave = make_wave(session)
        for i in range(2):
            unit = make_unit(session, code=f"U{i}", name=f"单位{i}")
            make_list(
                session, unit=unit, wave=wave, n=8, start=13800000000 + i * 1000, actor=reviewer
            )
        design = draws.DrawDesign(per_unit=4, replicates=2, reserve=2)
        draws.draw_sample(session=session, wave=wave, seed=3, design=design, actor=None)
    return wave


def test_supervisor_releases_every_short_unit_in_one_action(client, session, auth, reserves):
    """One POST releases the next batch (2 cases) of both short units, audited with both codes."""
    assert len(session.exec(select(Case).where(Case.released)).all()) == 8
    _complete(session, _cases(session, "U0")[:1], aapor.REFUSAL)  # projected 0 of 4
    _complete(session, _cases(session, "U1")[:1], aapor.REFUSAL)
    auth.login("boss")
    html = client.get("/supervision/").get_data(as_text=True)
    assert 'id="release-all-short"' in html and "2 个单位预计完成数不足目标" in html
    response = client.post("/supervision/release-replicate", data={"all": "short"})
    assert response.status_code == 302
    session.commit()
    assert len(session.exec(select(Case).where(Case.released)).all()) == 12
    draw = session.exec(select(SampleDraw)).one()
    reload(session, draw)
    assert draw.design["releases"][-1]["units"] == ["U0", "U1"]
    assert draw.design["releases"][-1]["cases"] == 4
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "sample.release")).one()
    assert (event.detail["units"], event.detail["cases"]) == (["U0", "U1"], 4)
    flashed = client.get("/supervision/").get_data(as_text=True)
    assert "已为 2 个预计不足的单位追加发放 4 个样本" in flashed


def test_release_for_all_short_with_none_short_releases_nothing(client, session, auth, reserves):
    """No unit projected short (nothing final yet): nothing is released and it says so."""
    auth.login("boss")
    before = len(session.exec(select(Case).where(Case.released)).all())
    response = client.post(
        "/supervision/release-replicate", data={"all": "short"}, follow_redirects=True
    )
    assert "没有预计完成数不足目标的单位" in response.get_data(as_text=True)
    session.commit()
    assert len(session.exec(select(Case).where(Case.released)).all()) == before
