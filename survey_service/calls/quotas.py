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


def full_units(session: Session, draws: list[SampleDraw]) -> dict[int, list[int]]:
    """Per draw id, the ids of its units whose completes reached their target."""
    targets = {
        (draw.id, code): int(spec["completes"])
        for draw in draws
        for code, spec in (draw.design or {}).get("units", {}).items()
        if "completes" in spec
    }
    if not targets:
        return {}
    rows = session.exec(
        select(Case.draw_id, Case.unit_id, Unit.code, func.count(Case.id))
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.draw_id.in_([d.id for d in draws]), Case.disposition == COMPLETE)
        .group_by(Case.draw_id, Case.unit_id, Unit.code)
    ).all()
    full: dict[int, list[int]] = {}
    for draw_id, unit_id, code, completes in rows:
        target = targets.get((draw_id, code))
        if target is not None and completes >= target:
            full.setdefault(draw_id, []).append(unit_id)
    return full


def not_full(session: Session, waves: list[SurveyWave]) -> ColumnElement[bool]:
    """Cases whose unit (in their draw of one of ``waves``) is short of its target."""
    if not waves:
        return true()
    draws = session.exec(
        select(SampleDraw).where(SampleDraw.wave_id.in_([w.id for w in waves]))
    ).all()
    full = full_units(session, list(draws))
    if not full:
        return true()
    return and_(
        *[
            ~and_(Case.draw_id == draw_id, Case.unit_id.in_(sorted(unit_ids)))
            for draw_id, unit_ids in sorted(full.items())
        ]
    )
