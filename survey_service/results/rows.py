"""The rows the results read (cases and answers), as plain tuples from a Core cursor.

A recomputation reads every respondent's answers (about 2 million rows for a
city of 7,000 units): through the ORM (``session.exec(select(...))``) each row
passes through the ORM's result machinery, which cost more CPU than the figures
computed from them. These functions run the same statements on the session's
connection (``session.connection().execute``, the session's transaction) and
return its rows (tuples of plain values: ``Row`` objects, no ORM entity). Like
the ORM's queries they flush an autoflushing session's pending changes first.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from survey_service.models import Answer, Case, Unit

__all__ = ["respondent_answers", "respondent_cases"]


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
