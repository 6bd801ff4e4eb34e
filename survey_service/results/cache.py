"""Computed results kept per wave until the data behind them change.

The results page and its two charts are three requests that show the same
figures. :class:`ResultsCache` computes a wave's figures once
(:func:`results.publication.wave_results`) and hands the same rows to every
later request while the wave's *data version* (:func:`data_version`) is
unchanged: a few counts and maxima over the draw's answers, call attempts,
final and released cases and the units, cheap next to the estimation. A new
answer, a finished call, a released replicate or a changed unit list gives
a new version and the next request computes afresh (so does an interview
struck in quality review: one complete fewer). Once the wave is closed
the figures come from the frozen snapshot, which is never recomputed.

The cache belongs to its caller (the web app keeps one per app): a stage
module holds no global state.
"""

from __future__ import annotations

from threading import Lock

from sqlalchemy import func
from sqlmodel import Session, select

from survey_service.dispositions import COMPLETE
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    CaseStatus,
    SurveyWave,
    Unit,
    WaveStatus,
)
from survey_service.results import publication
from survey_service.results.estimates import UnitResult
from survey_service.sample.draws import latest_draw


def data_version(session: Session, wave: SurveyWave) -> tuple:
    """What the wave's live figures depend on, as a tuple that changes when they may change."""
    units = session.exec(
        select(func.count(Unit.id), func.max(Unit.id), func.count(Unit.id).filter(Unit.active))
    ).one()
    draw = latest_draw(session, wave)
    if draw is None:
        return (wave.id, wave.status, None, tuple(units))
    of_draw = Case.draw_id == draw.id
    answers = session.exec(
        select(func.count(Answer.id), func.max(Answer.id))
        .join(Case, Case.id == Answer.case_id)
        .where(of_draw)
    ).one()
    attempts = session.exec(
        select(
            func.count(CallAttempt.id), func.max(CallAttempt.id), func.count(CallAttempt.outcome)
        )
        .join(Case, Case.id == CallAttempt.case_id)
        .where(of_draw)
    ).one()
    cases = session.exec(
        select(
            func.count(Case.id).filter(Case.released),
            func.count(Case.id).filter(Case.status == CaseStatus.FINAL),
            func.max(Case.finalized_at),
            # a struck interview is re-coded from 1.1 without a new finalisation time
            func.count(Case.id).filter(Case.disposition == COMPLETE),
        ).where(of_draw)
    ).one()
    return (
        wave.id,
        wave.status,
        draw.id,
        len(draw.design.get("releases", [])),
        tuple(units),
        tuple(answers),
        tuple(attempts),
        tuple(cases),
    )


class ResultsCache:
    """The latest computed figures of each wave, keyed by its :func:`data_version`."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._entries: dict[int, tuple[tuple, list[UnitResult]]] = {}

    def wave_results(self, session: Session, wave: SurveyWave) -> list[UnitResult]:
        """As :func:`publication.wave_results`, computed at most once per data version."""
        if wave.status != WaveStatus.OPEN:
            return publication.frozen_results(session, wave)
        version = data_version(session, wave)
        with self._lock:
            entry = self._entries.get(wave.id)
        if entry is not None and entry[0] == version:
            return entry[1]
        rows = publication.wave_results(session, wave)
        with self._lock:
            self._entries[wave.id] = (version, rows)
        return rows

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
