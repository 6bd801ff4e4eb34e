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
(:func:`lists_version`; both in :mod:`results.versions`); once the wave is
closed they come from its frozen signals
(:func:`results.signal_views.wave_signals`).

Where and how long. Without a runner (``RESULTS_COMPUTE=inline``, the tests)
the request that finds a new version computes it. With a runner
(:mod:`results.computing`: by default a child process at low priority, so
the web process's requests neither wait for its CPU nor for its GIL; or a
thread) the new version is computed apart, and a request that has last
figures waits ``wait`` seconds at most (``RESULTS_WAIT_SECONDS``, by default
0: not at all) before it gets them marked stale (:attr:`Lookup.stale`, with
the time they were computed) and the page says they are being updated. The
signals go the same way, in the same computation when a page needs both. A
second new version while one is being computed waits for that one to finish
(one computation per wave at a time). The first figures of a wave are
waited for ``first_wait`` seconds at most (``RESULTS_FIRST_WAIT_SECONDS``,
by default 5; a city's take minutes in a niced child on a busy node): then the
request gets :class:`~survey_service.errors.StillComputing` and the page says
the figures are being computed and refreshes itself; the computation goes on.
Exports (:meth:`ResultsCache.data` with ``fresh=True``,
:meth:`ResultsCache.export_inputs`) never take stale figures: they wait for
new ones without computing in the web process (for the first ones, as long
as a page; a background job, ``block=True``, as long as it takes). A
computation that fails (a child process that died is restarted by the next
one) leaves the last figures in place; a request waiting for one computes in
the request after two failures.

The cache belongs to its caller (the web app keeps one per process, see
README: several web nodes each keep their own): a stage module holds no
global state.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from survey_service.errors import StillComputing
from survey_service.models import SurveyWave, WaveStatus, utcnow
from survey_service.results import signal_views, signals
from survey_service.results.computing import Computed, Runner, compute
from survey_service.results.estimates import UnitResult
from survey_service.results.respondents import WaveData
from survey_service.results.signals import UnitSignals
from survey_service.results.versions import data_version, lists_version

__all__ = ["Lookup", "ResultsCache", "data_version", "lists_version"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lookup:
    """What a request gets: the data, whether newer data are being computed, when and where
    (the process id) these were computed."""

    data: WaveData
    stale: bool
    computed_at: datetime
    pid: int | None = None

    @property
    def results(self) -> list[UnitResult]:
        return self.data.derived["wave_results"]  # set by compute()


@dataclass
class _Entry:
    key: tuple  # figures: the data version; signals: (data version, lists version)
    value: Any  # WaveData, or the list of UnitSignals
    computed_at: datetime
    pid: int


@dataclass(frozen=True)
class _Need:
    version: tuple
    figures: bool
    signals_key: tuple | None  # the signals are needed under this key


@dataclass
class _Job:
    need: _Need
    done: threading.Event = field(default_factory=threading.Event)
    figures: _Entry | None = None
    signals: _Entry | None = None
    failed: bool = False
    started_at: datetime = field(default_factory=utcnow)


#: how long a request waits for a wave's first figures by default (seconds)
FIRST_WAIT = 5.0


class ResultsCache:
    """The latest computed data, figures and signals of each wave, keyed by its versions.

    ``runner`` (:mod:`results.computing`: a child process or a thread) computes new
    versions apart, and ``wait`` is how long a request that has last figures waits
    for new ones (see the module's docstring), ``first_wait`` how long for a wave's first
    ones (None: as long as they take); without a runner the request computes.
    """

    def __init__(
        self,
        *,
        runner: Runner | None = None,
        wait: float = 0.0,
        first_wait: float | None = FIRST_WAIT,
    ) -> None:
        self._lock = threading.Lock()
        self._figures: dict[int, _Entry] = {}
        self._signals: dict[int, _Entry] = {}
        self._running: dict[int, _Job] = {}
        self._runner = runner
        self._wait = wait
        self._first_wait = first_wait

    def lookup(
        self,
        session: Session,
        wave: SurveyWave,
        *,
        fresh: bool = False,
        block: bool = False,
    ) -> Lookup:
        """The wave's data and figures; maybe stale ones unless ``fresh`` (with a runner).

        :raise StillComputing: if the wave's first figures took longer than ``first_wait``
            (never with ``block``).
        """
        found, _rows = self._get(
            session, wave, figures=True, with_signals=False, fresh=fresh, block=block
        )
        assert found is not None
        return found

    def data(
        self, session: Session, wave: SurveyWave, *, fresh: bool = False, block: bool = False
    ) -> WaveData:
        return self.lookup(session, wave, fresh=fresh, block=block).data

    def wave_results(self, session: Session, wave: SurveyWave) -> list[UnitResult]:
        """As :func:`publication.wave_results`, computed at most once per data version."""
        return self.lookup(session, wave).results

    def wave_signals(self, session: Session, wave: SurveyWave) -> list[UnitSignals]:
        """As :func:`signal_views.wave_signals`, computed once per data and lists version
        (the last ones while newer are computed apart, as the figures)."""
        if wave.status != WaveStatus.OPEN:
            return signal_views.wave_signals(session, wave)
        _found, rows = self._get(session, wave, figures=False, with_signals=True)
        assert rows is not None
        return rows

    def results_and_signals(
        self, session: Session, wave: SurveyWave
    ) -> tuple[Lookup, list[UnitSignals]]:
        """Both (the figures as a :class:`Lookup`, stale if either is), in one computation."""
        if wave.status != WaveStatus.OPEN:
            return self.lookup(session, wave), signal_views.wave_signals(session, wave)
        found, rows = self._get(session, wave, figures=True, with_signals=True)
        assert found is not None and rows is not None
        return found, rows

    def export_inputs(
        self, session: Session, wave: SurveyWave, *, block: bool = False
    ) -> tuple[WaveData, list[UnitSignals]]:
        """The current data and signals of one data version, for an export: as
        :meth:`results_and_signals` but never stale (waited for, as ``fresh``), so an
        exported signal is the one the pages show, computed apart as theirs are."""
        if wave.status != WaveStatus.OPEN:
            return self.data(session, wave, fresh=True, block=block), signal_views.wave_signals(
                session, wave
            )
        found, rows = self._get(
            session, wave, figures=True, with_signals=True, fresh=True, block=block
        )
        assert found is not None and rows is not None
        return found.data, rows

    def clear(self) -> None:
        with self._lock:
            self._figures.clear()
            self._signals.clear()

    def _get(
        self,
        session: Session,
        wave: SurveyWave,
        *,
        figures: bool,
        with_signals: bool,
        fresh: bool = False,
        block: bool = False,
    ) -> tuple[Lookup | None, list[UnitSignals] | None]:
        version = data_version(session, wave)
        with_signals = with_signals and wave.status == WaveStatus.OPEN
        signals_key = (version, lists_version(session, wave)) if with_signals else None
        fig, sig = self._current(wave.id, version if figures else None, signals_key)
        stale = False
        if (figures and fig is None) or (with_signals and sig is None):
            need = _Need(version, figures and fig is None, signals_key if sig is None else None)
            with self._lock:
                last_fig, last_sig = self._figures.get(wave.id), self._signals.get(wave.id)
            has_last = (last_fig is not None or not need.figures) and (
                last_sig is not None or need.signals_key is None
            )
            if self._runner is None:
                got = self._compute_here(session, wave, need)
            elif fresh or not has_last:
                timeout = None if block or has_last else self._first_wait
                got = self._await(session, wave, need, timeout=timeout)
            else:
                need = self._also_outdated(session, wave, need, last_fig, last_sig)
                job, _mine = self._start(wave.id, need)
                if self._wait > 0:
                    job.done.wait(self._wait)
                with self._lock:
                    got = self._figures.get(wave.id), self._signals.get(wave.id)
                stale = (figures and got[0].key != version) or (
                    with_signals and got[1].key != signals_key
                )
            fig, sig = fig or got[0], sig or got[1]
        found = None
        if figures:
            found = Lookup(fig.value, stale or fig.key != version, fig.computed_at, fig.pid)
        return found, (sig.value if sig is not None else None)

    def _also_outdated(
        self,
        session: Session,
        wave: SurveyWave,
        need: _Need,
        last_fig: _Entry | None,
        last_sig: _Entry | None,
    ) -> _Need:
        """``need`` with the figures and the signals added when their last ones are of an
        older data version: one computation brings both (a page asks for one, then the
        other)."""
        figures = need.figures or (last_fig is not None and last_fig.key != need.version)
        signals_key = need.signals_key
        if (
            signals_key is None
            and wave.status == WaveStatus.OPEN
            and last_sig is not None
            and last_sig.key[0] != need.version
        ):
            signals_key = (need.version, lists_version(session, wave))
        return _Need(need.version, figures, signals_key)

    def _current(
        self, wave_id: int, version: tuple | None, signals_key: tuple | None
    ) -> tuple[_Entry | None, _Entry | None]:
        """The entries of the wave computed for these keys (None: none, or not asked)."""
        with self._lock:
            fig, sig = self._figures.get(wave_id), self._signals.get(wave_id)
        return (
            fig if version is not None and fig is not None and fig.key == version else None,
            sig if signals_key is not None and sig is not None and sig.key == signals_key else None,
        )

    def _compute_here(
        self, session: Session, wave: SurveyWave, need: _Need
    ) -> tuple[_Entry | None, _Entry | None]:
        fig = sig = None
        pid = os.getpid()
        if need.figures:
            fig = self._store(self._figures, wave.id, need.version, compute(session, wave), pid)
        if need.signals_key is not None:
            rows = signals.unit_signals(session, wave)
            sig = self._store(self._signals, wave.id, need.signals_key, rows, pid)
        return fig, sig

    def _store(self, entries: dict, wave_id: int, key: tuple, value, pid: int) -> _Entry:
        entry = _Entry(key, value, utcnow(), pid)
        with self._lock:
            entries[wave_id] = entry
        return entry

    def _await(
        self, session: Session, wave: SurveyWave, need: _Need, *, timeout: float | None = None
    ) -> tuple[_Entry | None, _Entry | None]:
        """What ``need`` asks for, computed apart and waited for (after a computation of the
        wave already running); computed here if the runner failed twice.

        :raise StillComputing: when a computation is not done within ``timeout`` seconds.
        """
        failures = 0
        while failures < 2:
            job, mine = self._start(wave.id, need)
            if not job.done.wait(timeout):
                raise StillComputing(wave.id, job.started_at)
            if mine and not job.failed:
                return job.figures, job.signals
            failures += mine
            fig, sig = self._current(
                wave.id, need.version if need.figures else None, need.signals_key
            )
            if (fig is not None or not need.figures) and (
                sig is not None or need.signals_key is None
            ):
                return fig, sig  # the computation that was running covered it
        log.warning("computing the results of wave %s in the request (the runner failed)", wave.id)
        return self._compute_here(session, wave, need)

    def _start(self, wave_id: int, need: _Need) -> tuple[_Job, bool]:
        """Start computing ``need`` apart unless a computation of the wave is running;
        that job, and whether it is the one started here."""
        assert self._runner is not None
        with self._lock:
            running = self._running.get(wave_id)
            if running is not None:
                return running, False
            job = self._running[wave_id] = _Job(need)
        try:
            future = self._runner.submit(
                wave_id, figures=need.figures, with_signals=need.signals_key is not None
            )
        except Exception:
            log.exception("the results of wave %s could not be computed apart", wave_id)
            self._finish(wave_id, job, None)
        else:
            future.add_done_callback(lambda done: self._finish(wave_id, job, done))
        return job, True

    def _finish(self, wave_id: int, job: _Job, future: Future[Computed] | None) -> None:
        try:
            if future is None:
                raise RuntimeError("not started")
            computed = future.result()
            if computed.data is not None:
                job.figures = self._store(
                    self._figures, wave_id, job.need.version, computed.data, computed.pid
                )
            if computed.signals is not None and job.need.signals_key is not None:
                job.signals = self._store(
                    self._signals, wave_id, job.need.signals_key, computed.signals, computed.pid
                )
            log.info(
                "results of wave %s computed in process %s: %.2f CPU-s",
                wave_id,
                computed.pid,
                computed.cpu_seconds,
            )
        except Exception:  # the pages keep the last figures; the next request tries again
            job.failed = True
            log.exception("computing the results of wave %s failed", wave_id)
        finally:
            with self._lock:
                if self._running.get(wave_id) is job:
                    del self._running[wave_id]
            job.done.set()
