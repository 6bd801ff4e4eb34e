"""A table's CSV link while new figures are being computed: offered as a background job."""

from __future__ import annotations

import dataclasses

from survey_service.blueprints.results_cache import results_cache
from tests.results.test_exports import build_wave, parse_csv
from tests.web.test_exports_web import PREFIX, _events, _register, _user


def test_stale_figures_offer_the_job_instead_of_computing_in_the_request(
    app, client, auth, session, monkeypatch
):
    """With the figures being recomputed, does the link offer the job (nothing sent, nothing
    audited), the job build the table, and the link send it once the figures are current?"""
    _register(app)
    build_wave(session)
    _user(session, "statistician")
    auth.login("statistician")
    with app.app_context():
        cache = results_cache()
    real = cache.lookup

    def lookup(session, wave, **kwargs):
        found = real(session, wave, **kwargs)
        return dataclasses.replace(found, stale=True) if not kwargs.get("fresh") else found

    monkeypatch.setattr(cache, "lookup", lookup)
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
