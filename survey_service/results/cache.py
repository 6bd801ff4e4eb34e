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

The signs of gaming (:func:`results.signal_views.wave_signals`) are kept the same way, their
version adding the wave's lists and staff numbers (:func:`lists_version`).

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
    ClientList,
    StaffNumber,
    SurveyWave,
    Unit,
    WaveStatus,
)
from survey_service.results import publication, signal_views, signals
from survey_service.results.estimates import UnitResult
from survey_service.results.signals import UnitSignals
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


class ResultsCache:
    """The latest computed figures of each wave, keyed by its :func:`data_version`."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._entries: dict[int, tuple[tuple, list[UnitResult]]] = {}
        self._signals: dict[int, tuple[tuple, list[UnitSignals]]] = {}

    def wave_results(
        self, session: Session, wave: SurveyWave, *, version: tuple | None = None
    ) -> list[UnitResult]:
        """As :func:`publication.wave_results`, computed at most once per data version.

        ``version`` is the wave's :func:`data_version` when the caller has it already.
        """
        if wave.status != WaveStatus.OPEN:
            return publication.frozen_results(session, wave)
        version = data_version(session, wave) if version is None else version
        with self._lock:
            entry = self._entries.get(wave.id)
        if entry is not None and entry[0] == version:
            return entry[1]
        rows = publication.wave_results(session, wave)
        with self._lock:
            self._entries[wave.id] = (version, rows)
        return rows

    def wave_signals(
        self, session: Session, wave: SurveyWave, *, version: tuple | None = None
    ) -> list[UnitSignals]:
        """As :func:`signal_views.wave_signals`, computed once per data and lists version."""
        if wave.status != WaveStatus.OPEN:
            return signal_views.wave_signals(session, wave)
        version = data_version(session, wave) if version is None else version
        key = (version, lists_version(session, wave))
        with self._lock:
            entry = self._signals.get(wave.id)
        if entry is not None and entry[0] == key:
            return entry[1]
        rows = signals.unit_signals(session, wave)
        with self._lock:
            self._signals[wave.id] = (key, rows)
        return rows

    def results_and_signals(
        self, session: Session, wave: SurveyWave
    ) -> tuple[list[UnitResult], list[UnitSignals]]:
        """Both, with the data version read once (the results page shows both)."""
        version = data_version(session, wave) if wave.status == WaveStatus.OPEN else None
        return (
            self.wave_results(session, wave, version=version),
            self.wave_signals(session, wave, version=version),
        )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._signals.clear()
