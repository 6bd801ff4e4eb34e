"""This wave beside the last: each unit's score, last wave's, and how much of last
wave's rectification list it closed.

The satisfaction scores are each wave's shown figures (frozen once closed);
the composite totals are given where a wave's results are published and every
part imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlmodel import Session, select

from survey_service.errors import Conflict
from survey_service.evaluation.ranking import composite
from survey_service.evaluation.rectification import previous_wave, progress
from survey_service.models import SurveyWave, Unit, WaveStatus
from survey_service.results.publication import wave_results


@dataclass(frozen=True)
class Comparison:
    code: str
    name: str
    category: str
    score: float | None
    previous_score: float | None
    total: float | None
    previous_total: float | None
    previous_problems: int
    previous_closed: int

    @property
    def change(self) -> float | None:
        if self.score is None or self.previous_score is None:
            return None
        return self.score - self.previous_score

    @property
    def share_closed(self) -> float | None:
        return self.previous_closed / self.previous_problems if self.previous_problems else None


def _scores(session: Session, wave: SurveyWave | None, published_only: bool) -> dict[str, float]:
    if wave is None or (published_only and wave.status != WaveStatus.PUBLISHED):
        return {}
    out = {}
    for row in wave_results(session, wave):
        if row.mean is not None and math.isfinite(row.mean):
            out[row.code] = row.mean
    return out


def _totals(session: Session, wave: SurveyWave | None) -> dict[str, float]:
    if wave is None:
        return {}
    try:
        ranking = composite(session, wave)
    except Conflict:
        return {}
    return {r.code: r.total for r in ranking.all() if r.total is not None}


def comparison(
    session: Session, wave: SurveyWave, *, published_only: bool = False
) -> tuple[SurveyWave | None, list[Comparison]]:
    """(the previous wave, one row per active unit, by code).

    ``published_only``: leave out the scores of a wave not yet published (for a
    unit's own page: a unit sees its figures only after publication).
    """
    before = previous_wave(session, wave)
    now = _scores(session, wave, published_only)
    then = _scores(session, before, published_only)
    totals, previous_totals = _totals(session, wave), _totals(session, before)
    closed = {p.code: p for p in progress(session, before)} if before is not None else {}
    rows = []
    for unit in session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all():
        done = closed.get(unit.code)
        rows.append(
            Comparison(
                code=unit.code,
                name=unit.name,
                category=unit.category,
                score=now.get(unit.code),
                previous_score=then.get(unit.code),
                total=totals.get(unit.code),
                previous_total=previous_totals.get(unit.code),
                previous_problems=done.total if done else 0,
                previous_closed=done.closed if done else 0,
            )
        )
    return before, rows
