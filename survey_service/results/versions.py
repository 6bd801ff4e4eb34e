"""What a wave's cached figures and signals depend on (:mod:`results.cache`'s keys)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from survey_service.dispositions import COMPLETE
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    CaseStatus,
    ClientList,
    SampleDraw,
    StaffNumber,
    SurveyWave,
    Unit,
)
from survey_service.results import signals
from survey_service.results.respondents import RESPONDENT_DISPOSITIONS


def data_version(session: Session, wave: SurveyWave) -> tuple:
    """What the wave's figures depend on, as a tuple that changes when they may change."""
    units = session.exec(
        select(func.count(Unit.id), func.max(Unit.id), func.count(Unit.id).filter(Unit.active))
    ).one()
    # The draw's id alone: loading the draw would parse its design (2 MB of JSON for a
    # city, 0.2 s a page); a release changes the released cases' count below.
    draw_id = session.exec(
        select(SampleDraw.id)
        .where(SampleDraw.wave_id == wave.id, SampleDraw.status == "drawn")
        .order_by(SampleDraw.id.desc())
        .limit(1)
    ).first()
    if draw_id is None:
        return (wave.id, wave.status, None, tuple(units))
    of_draw = Case.draw_id == draw_id
    # Over the whole tables, not joined to the draw's cases: a join costs a second at
    # city scale (2 million answers) and a change anywhere only recomputes once more.
    # The maximum id comes from the primary key's index; attempts are counted for the
    # outcomes written later into an attempt (its case's disposition while open).
    answers = session.exec(select(func.max(Answer.id))).one()
    attempts = session.exec(
        select(
            func.count(CallAttempt.id), func.max(CallAttempt.id), func.count(CallAttempt.outcome)
        )
    ).one()
    cases = session.exec(
        select(
            func.count(Case.id).filter(Case.released),
            func.count(Case.id).filter(Case.status == CaseStatus.FINAL),
            func.count(Case.id).filter(Case.disposition.in_(RESPONDENT_DISPOSITIONS)),
            func.max(Case.finalized_at),
            # a struck interview is re-coded from 1.1 without a new finalisation time
            func.count(Case.id).filter(Case.disposition == COMPLETE),
        ).where(of_draw)
    ).one()
    return (
        wave.id,
        wave.status,
        draw_id,
        tuple(units),
        answers,
        tuple(attempts),
        tuple(cases),
    )


def lists_version(session: Session, wave: SurveyWave) -> tuple:
    """What the number signals depend on beyond :func:`data_version`: lists, staff numbers."""
    lists = session.exec(
        select(
            func.count(ClientList.id),
            func.max(ClientList.id),
            func.count(ClientList.id).filter(ClientList.status.in_(signals.CURRENT_LISTS)),
            func.sum(ClientList.n_accepted),
        ).where(ClientList.wave_id == wave.id)
    ).one()
    staff = session.exec(
        select(func.count(StaffNumber.id), func.max(StaffNumber.id)).where(
            StaffNumber.wave_id == wave.id
        )
    ).one()
    return (tuple(lists), tuple(staff))
