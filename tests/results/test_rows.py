"""The results' rows read with a Core cursor give what the ORM queries before them gave."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from sqlalchemy import func
from sqlmodel import select

import call_scripts
from survey_service.db import transaction
from survey_service.models import Answer, CallAttempt, Case, CaseStatus, Unit
from survey_service.results import estimates, respondents
from survey_service.results.respondents import RESPONDENT_DISPOSITIONS, Respondent
from tests.results.test_exports import build_wave


def _orm_respondents(session, script, draw):
    """The respondent loader as it was before ``results.rows`` (ORM queries), the oracle."""
    where = (Case.draw_id == draw.id, Case.disposition.in_(RESPONDENT_DISPOSITIONS))
    cases = session.exec(
        select(Case.id, Case.pseudonym, Unit.code, Case.stratum, Case.disposition)
        .join(Unit, Unit.id == Case.unit_id)
        .where(*where)
        .order_by(Unit.code, Case.id)
    ).all()
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    for case_id, item_id, value in session.exec(
        select(Answer.case_id, Answer.item_id, Answer.value)
        .join(Case, Case.id == Answer.case_id)
        .where(*where)
    ).all():
        answers[case_id][item_id] = value
    given_of = [answers.get(case_id, {}) for case_id, *_ in cases]
    points, scores = call_scripts.points_table(script, given_of)
    out = [
        Respondent(
            case_id=case_id,
            pseudonym=pseudonym,
            unit=code,
            stratum=stratum,
            disposition=disposition,
            answers=given,
            score=None if score != score else score,
        )
        for (case_id, pseudonym, code, stratum, disposition), given, score in zip(
            cases, given_of, scores.tolist(), strict=True
        )
    ]
    return out, points


def _orm_case_dispositions(session, draw):
    """:func:`estimates.case_dispositions` as it was before ``results.rows``, the oracle."""
    last_outcome = (
        select(CallAttempt.case_id, func.max(CallAttempt.id).label("last_id"))
        .where(CallAttempt.outcome.is_not(None))
        .group_by(CallAttempt.case_id)
        .subquery()
    )
    rows = session.exec(
        select(Case.id, Unit.code, Case.stratum, Case.status, Case.disposition, CallAttempt.outcome)
        .join(Unit, Unit.id == Case.unit_id)
        .join(last_outcome, last_outcome.c.case_id == Case.id, isouter=True)
        .join(CallAttempt, CallAttempt.id == last_outcome.c.last_id, isouter=True)
        .where(Case.draw_id == draw.id, Case.released)
    ).all()
    return {
        case_id: (
            code,
            stratum,
            disposition if status == CaseStatus.FINAL else (last or estimates.NOT_DIALLED),
        )
        for case_id, code, stratum, status, disposition, last in rows
    }


@pytest.fixture
def wave(session):
    """The exports' wave with two refusals reopened: one never dialled, one open after its 2.11."""
    wave = build_wave(session)
    with transaction(session):
        undialled, reopened = session.exec(
            select(Case).where(Case.disposition == "2.11").order_by(Case.id).limit(2)
        ).all()
        for case in (undialled, reopened):
            case.status = CaseStatus.PENDING
            case.disposition = None
            case.claimed_by = None
            session.add(case)
        for attempt in session.exec(
            select(CallAttempt).where(CallAttempt.case_id == undialled.id)
        ).all():
            attempt.outcome = None
            session.add(attempt)
    return wave


def test_core_rows_load_the_same_wave_data_as_the_orm(session, wave):
    """Does the Core-cursor loader give the ORM loader's respondents, answers and points?"""
    data = respondents.load_wave(session, wave)
    expected, points = _orm_respondents(session, data.script, data.draw)
    assert data.respondents == expected
    assert len(expected) == 25
    assert np.array_equal(data.points, points, equal_nan=True)
    assert data.points.dtype == points.dtype


def test_case_dispositions_are_those_of_the_orm_rows(session, wave):
    """Are the released cases' AAPOR codes now those the ORM rows gave, open cases included?"""
    data = respondents.load_wave(session, wave)
    codes = estimates.case_dispositions(session, data.draw)
    expected = _orm_case_dispositions(session, data.draw)
    assert codes == expected
    kinds = {code for _unit, _stratum, code in codes.values()}
    assert {estimates.NOT_DIALLED, "1.1", "2.11"} <= kinds
    assert sum(code == estimates.NOT_DIALLED for _u, _s, code in codes.values()) == 1


def test_rows_see_the_sessions_pending_changes(session, wave):
    """Do the Core rows, like the ORM's autoflushing queries, see an unflushed change?"""
    with transaction(session):
        case = session.exec(select(Case).where(Case.disposition == "1.1").limit(1)).one()
        before = len(respondents.load_wave(session, wave).respondents)
        case.disposition = "2.11"
        session.add(case)
        assert len(respondents.load_wave(session, wave).respondents) == before - 1
