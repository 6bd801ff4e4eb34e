"""A slow table's CSV link in a big wave: a background job builds it, the link then sends it."""

from __future__ import annotations

from sqlmodel import select

from survey_service.blueprints import exports as exports_blueprint
from survey_service.db import transaction
from survey_service.models import Answer, Case
from tests.results.test_exports import build_wave, parse_csv
from tests.web.test_exports_web import PREFIX, _events, _register, _user


def test_slow_table_goes_through_the_job_once_per_data_version(
    app, client, auth, session, monkeypatch
):
    """Above the size limit, does the aspects link offer the job (nothing sent or audited),
    send the job's file at once afterwards, and offer the job again after a new answer?"""
    _register(app)
    build_wave(session)
    _user(session, "statistician")
    auth.login("statistician")
    monkeypatch.setattr(exports_blueprint, "DIRECT_BUILD_RESPONDENTS", 0)
    first = client.get(f"{PREFIX}/aspects.csv")
    page = first.get_data(as_text=True)
    assert first.status_code == 200 and first.mimetype == "text/html"
    assert f'action="{PREFIX}/jobs/aspects_csv"' in page and 'id="slow-export"' in page
    assert 'id="stale-export"' not in page and _events(session) == 0
    job = client.post(f"{PREFIX}/jobs/aspects_csv").headers["Location"]
    download = client.get(job + "/download")
    assert download.status_code == 200 and _events(session, "export.aspects_csv") == 1
    direct = client.get(f"{PREFIX}/aspects.csv")  # kept with the figures: sent at once
    assert direct.status_code == 200 and direct.content_type == "text/csv; charset=utf-8"
    assert direct.data == download.data and len(parse_csv(direct.data)[1]) > 0
    assert _events(session, "export.aspects_csv") == 2
    # the estimates are not a slow table: sent directly whatever the size
    assert client.get(f"{PREFIX}/estimates.csv").content_type == "text/csv; charset=utf-8"
    with transaction(session):  # a new answer (a comment of a refusal): new figures
        like = session.exec(select(Answer)).first()
        case = session.exec(select(Case).where(Case.disposition == "2.11")).first()
        session.add(
            Answer(
                case_id=case.id,
                item_id="comment",
                value="新的意见",
                script_id=like.script_id,
                script_version=like.script_version,
            )
        )
    again = client.get(f"{PREFIX}/aspects.csv")
    assert again.status_code == 200 and again.mimetype == "text/html"
    assert 'id="slow-export"' in again.get_data(as_text=True)
    assert _events(session, "export.aspects_csv") == 2


def test_slow_table_of_a_small_wave_is_sent_directly(app, client, auth, session):
    """Below the size limit (the default), is the comments CSV sent at once?"""
    _register(app)
    build_wave(session)
    _user(session, "statistician")
    auth.login("statistician")
    response = client.get(f"{PREFIX}/comments.csv")
    assert response.status_code == 200 and response.content_type == "text/csv; charset=utf-8"
    assert _events(session, "export.comments_csv") == 1


def test_new_figures_of_a_small_wave_bring_its_aspects_csv(session, monkeypatch):
    """Does the results child's ``prepare`` keep the aspects CSV with a small wave's figures
    (the bytes a link would build), and leave a big wave's to the background job?"""
    from survey_service.results import exports
    from survey_service.results.respondents import load_wave

    wave = build_wave(session)
    small = load_wave(session, wave)
    exports_blueprint.prebuild_tables(small)
    kept = small.derived["csv:aspects"]
    assert (
        kept.data
        == exports.csv_export(session, wave, "aspects", data=load_wave(session, wave)).data
    )
    assert kept.rows == len(parse_csv(kept.data)[1]) > 0
    assert "csv:comments" not in small.derived  # the comments need the database
    monkeypatch.setattr(exports_blueprint, "DIRECT_BUILD_RESPONDENTS", len(small.respondents) - 1)
    big = load_wave(session, wave)
    exports_blueprint.prebuild_tables(big)
    assert "csv:aspects" not in big.derived
