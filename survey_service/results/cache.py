"""Computed results kept per wave until the data behind them change.

The results page, its charts, the unit pages and every export show the same
figures. :class:`ResultsCache` loads a wave's data once
(:func:`results.respondents.load_wave`) with its figures
(:func:`results.publication.wave_results`), and hands the same
:class:`~results.respondents.WaveData` to every later request while the
wave's *data version* (:func:`data_version`) is unchanged: a few counts and
maxima over the answers, call attempts, the draw's final, released and
responding cases and the units, cheap next to the estimation. Everything
derived from that data (aspects, disposition counts, the tables) is kept on
it (``WaveData.memo``), so it too is computed once per version. A new answer,
a finished call, a struck interview, a released replicate or a changed unit
list gives a new version. Once the wave is closed the figures come from the
frozen snapshot, which is never recomputed.

The signs of gaming (:func:`results.signals.unit_signals`) are kept beside
them, keyed by the data version and the wave's lists and staff numbers
(:func:`lists_version`); once the wave is closed they come from its frozen
signals (:func:`results.signal_views.wave_signals`).

How long a request waits for a new version. Without ``wait`` (the default,
and the tests) the request that finds a new version computes it. With
``wait`` seconds and a way to open a session of its own, the cache computes
a new version in a background thread and the request waits at most ``wait``
seconds for it; if it is not ready, the request gets the last computed
figures marked stale (:attr:`Lookup.stale`, with the time they were computed)
and the page says they are being updated. A second new version while one is
being computed waits for that one to finish (one computation per wave at a
time). The first figures of a wave are always waited for. Exports never take
stale figures (:meth:`ResultsCache.data` with ``fresh=True``).

The cache belongs to its caller (the web app keeps one per process, see
README: several web nodes each keep their own): a stage module holds no
global state.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

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
    utcnow,
)
from survey_service.results import publication, signal_views, signals
from survey_service.results.estimates import UnitResult
from survey_service.results.respondents import RESPONDENT_DISPOSITIONS, WaveData, load_wave
from survey_service.results.signals import UnitSignals
from survey_service.sample.draws import latest_draw

log = logging.getLogger(__name__)


def data_version(session: Session, wave: SurveyWave) -> tuple:
    """What the wave's figures depend on, as a tuple that changes when they may change."""
    units = session.exec(
        select(func.count(Unit.id), func.max(Unit.id), func.count(Unit.id).filter(Unit.active))
    ).one()
    draw = latest_draw(session, wave)
    if draw is None:
        return (wave.id, wave.status, None, tuple(units))
    of_draw = Case.draw_id == draw.id
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
        draw.id,
        len(draw.design.get("releases", [])),
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


def _detached(row):
    """A copy of a table row that belongs to no session (a cached copy outlives its session:
    a rollback there must not expire it)."""
    return None if row is None else type(row).model_validate(row.model_dump())


def compute(session: Session, wave: SurveyWave) -> WaveData:
    """The wave's data with its figures computed (live, or the frozen snapshot once closed).

    The wave, draw and units in it are copies bound to no session, so the data can
    be kept across requests and threads.
    """
    loaded = load_wave(session, wave)
    data = replace(
        loaded,
        wave=_detached(loaded.wave),
        draw=_detached(loaded.draw),
        units=[_detached(u) for u in loaded.units],
        derived={},
    )
    publication.wave_results(session, data.wave, data=data)
    return data


@dataclass(frozen=True)
class Lookup:
    """What a request gets: the data, whether newer data are being computed, and when."""

    data: WaveData
    stale: bool
    computed_at: datetime

    @property
    def results(self) -> list[UnitResult]:
        return self.data.derived["wave_results"]  # set by compute()


@dataclass
class _Entry:
    version: tuple
    data: WaveData
    computed_at: datetime


class ResultsCache:
    """The latest computed data and figures of each wave, keyed by its :func:`data_version`.

    ``open_session`` (a context manager factory) and ``wait`` (seconds) turn on
    background computation, see the module's docstring; ``prepare(data)`` runs
    there on the new data before it is handed out (the web app renders the
    default chart panels into ``data.memo``).
    """

    def __init__(
        self,
        *,
        open_session: Callable[[], contextlib.AbstractContextManager[Session]] | None = None,
        wait: float | None = None,
        prepare: Callable[[WaveData], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}
        self._running: dict[int, threading.Event] = {}
        self._signals: dict[int, tuple[tuple, list[UnitSignals]]] = {}
        self._open_session = open_session
        self._wait = wait
        self._prepare = prepare  # run on new data computed in the background (e.g. charts)

    def lookup(
        self,
        session: Session,
        wave: SurveyWave,
        *,
        fresh: bool = False,
        version: tuple | None = None,
    ) -> Lookup:
        """The wave's data and figures; stale ones only with background computation on.

        ``version`` is the wave's :func:`data_version` when the caller has it already.
        """
        version = data_version(session, wave) if version is None else version
        with self._lock:
            entry = self._entries.get(wave.id)
        if entry is not None and entry.version == version:
            return Lookup(entry.data, False, entry.computed_at)
        if fresh or entry is None or self._wait is None or self._open_session is None:
            return self._compute_here(session, wave, version)
        done = self._start(wave.id, version)
        done.wait(self._wait)
        with self._lock:
            entry = self._entries[wave.id]
        return Lookup(entry.data, entry.version != version, entry.computed_at)

    def data(self, session: Session, wave: SurveyWave, *, fresh: bool = False) -> WaveData:
        return self.lookup(session, wave, fresh=fresh).data

    def wave_results(self, session: Session, wave: SurveyWave) -> list[UnitResult]:
        """As :func:`publication.wave_results`, computed at most once per data version."""
        return self.lookup(session, wave).results

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
    ) -> tuple[Lookup, list[UnitSignals]]:
        """Both (the figures as a :class:`Lookup`), the data version read once."""
        version = data_version(session, wave)
        return (
            self.lookup(session, wave, version=version),
            self.wave_signals(session, wave, version=version),
        )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._signals.clear()

    def _store(self, wave_id: int, version: tuple, data: WaveData) -> _Entry:
        entry = _Entry(version, data, utcnow())
        with self._lock:
            self._entries[wave_id] = entry
        return entry

    def _compute_here(self, session: Session, wave: SurveyWave, version: tuple) -> Lookup:
        entry = self._store(wave.id, version, compute(session, wave))
        return Lookup(entry.data, False, entry.computed_at)

    def _start(self, wave_id: int, version: tuple) -> threading.Event:
        """Start computing ``version`` unless a computation of the wave is running; its event."""
        with self._lock:
            running = self._running.get(wave_id)
            if running is not None:
                return running
            done = self._running[wave_id] = threading.Event()
        threading.Thread(
            target=self._compute_apart,
            args=(wave_id, version, done),
            name=f"results-wave-{wave_id}",
            daemon=True,
        ).start()
        return done

    def _compute_apart(self, wave_id: int, version: tuple, done: threading.Event) -> None:
        assert self._open_session is not None
        try:
            with self._open_session() as session:
                wave = session.get(SurveyWave, wave_id)
                if wave is not None:
                    data = compute(session, wave)
                    if self._prepare is not None:
                        self._prepare(data)
                    self._store(wave_id, version, data)
        except Exception:  # the pages keep the last figures; the next request tries again
            log.exception("computing the results of wave %s failed", wave_id)
        finally:
            with self._lock:
                self._running.pop(wave_id, None)
            done.set()
