"""A table's CSV link while new figures are being computed: offered as a background job."""

from __future__ import annotations

import dataclasses

from survey_service.blueprints.results_cache import results_cache
from tests.results.test_exports import build_wave, parse_csv
from tests.web.test_exports_web import PREFIX, _events, _register, _user


def _stale_lookups(app, session, monkeypatch, asked=None):
    """The statistician logged in on a built wave whose cache answers every lookup that
    does not ask for fresh figures as stale (being recomputed); the cache and its real
    lookup. ``asked`` collects each lookup's ``fresh``."""
    _register(app)
    build_wave(session)
    _user(session, "statistician")
    with app.app_context():
        cache = results_cache()
    real = cache.lookup

    def lookup(session, wave, **kwargs):
        if asked is not None:
            asked.append(kwargs.get("fresh", False))
        found = real(session, wave, **kwargs)
        return dataclasses.replace(found, stale=True) if not kwargs.get("fresh") else found

    monkeypatch.setattr(cache, "lookup", lookup)
    return cache, real


def test_stale_figures_offer_the_job_instead_of_computing_in_the_request(
    app, client, auth, session, monkeypatch
):
    """With the figures being recomputed, does the link offer the job (nothing sent, nothing
    audited), the job build the table, and the link send it once the figures are current?"""
    cache, real = _stale_lookups(app, session, monkeypatch)
    auth.login("statistician")
    response = client.get(f"{PREFIX}/estimates.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert f'action="{PREFIX}/jobs/estimates_csv"' in page and "得分正在重新计算" in page
    assert _events(session) == 0
    started = client.post(f"{PREFIX}/jobs/estimates_csv")  # built at once under test
    job = started.headers["Location"]
    download = client.get(job + "/download")
    assert download.status_code == 200 and _events(session, "export.estimates_csv") == 1
    header, rows = parse_csv(download.data)
    monkeypatch.setattr(cache, "lookup", real)
    direct = client.get(f"{PREFIX}/estimates.csv")
    assert direct.status_code == 200 and direct.content_type == "text/csv; charset=utf-8"
    assert parse_csv(direct.data) == (header, rows) and len(rows) > 0
    assert _events(session, "export.estimates_csv") == 2


def test_results_csv_offers_the_job_while_new_figures_are_computed(
    app, client, auth, session, monkeypatch
):
    """The results page's CSV does not wait in the request for figures being recomputed (a
    city's take half a minute): it offers the job, whose file is the one the link sends
    once the figures are current, and only a download is audited."""
    asked = []
    cache, real = _stale_lookups(app, session, monkeypatch, asked)
    auth.login("statistician")
    response = client.get("/statistics/results.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert f'action="{PREFIX}/jobs/results_csv"' in page and "得分正在重新计算" in page
    assert "后台生成得分结果（CSV）" in page
    assert asked == [False] and _events(session) == 0  # the request did not wait
    started = client.post(f"{PREFIX}/jobs/results_csv")  # built at once under test
    assert started.status_code == 303
    download = client.get(started.headers["Location"] + "/download")
    assert download.status_code == 200 and _events(session, "export.results_csv") == 1
    assert download.headers["Content-Disposition"].startswith("attachment; filename=results-")
    assert asked[-1] is True  # the job waited for the newest figures
    header, rows = parse_csv(download.data)
    monkeypatch.setattr(cache, "lookup", real)
    direct = client.get("/statistics/results.csv")
    assert direct.status_code == 200 and direct.content_type == "text/csv; charset=utf-8"
    assert parse_csv(direct.data) == (header, rows) and len(rows) > 0
    assert header[:2] == ["单位代码", "单位名称"]
    assert _events(session, "export.results_csv") == 2
