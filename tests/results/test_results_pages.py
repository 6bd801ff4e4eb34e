"""The results page at scale: background recompute with stale figures marked, paging, search."""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import asdict

from sqlmodel import Session

from survey_service.blueprints import statistics
from survey_service.db import transaction
from survey_service.results.aspects import aspect_results
from survey_service.results.cache import ResultsCache
from survey_service.results.computing import Threads
from survey_service.results.respondents import load_wave
from tests.factories import PASSWORD, make_user
from tests.results.test_cache import _one_more_interview


def _n(rows, code):
    return next(r.n for r in rows if r.code == code)


def test_new_data_computed_in_the_background_while_stale_figures_are_served(
    app, session, wave_with_answers
):
    """Does a request get the last figures, marked stale, while new ones are computed in a
    thread (``RESULTS_COMPUTE=thread``)?"""
    wave, _plan = wave_with_answers
    engine = app.extensions["engine"]

    @contextlib.contextmanager
    def open_session():
        with Session(engine, expire_on_commit=False) as own:
            yield own

    prepared = []
    cache = ResultsCache(runner=Threads(open_session, prepare=prepared.append), first_wait=None)
    first = cache.lookup(session, wave)
    assert not first.stale and prepared == [first.data]  # the first figures: waited for
    with transaction(session):
        _one_more_interview(session)
    served = cache.lookup(session, wave)
    assert served.stale and served.data is first.data  # the last figures, marked
    assert served.computed_at == first.computed_at
    deadline = time.monotonic() + 60
    while (found := cache.lookup(session, wave)).stale and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not found.stale and found.computed_at > first.computed_at
    assert _n(found.results, "C") == _n(first.results, "C") + 1
    assert prepared == [first.data, found.data]  # prepared (charts) before handed out
    assert cache.lookup(session, wave, fresh=True).data is found.data  # current: no recompute


def test_results_table_is_paged_and_searchable(client, session, wave_with_answers, monkeypatch):
    """Does the table show one page of units, and only those a search names?"""
    with transaction(session):
        make_user(session, username="office", role="reviewer")
    client.post("/auth/login", data={"username": "office", "password": PASSWORD})
    monkeypatch.setattr(statistics, "PAGE_SIZE", 2)
    page = client.get("/statistics/results").get_data(as_text=True)
    table = page.split('id="results"')[1].split("</table>")[0]
    assert re.findall(r'<tr data-code="(\w+)"', table) == ["A", "B"]
    assert "第 1/2 页" in page and 'id="results-pager"' in page
    page = client.get("/statistics/results?page=2").get_data(as_text=True)
    table = page.split('id="results"')[1].split("</table>")[0]
    assert re.findall(r'<tr data-code="(\w+)"', table) == ["C"]
    page = client.get("/statistics/results?q=单位B").get_data(as_text=True)
    table = page.split('id="results"')[1].split("</table>")[0]
    assert re.findall(r'<tr data-code="(\w+)"', table) == ["B"]
    assert "共 3 个单位，符合条件 1 个" in page
    assert "forest.svg?category=&amp;q=%E5%8D%95%E4%BD%8DB&amp;chart_page=1" in page  # same units
    svg = client.get("/statistics/results/forest.svg?q=单位B").get_data(as_text=True)
    assert "单位B" in svg and "单位A" not in svg and "单位C" not in svg
    assert client.get("/statistics/results/pie.svg").status_code == 404


def _same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


def test_one_units_aspects_equal_those_of_the_whole_wave(session, wave_with_answers):
    """Are a unit's per-item figures from its own respondents those of the whole wave?"""
    wave, plan = wave_with_answers
    data = load_wave(session, wave)
    whole = [asdict(a) for a in aspect_results(data)]
    for code in plan:
        alone = [asdict(a) for a in aspect_results(data.only_unit(code))]
        theirs = [a for a in whole if a["unit"] == code]
        assert len(alone) == len(theirs) > 0
        for mine, full in zip(alone, theirs, strict=True):
            assert mine.keys() == full.keys()
            assert all(_same(mine[k], full[k]) for k in mine), (mine, full)
        assert any(a["n"] > 0 for a in alone)


def test_paged_table_keeps_the_signals_column_and_the_rank_view_of_every_unit(
    client, session, wave_with_answers, monkeypatch
):
    """With the table paged, does each shown row keep its signals cell, and do the cut tests
    and the empirical-Bayes view still cover every unit (one computation of the signals)?"""
    with transaction(session):
        make_user(session, username="office", role="reviewer")
    client.post("/auth/login", data={"username": "office", "password": PASSWORD})
    monkeypatch.setattr(statistics, "PAGE_SIZE", 2)
    page = client.get("/statistics/results").get_data(as_text=True)
    table = page.split('id="results"')[1].split("</table>")[0]
    assert re.findall(r'<tr data-code="(\w+)"', table) == ["A", "B"]
    assert table.count('<td class="signals">') == 2
    assert "参与排名的单位不足 11 个，无分界检验。" in page
    view = page.split('id="rank-view"')[1].split("</table>")[0]
    assert sorted(re.findall(r'<tr data-code="(\w+)"', view)) == ["A", "B", "C"]
    cache = client.application.extensions["survey_results_cache"]
    wave, _plan = wave_with_answers
    found, signals = cache.results_and_signals(session, wave)
    assert [r.code for r in found.results] == ["A", "B", "C"] and not found.stale
    assert cache.results_and_signals(session, wave)[1] is signals  # kept per version
