"""The results page and its two charts come from one computation (frozen once closed)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import select

from survey_service.db import transaction
from survey_service.dispositions import REFUSAL
from survey_service.models import CallAttempt, Case, CaseStatus, SampleDraw, Unit
from survey_service.results import estimates, publication
from survey_service.results.cache import ResultsCache, data_version
from survey_service.sample import draws
from tests.factories import PASSWORD, make_user
from tests.results.conftest import LEVELS, _interview

PAGES = ("/statistics/results", "/statistics/results/forest.svg", "/statistics/results/rates.svg")


def _counting(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = estimates.unit_results

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(estimates, "unit_results", counted)
    return calls


def _one_more_interview(session, username="late_agent"):
    agent = make_user(session, username=username, role="agent")
    unit = session.exec(select(Unit).where(Unit.code == "C")).one()
    case = session.exec(  # a refusal called back
        select(Case).where(Case.unit_id == unit.id, Case.disposition == REFUSAL)
    ).first()
    # A refusal is final under the calling rules: start the case afresh (test data).
    session.execute(delete(CallAttempt).where(CallAttempt.case_id == case.id))
    case.status, case.disposition, case.claimed_by = CaseStatus.IN_PROGRESS, None, agent.id
    case.attempts = 0
    session.add(case)
    session.flush()
    _interview(session, agent, case, [LEVELS[0], LEVELS[0]])


def test_page_and_charts_share_one_computation(client, session, wave_with_answers, monkeypatch):
    """Is the estimation run once for the page and both charts, again only after new data?"""
    wave, _plan = wave_with_answers
    with transaction(session):
        make_user(session, username="office", role="reviewer")
    client.post("/auth/login", data={"username": "office", "password": PASSWORD})
    calls = _counting(monkeypatch)
    for url in PAGES:
        assert client.get(url).status_code == 200
    assert len(calls) == 1
    page = client.get("/statistics/results").get_data(as_text=True)
    assert len(calls) == 1 and 'data-code="C"' in page
    before = {r.code: r.n for r in publication.wave_results(session, wave)}
    assert len(calls) == 2  # the direct call is not cached
    with transaction(session):
        _one_more_interview(session)
    for url in PAGES:
        assert client.get(url).status_code == 200
    assert len(calls) == 3  # a new answer: computed once more, for all three
    after = {r.code: r.n for r in publication.wave_results(session, wave)}
    assert after == {**before, "C": before["C"] + 1}
    # closed: the frozen snapshot, never the estimation
    assert client.post("/statistics/results/close").status_code == 302
    calls.clear()
    for url in PAGES:
        assert client.get(url).status_code == 200
    assert calls == []


def test_data_version_changes_with_answers_only(session, wave_with_answers):
    """Does the version stay put on a re-read and move with a new interview?"""
    wave, _plan = wave_with_answers
    first = data_version(session, wave)
    assert data_version(session, wave) == first
    cache = ResultsCache()
    rows = cache.wave_results(session, wave)
    assert cache.wave_results(session, wave) is rows
    with transaction(session):
        _one_more_interview(session)
    assert data_version(session, wave) != first
    fresh = cache.wave_results(session, wave)
    assert fresh is not rows
    assert next(r.n for r in fresh if r.code == "C") == next(r.n for r in rows if r.code == "C") + 1


def test_data_version_moves_when_review_strikes_an_interview(session, wave_with_answers):
    """A complete re-coded 2.12 (no new finalisation time) still gives a new version."""
    wave, _plan = wave_with_answers
    first = data_version(session, wave)
    with transaction(session):
        case = session.exec(select(Case).where(Case.disposition == "1.1")).first()
        case.disposition = "2.12"
        session.add(case)
    assert data_version(session, wave) != first


def test_data_version_follows_released_cases_without_loading_the_draw(session, wave_with_answers):
    """The version reads the draw's id only (its design is megabytes at city scale).

    A release flips cases to released (a release of none is refused), so the
    released count stands for the draw's list of releases.
    """
    wave, _plan = wave_with_answers
    session.expunge_all()
    first = data_version(session, wave)
    assert not [o for o in session.identity_map.values() if isinstance(o, SampleDraw)]
    record = draws.latest_draw(session, wave)
    assert data_version(session, wave)[2] == record.id
    with transaction(session):
        case = session.exec(select(Case).where(Case.draw_id == record.id)).first()
        case.released = False
        session.add(case)
    assert data_version(session, wave) != first
