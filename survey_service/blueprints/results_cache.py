"""The app's results cache (one per process), shared by the results, unit and export views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlmodel import Session

from survey_service.lazy import lazy_module

# The results stage (numpy, the estimation) is loaded by the first request that needs it.
cache_module = lazy_module("survey_service.results.cache")

CACHE_KEY = "survey_results_cache"


def results_cache():
    """The app's results cache (``ResultsCache``); computing in the background unless testing.

    ``RESULTS_WAIT_SECONDS`` is how long a page waits for new figures (0: always
    wait, as the tests do) before it shows the last ones marked as being updated.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get(CACHE_KEY)
    if cache is not None:
        return cache
    wait = 0.0 if app.testing else float(app.config.get("RESULTS_WAIT_SECONDS") or 0)
    engine = app.extensions["engine"]

    @contextmanager
    def open_session() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as session:
            yield session

    from .results_charts import prepare_charts  # it renders through the stages, lazily

    return app.extensions.setdefault(
        CACHE_KEY,
        cache_module.ResultsCache(
            open_session=open_session, wait=wait if wait > 0 else None, prepare=prepare_charts
        ),
    )
