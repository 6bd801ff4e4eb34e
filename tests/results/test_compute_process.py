"""The results recomputed in a child process at low priority (``RESULTS_COMPUTE=process``)."""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from survey_service.blueprints.results_cache import prepare_views
from survey_service.db import make_engine, transaction
from survey_service.results import exports, signal_views
from survey_service.results.cache import ResultsCache
from survey_service.results.computing import NICENESS, ChildProcess, compute, gc_paused
from survey_service.results.signals import unit_signals
from tests.results.test_cache import _one_more_interview

STALL = "RESULTS_TEST_STALL"


def _stall_while_flagged(data) -> None:
    """A ``prepare`` run in the child: it holds the computation while the flag file exists."""
    flag = Path(os.environ[STALL])
    deadline = time.monotonic() + 120
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _child(app, prepare) -> ChildProcess:
    url = app.extensions["engine"].url.render_as_string(hide_password=False)
    return ChildProcess(partial(make_engine, url), prepare=prepare)


def _n(found, code: str) -> int:
    return next(r.n for r in found.results if r.code == code)


def _json(rows) -> str:  # exact: floats by repr, NaN as NaN
    return json.dumps([asdict(r) for r in rows], sort_keys=True, default=str)


def _fresh(cache, session, wave, *, seconds: float = 180):
    deadline = time.monotonic() + seconds
    while (found := cache.lookup(session, wave)).stale and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.fixture
def child_log(caplog):
    caplog.set_level(logging.INFO, logger="survey_service.results")
    return caplog


def test_figures_and_signals_come_from_a_low_priority_child_equal_to_in_process(
    app, session, wave_with_answers
):
    """Are the figures and signals computed in another process, niced, and are they exactly
    those computed in this one (charts rendered there too)?"""
    wave, _plan = wave_with_answers
    runner = _child(app, prepare_views)
    try:
        found, rows = ResultsCache(runner=runner, first_wait=None).results_and_signals(
            session, wave
        )
        assert not found.stale
        assert found.pid == runner.pid and found.pid != os.getpid()
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, found.pid) == min(mine + NICENESS, 19)
        here = compute(session, wave)
        assert _json(found.results) == _json(here.derived["wave_results"])
        assert [r.code for r in found.results] == ["A", "B", "C"]
        assert np.array_equal(found.data.points, here.points, equal_nan=True)
        assert found.data.respondents == here.respondents
        assert found.data.script is here.script  # the parent's own copy, by reference
        assert set(here.derived) < set(found.data.derived)  # every derived figure came along
        assert "<svg" in found.data.derived["chart:forest:::1"]  # prepared in the child
        # a small wave's aspects CSV too: the same bytes as built here
        assert found.data.derived["csv:aspects"].data == (
            exports.csv_export(session, wave, "aspects", data=here).data
        )
        assert found.data.derived["csv:aspects"].rows == len(here.units) * 2 == 6  # 2 scored items
        live = [signal_views.to_json(r) for r in unit_signals(session, wave)]
        assert [signal_views.to_json(r) for r in rows] == live
    finally:
        runner.close()


def test_stale_figures_while_the_child_computes_and_a_dead_child_is_replaced(
    app, session, wave_with_answers, monkeypatch, tmp_path, child_log
):
    """While the child computes, do pages get the last figures at once; when it is killed,
    does the next computation start a new child that brings the new figures?"""
    wave, _plan = wave_with_answers
    flag = tmp_path / "stall"
    monkeypatch.setenv(STALL, str(flag))
    runner = _child(app, _stall_while_flagged)
    try:
        cache = ResultsCache(runner=runner, first_wait=None)
        first = cache.lookup(session, wave)
        first_pid = first.pid
        assert not first.stale and first_pid == runner.pid
        flag.touch()  # the next computation stays in the child until the flag goes
        with transaction(session):
            _one_more_interview(session)
        for _ in range(3):  # the child is held: these cannot have waited for it
            served = cache.lookup(session, wave)
            assert served.stale and served.data is first.data
            assert served.computed_at == first.computed_at
        os.kill(first_pid, signal.SIGKILL)
        flag.unlink()
        found = _fresh(cache, session, wave)
        assert not found.stale and found.pid not in (first_pid, os.getpid())
        assert found.pid == runner.pid
        assert _n(found, "C") == _n(first, "C") + 1
        assert f"(pid {first_pid}) died while computing wave {wave.id}" in child_log.text

        # killed while idle: found dead when given the next computation, replaced, given it
        second_pid = found.pid
        os.kill(second_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while runner.pid is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        with transaction(session):
            _one_more_interview(session, username="later_agent")
        exported = cache.lookup(session, wave, fresh=True)  # an export waits, never stale
        assert not exported.stale and exported.pid not in (first_pid, second_pid)
        assert _n(exported, "C") == _n(first, "C") + 2
        assert f"(pid {second_pid}) died between computations" in child_log.text
    finally:
        runner.close()


def test_gc_paused_pauses_the_collector_and_restores_it():
    """Is the cycle collector off inside, back on after (an error too), and left off if off?"""
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("computation failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
