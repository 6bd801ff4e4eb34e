"""What a draw's page lists: one page of its units, found by code or name, with their counts.

A city's draw has 7,000 units: the page lists :data:`PAGE_SIZE` of them at a
time, in code order, and counts the released and completed cases of those
units only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from survey_service.dispositions import COMPLETE
from survey_service.models import Case, SampleDraw, Unit

PAGE_SIZE = 100  # units a page of the draw's table lists


@dataclass(frozen=True)
class DrawUnit:
    """One row of the draw's unit table."""

    code: str
    name: str
    frame_size: int
    completes_target: int
    planned: int
    released: int
    completes: int


@dataclass(frozen=True)
class UnitPage:
    rows: list[DrawUnit]
    matching: int  # units of the draw that match the search
    total: int  # units in the draw
    page: int
    pages: int


def unit_page(session: Session, record: SampleDraw, *, query: str = "", page: int = 1) -> UnitPage:
    """Page ``page`` (from 1, clamped) of the draw's units whose code or name contains ``query``."""
    units = record.design.get("units", {})
    codes = sorted(units)
    query = query.strip()
    names: dict[str, str] = {}
    if query:
        named = session.exec(
            select(Unit.code, Unit.name).where(
                Unit.code.contains(query, autoescape=True)
                | Unit.name.contains(query, autoescape=True)
            )
        ).all()
        names = dict(named)
        codes = [c for c in codes if c in names]
    pages = max(1, math.ceil(len(codes) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = codes[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    counts = {}
    if shown:
        rows = session.exec(
            select(
                Unit.code,
                Unit.name,
                func.count(Case.id).filter(Case.released),
                func.count(Case.id).filter(Case.disposition == COMPLETE),
            )
            .join(Case, (Case.unit_id == Unit.id) & (Case.draw_id == record.id), isouter=True)
            .where(Unit.code.in_(shown))
            .group_by(Unit.code, Unit.name)
        ).all()
        counts = {code: (name, released, completes) for code, name, released, completes in rows}
    return UnitPage(
        rows=[
            DrawUnit(
                code=code,
                name=counts.get(code, (names.get(code, ""), 0, 0))[0],
                frame_size=units[code]["N"],
                completes_target=units[code]["completes"],
                planned=units[code]["release"],
                released=counts.get(code, ("", 0, 0))[1],
                completes=counts.get(code, ("", 0, 0))[2],
            )
            for code in shown
        ],
        matching=len(codes),
        total=len(units),
        page=page,
        pages=pages,
    )
