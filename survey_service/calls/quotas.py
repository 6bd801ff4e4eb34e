"""Quotas: a unit that has reached its target of completes is no longer called.

The target is the draw's ``design["units"][code]["completes"]``; the completes
are the unit's cases of that draw with disposition 1.1 (a struck interview,
re-coded by quality review, no longer counts, so its unit is offered again).
:func:`not_full` is the condition :func:`survey_service.calls.queue.due` adds,
so the agents' queue and the IVR dialler stop alike.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, true
from sqlmodel import Session, select

from survey_service.dispositions import COMPLETE
from survey_service.models import Case, SampleDraw, SurveyWave, Unit


def _full(rows) -> dict[int, list[int]]:
    """From (draw id, design, unit id, unit code, completes) rows: the units at target."""
    full: dict[int, list[int]] = {}
    for draw_id, design, unit_id, code, completes in rows:
        spec = (design or {}).get("units", {}).get(code, {})
        if "completes" in spec and completes >= int(spec["completes"]):
            full.setdefault(draw_id, []).append(unit_id)
    return full


def full_units(session: Session, waves: list[SurveyWave]) -> dict[int, list[int]]:
    """Per draw id of ``waves``, the ids of its units whose completes reached their target.

    One statement: the completes per draw and unit, joined to their draw's design.
    """
    if not waves:
        return {}
    completes = (
        select(
            Case.draw_id,
            Case.unit_id,
            Unit.code.label("code"),
            func.count(Case.id).label("n"),
        )
        .join(Unit, Unit.id == Case.unit_id)
        .join(SampleDraw, SampleDraw.id == Case.draw_id)
        .where(SampleDraw.wave_id.in_([w.id for w in waves]), Case.disposition == COMPLETE)
        .group_by(Case.draw_id, Case.unit_id, Unit.code)
        .subquery()
    )
    rows = session.exec(
        select(
            SampleDraw.id,
            SampleDraw.design,
            completes.c.unit_id,
            completes.c.code,
            completes.c.n,
        ).join(completes, completes.c.draw_id == SampleDraw.id)
    ).all()
    return _full(rows)


def not_full(session: Session, waves: list[SurveyWave]) -> ColumnElement[bool]:
    """Cases whose unit (in their draw of one of ``waves``) is short of its target."""
    return _excluding(full_units(session, waves))


def not_full_of(gaps: list[tuple[int, int, int]]) -> ColumnElement[bool]:
    """As :func:`not_full`, from the (draw id, unit id, target minus completes) of every
    unit with a target in the waves' draws (:func:`survey_service.calls.ordering.deficits`:
    the claim reads them for its order anyway)."""
    full: dict[int, list[int]] = {}
    for draw_id, unit_id, gap in gaps:
        if gap <= 0:
            full.setdefault(draw_id, []).append(unit_id)
    return _excluding(full)


def _excluding(full: dict[int, list[int]]) -> ColumnElement[bool]:
    if not full:
        return true()
    return and_(
        *[
            ~and_(Case.draw_id == draw_id, Case.unit_id.in_(sorted(unit_ids)))
            for draw_id, unit_ids in sorted(full.items())
        ]
    )
