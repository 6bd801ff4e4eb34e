"""The app's results cache (one per process), shared by the results, unit and export views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlmodel import Session

from survey_service.results.cache import ResultsCache

CACHE_KEY = "survey_results_cache"


def results_cache() -> ResultsCache:
    """The app's :class:`ResultsCache`; computing in the background unless testing.

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

    from .statistics import prepare_charts  # the statistics views import this module

    return app.extensions.setdefault(
        CACHE_KEY,
        ResultsCache(
            open_session=open_session, wait=wait if wait > 0 else None, prepare=prepare_charts
        ),
    )
