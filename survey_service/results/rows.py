"""The rows the results read (cases, answers, attempts), as plain tuples from a Core cursor.

A recomputation reads every respondent's answers (about 2 million rows for a
city of 7,000 units): through the ORM (``session.exec(select(...))``) each row
passes through the ORM's result machinery, which cost more CPU than the figures
computed from them. These functions run the same statements on the session's
connection (``session.connection().execute``, the session's transaction) and
return its rows (tuples of plain values: ``Row`` objects, no ORM entity). Like
the ORM's queries they flush an autoflushing session's pending changes first.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from survey_service.models import Answer, CallAttempt, Case, Unit

__all__ = ["released_cases", "respondent_answers", "respondent_cases"]


def _rows(session: Session, statement) -> list:
    if session.autoflush:  # as the ORM's own queries: the statement sees pending changes
        session.flush()
    return session.connection().execute(statement).all()


def respondent_cases(
    session: Session, draw_id: int, dispositions: tuple[str, ...]
) -> list[tuple[int, str, str, str, str]]:
    """``(case id, pseudonym, unit code, sub-stratum, disposition)`` of the draw's cases
    with a final disposition in ``dispositions``, by unit code then case id."""
    return _rows(
        session,
        select(Case.id, Case.pseudonym, Unit.code, Case.stratum, Case.disposition)
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.draw_id == draw_id, Case.disposition.in_(dispositions))
        .order_by(Unit.code, Case.id),
    )


def respondent_answers(
    session: Session, draw_id: int, dispositions: tuple[str, ...]
) -> list[tuple[int, str, str]]:
    """``(case id, item id, value)`` of every answer of those cases (in no set order)."""
    return _rows(
        session,
        select(Answer.case_id, Answer.item_id, Answer.value)
        .join(Case, Case.id == Answer.case_id)
        .where(Case.draw_id == draw_id, Case.disposition.in_(dispositions)),
    )


def released_cases(
    session: Session, draw_id: int
) -> list[tuple[int, str, str, str, str | None, str | None]]:
    """``(case id, unit code, sub-stratum, status, disposition, last attempt's outcome)`` of
    the draw's released cases; the outcome is None when no attempt has one."""
    last_outcome = (
        select(CallAttempt.case_id, func.max(CallAttempt.id).label("last_id"))
        .where(CallAttempt.outcome.is_not(None))
        .group_by(CallAttempt.case_id)
        .subquery()
    )
    return _rows(
        session,
        select(Case.id, Unit.code, Case.stratum, Case.status, Case.disposition, CallAttempt.outcome)
        .join(Unit, Unit.id == Case.unit_id)
        .join(last_outcome, last_outcome.c.case_id == Case.id, isouter=True)
        .join(CallAttempt, CallAttempt.id == last_outcome.c.last_id, isouter=True)
        .where(Case.draw_id == draw_id, Case.released),
    )
