"""The app's results cache (one per process), shared by the results, unit and export views."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from flask import current_app
from sqlmodel import Session

from survey_service.db import make_engine
from survey_service.lazy import lazy_module

# The results stage (numpy, the estimation) is loaded by the first request that needs it.
cache_module = lazy_module("survey_service.results.cache")
computing = lazy_module("survey_service.results.computing")

CACHE_KEY = "survey_results_cache"
_creating = threading.Lock()  # one cache (and one child process) per app
COMPUTE_MODES = ("process", "thread", "inline")


def compute_mode(app) -> str:
    """``RESULTS_COMPUTE``, or ``inline`` when testing and ``process`` otherwise.

    :raise ValueError: for a value that is not one of :data:`COMPUTE_MODES`.
    """
    mode = (app.config.get("RESULTS_COMPUTE") or "").strip().lower()
    mode = mode or ("inline" if app.testing else "process")
    if mode not in COMPUTE_MODES:
        raise ValueError(f"RESULTS_COMPUTE={mode!r}: expected one of {', '.join(COMPUTE_MODES)}")
    return mode


def results_cache():
    """The app's results cache (``ResultsCache``), computing where ``RESULTS_COMPUTE`` says.

    ``process`` (the default): in one child process of this process at low
    priority; ``thread``: in a thread of this process; ``inline`` (the tests):
    in the request. ``RESULTS_WAIT_SECONDS`` is how long a page that has last
    figures waits for new ones before it shows the last ones marked as being
    updated; ``RESULTS_FIRST_WAIT_SECONDS`` how long a request waits for a wave's
    first figures before the page says they are being computed (and refreshes).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get(CACHE_KEY)
    if cache is not None:
        return cache
    with _creating:
        if CACHE_KEY not in app.extensions:
            app.extensions[CACHE_KEY] = _new_cache(app)
    return app.extensions[CACHE_KEY]


def prepare_views(data) -> None:
    """What new figures bring with them, built where they are computed (the child): the
    results page's default chart panels, and the small waves' aspects CSV
    (:func:`.exports.prebuild_tables`)."""
    from .exports import prebuild_tables  # they render through the stages, lazily
    from .results_charts import prepare_charts

    prepare_charts(data)
    prebuild_tables(data)


def _new_cache(app):
    mode = compute_mode(app)
    engine = app.extensions["engine"]
    runner = None
    if mode == "process":
        # the child builds its own engine from the URL (password included; on a pipe)
        url = engine.url.render_as_string(hide_password=False)
        runner = computing.ChildProcess(partial(make_engine, url), prepare=prepare_views)
    elif mode == "thread":

        @contextmanager
        def open_session() -> Iterator[Session]:
            with Session(engine, expire_on_commit=False) as session:
                yield session

        runner = computing.Threads(open_session, prepare=prepare_views)
    if runner is not None:
        atexit.register(runner.close)  # the child ends with this process
    wait = float(app.config.get("RESULTS_WAIT_SECONDS") or 0)
    first = app.config.get("RESULTS_FIRST_WAIT_SECONDS")
    first_wait = cache_module.FIRST_WAIT if first in (None, "") else float(first)
    return cache_module.ResultsCache(
        runner=runner, wait=max(wait, 0.0), first_wait=max(first_wait, 0.0)
    )
