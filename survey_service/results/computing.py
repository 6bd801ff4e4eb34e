"""Where a wave's figures are computed: a child process at low priority, a thread, or the request.

A recomputation costs about 0.6 CPU-seconds at 330 units and 12 at 7,000
(``bench/profile_results.py``; a minute or more of wall time in the niced child
on a busy node), most of it in Python that holds the GIL: run in a thread of a web
process it slows every request of that process (the agents' claims, the IVR
webhooks). :class:`ChildProcess` runs it in one long-lived child process per
web process instead, started with ``spawn`` (a fresh interpreter, nothing of
the threaded parent copied) and lowered by :data:`NICENESS`, so the web
process's requests neither wait for its CPU nor for its GIL. The child opens
its own engine (``make_engine``, a picklable factory from the caller), loads
the wave, computes the figures (:func:`compute`) and, when asked, the signs
of gaming (:func:`results.signals.unit_signals`), runs ``prepare`` on the new
data (the web app renders the default chart panels there), and sends it all
back pickled. The questionnaire is sent by reference (its id and digest) and
taken from the parent's own loaded copy.

A child that dies (killed, out of memory) fails the computation it was
running, and is restarted by the next one; a child found dead before it was
given a computation is restarted and given it. The caller
(:class:`results.cache.ResultsCache`) keeps the last figures meanwhile.

:class:`Threads` computes in a thread of the calling process (the behaviour
before the child; ``RESULTS_COMPUTE=thread``); no runner at all means the
request computes (``inline``: the tests).
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import pickle
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

import call_scripts
from call_scripts import Script
from survey_service.collector import paused as gc_paused  # the child computes with it off
from survey_service.models import SurveyWave
from survey_service.results import publication, signals
from survey_service.results.respondents import WaveData, load_wave
from survey_service.results.signals import UnitSignals

log = logging.getLogger(__name__)

PROCESS, THREAD, INLINE = "process", "thread", "inline"
MODES = (PROCESS, THREAD, INLINE)

#: added to the web process's nice value for the child (Linux CFS weight 110 against
#: 1024: about a tenth of a core when every core is busy, all idle CPU otherwise)
NICENESS = 10


def _detached(row):
    """A copy of a table row that belongs to no session (a cached copy outlives its session:
    a rollback there must not expire it)."""
    return None if row is None else type(row).model_validate(row.model_dump())


def compute(session: Session, wave: SurveyWave) -> WaveData:
    """The wave's data with its figures computed (live, or the frozen snapshot once closed).

    The wave, draw and units in it are copies bound to no session, so the data can
    be kept across requests and threads, and pickled.
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
class Computed:
    """One computation: the figures and the signals asked for (else None), and where it ran."""

    data: WaveData | None
    signals: list[UnitSignals] | None
    pid: int
    cpu_seconds: float


def compute_wave(
    session: Session,
    wave_id: int,
    *,
    figures: bool,
    with_signals: bool,
    prepare: Callable[[WaveData], None] | None = None,
) -> Computed:
    """The figures and/or the signals of a wave, computed on ``session`` (any process).

    :raise LookupError: if there is no such wave.
    """
    started = time.process_time()
    wave = session.get(SurveyWave, wave_id)
    if wave is None:
        raise LookupError(f"no wave {wave_id}")
    data = compute(session, wave) if figures else None
    if data is not None and prepare is not None:
        prepare(data)
    rows = signals.unit_signals(session, wave) if with_signals else None
    return Computed(data, rows, os.getpid(), time.process_time() - started)


class Runner(Protocol):
    def submit(self, wave_id: int, *, figures: bool, with_signals: bool) -> Future[Computed]: ...

    def close(self) -> None: ...


class Threads:
    """Computations in a daemon thread of this process, on a session of its own."""

    def __init__(
        self,
        open_session: Callable[[], AbstractContextManager[Session]],
        *,
        prepare: Callable[[WaveData], None] | None = None,
    ) -> None:
        self._open_session = open_session
        self._prepare = prepare

    def submit(self, wave_id: int, *, figures: bool, with_signals: bool) -> Future[Computed]:
        future: Future[Computed] = Future()

        def run() -> None:
            try:
                with self._open_session() as session:
                    future.set_result(
                        compute_wave(
                            session,
                            wave_id,
                            figures=figures,
                            with_signals=with_signals,
                            prepare=self._prepare,
                        )
                    )
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=run, name=f"results-wave-{wave_id}", daemon=True).start()
        return future

    def close(self) -> None:
        pass


# --- the pickled reply: a questionnaire goes by reference --------------------------------


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any):
        if isinstance(obj, Script):
            return ("script", obj.id, obj.digest)
        return None


@lru_cache(maxsize=16)
def _script(script_id: str) -> Script:
    return call_scripts.load_script(script_id)


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any):
        kind, script_id, digest = pid
        script = _script(script_id)
        if kind != "script" or script.digest != digest:
            raise pickle.UnpicklingError(f"script {script_id} differs from the child's")
        return script


def pack(reply: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(reply)
    return buffer.getvalue()


def unpack(payload: bytes) -> Any:
    return _Unpickler(io.BytesIO(payload)).load()


def _picklable(computed: Computed) -> Computed:
    """``computed`` without the derived figures that cannot be pickled (a closure kept in a
    memo); the parent recomputes them when a page asks (``WaveData.memo``)."""
    if computed.data is not None:
        for name, value in list(computed.data.derived.items()):
            try:
                pack(value)
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                log.warning("derived %r of wave data not sent to the web process: %s", name, exc)
                del computed.data.derived[name]
    return computed


# --- the child process ---------------------------------------------------------------------


def _child_main(conn, make_engine: Callable[[], Engine], niceness: int, prepare) -> None:
    """The child's loop: one request (wave id, figures?, signals?) in, one reply out."""
    os.nice(niceness)
    engine = make_engine()
    while True:
        try:
            wave_id, figures, with_signals = conn.recv()
        except (EOFError, OSError):  # the parent has gone
            return
        try:
            # only here, not in a web process: the switch is process-wide, and the child
            # computes one wave at a time and nothing else (survey_service.collector)
            with gc_paused():
                with Session(engine, expire_on_commit=False) as session:
                    computed = compute_wave(
                        session,
                        wave_id,
                        figures=figures,
                        with_signals=with_signals,
                        prepare=prepare,
                    )
                try:
                    reply = pack(("done", computed))
                except (pickle.PicklingError, AttributeError, TypeError):
                    reply = pack(("done", _picklable(computed)))
        except Exception:
            reply = pack(("failed", traceback.format_exc()))
        try:
            conn.send_bytes(reply)
        except OSError:
            return


class ChildDied(RuntimeError):
    """The child process ended while it was computing (killed, out of memory)."""


class ChildProcess:
    """Computations in one long-lived child process at low priority, one at a time.

    ``make_engine`` (no arguments) and ``prepare`` (one: the new data) are pickled
    to the child, so they must be module-level functions or partials of them.
    """

    def __init__(
        self,
        make_engine: Callable[[], Engine],
        *,
        prepare: Callable[[WaveData], None] | None = None,
        niceness: int = NICENESS,
    ) -> None:
        self._make_engine = make_engine
        self._prepare = prepare
        self._niceness = niceness
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._process = None
        self._conn = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first computation)."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def submit(self, wave_id: int, *, figures: bool, with_signals: bool) -> Future[Computed]:
        future: Future[Computed] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the results child process is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="results-child", daemon=True
                )
                self._thread.start()
        self._requests.put(((wave_id, figures, with_signals), future))
        return future

    def close(self) -> None:
        """Stop the child (a computation running in it fails)."""
        with self._lock:
            self._closed = True
        self._requests.put(None)
        self._stop_child()

    def _serve(self) -> None:
        """Hand the requests to the child one at a time; wait for each reply (no GIL held)."""
        while (item := self._requests.get()) is not None:
            request, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._ask(request))
                except BaseException as exc:
                    future.set_exception(exc)

    def _ask(self, request: tuple) -> Computed:
        for attempt in (1, 2):
            conn = self._running_child()
            try:
                conn.send(request)
            except OSError:  # found dead before it was given this one: restart, give it
                self._died(f"before computing wave {request[0]}")
                if attempt == 2:
                    raise
                continue
            try:
                payload = conn.recv_bytes()
            except (EOFError, OSError) as exc:
                self._died(f"while computing wave {request[0]}")
                raise ChildDied(f"the results child died computing wave {request[0]}") from exc
            break
        kind, value = unpack(payload)
        if kind == "failed":
            raise RuntimeError(f"the results child failed:\n{value}")
        return value

    def _running_child(self):
        if self._process is None or not self._process.is_alive():
            if self._process is not None:
                self._died("between computations")
            context = multiprocessing.get_context("spawn")
            parent, child = context.Pipe()
            self._process = context.Process(
                target=_child_main,
                args=(child, self._make_engine, self._niceness, self._prepare),
                name="results-child",
                daemon=True,
            )
            self._process.start()
            child.close()
            self._conn = parent
            log.info("results child process started (pid %s)", self._process.pid)
        return self._conn

    def _died(self, when: str) -> None:
        process = self._process
        if process is None:
            return
        process.join(timeout=5)
        log.error(
            "the results child process (pid %s) died %s (exit code %s); restarting it",
            process.pid,
            when,
            process.exitcode,
        )
        self._discard()

    def _stop_child(self) -> None:
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(timeout=5)
        self._discard()

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None
