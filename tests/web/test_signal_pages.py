"""The office sees the signs of gaming beside the scores and the cut tests; units do not."""

from __future__ import annotations

import re
from types import SimpleNamespace

from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import Unit
from tests.factories import make_user
from tests.results.test_signals import build_signals_wave


def _row(page: str, table: str, code: str) -> str:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    match = re.search(rf'<tr data-code="{code}"[^>]*>(.*?)</tr>', body, re.S)
    assert match, (table, code)
    return match.group(1)


def test_office_sees_flagged_units_with_their_counts_beside_the_score(client, session, auth):
    """Does the reviewer see P1's top box 8/8 and P3's screen-outs 5/8 next to the scores?"""
    build_signals_wave(session)
    auth.login("reviewer")
    page = client.get("/statistics/results").get_data(as_text=True)
    p1 = _row(page, "results", "P1")
    assert 'data-signal="top_box">总体评价“非常满意” 8/8（同类 21%）' in p1
    assert 'data-signal="same_comments">措辞完全相同的意见 6/7（同类 0%）' in p1
    assert 'data-signal="screened_out">甄别不符（没办过/记不清） 5/8（同类 0%）' in _row(
        page, "results", "P3"
    )
    assert 'data-signal="median_length">访问时长中位数 40 秒（z -inf）' in _row(
        page, "results", "P4"
    )
    assert '<td class="signals">—</td>' in _row(page, "results", "P2")
    assert 'id="signals-link"' in page
    # seven ranked units: no 11th place, so no cut test; the rank view lists all seven
    assert "参与排名的单位不足 11 个，无分界检验。" in page
    assert page.count('class="num shrunk-rank"') == 7
    assert "经验贝叶斯视图（仅供参考，不是公布的得分）" in page

    detail = client.get("/statistics/results/signals?flagged=1")
    assert detail.status_code == 200
    text = detail.get_data(as_text=True)
    assert re.findall(r'<tr data-code="(\w+)" class="flagged">', text) == ["P1", "P3", "P4", "P5"]
    p5 = _row(text, "signals", "P5")
    assert '<td class="num flag" data-signal="bad_numbers">5/8（62%；同类 6%） 异常</td>' in p5
    p3 = _row(text, "signals", "P3")
    assert 'data-signal="staff_numbers">2/20（10%；同类 0%） 异常</td>' in p3


def test_unit_staff_cannot_see_the_signals(client, session, auth):
    """Are the signals page and the results page closed to a unit's own staff?"""
    from survey_service.models import User
    from survey_service.results import publication

    wave = build_signals_wave(session)
    with transaction(session):
        unit = session.exec(select(Unit).where(Unit.code == "P1")).one()
        make_user(session, username="p1staff", role="unit", unit=unit)
        reviewer = session.exec(select(User).where(User.username == "reviewer")).one()
        publication.close_results(session=session, wave=wave, actor=reviewer)
        publication.publish_results(session=session, wave=wave, actor=reviewer)
    auth.login("p1staff")
    assert client.get("/statistics/results/signals").status_code == 403
    assert client.get("/statistics/results").status_code == 403
    assert client.get("/statistics/units/P1").status_code == 403
    assert client.get("/statistics/exports/signals.csv").status_code == 403
    # the unit's own published page: its score, none of the signals
    own = client.get("/unit/results")
    assert own.status_code == 200
    text = own.get_data(as_text=True)
    assert 'id="unit-score"' in text
    assert "异常信号" not in text and "unit-signals" not in text and "8/8" not in text


def test_the_ranking_page_shows_the_cut_tests_and_the_shrinkage_view(
    client, session, auth, monkeypatch
):
    """With twelve ranked units, are both cut tests and the two rank columns on the page?"""
    from survey_service.blueprints import statistics as view
    from survey_service.results import cuts
    from tests.factories import make_wave
    from tests.results.test_cuts import rows

    with transaction(session):
        make_wave(session)
        make_user(session, role="reviewer")
    memo = {}
    data = SimpleNamespace(memo=lambda name, compute: memo.setdefault(name, compute()))
    found = SimpleNamespace(results=rows(), stale=False, computed_at=None, data=data)  # a lookup
    monkeypatch.setattr(view, "results_and_signals", lambda session, wave: (found, []))
    auth.login("reviewer")
    page = client.get("/statistics/results").get_data(as_text=True)
    cut = page.split('id="cuts"', 1)[1].split("</table>", 1)[0]
    bottom, top = cuts.cut_tests(rows())
    assert (
        '<tr data-side="bottom"><td>后十名（十差）</td><td>U10</td><td class="num">8.100</td>'
        '<td>U11</td><td class="num">8.120</td><td class="num">0.020</td>'
        f'<td class="num">0.510</td><td class="num df">{bottom.df:.1f}</td>'
        f'<td class="num">0.04</td><td class="num p">{bottom.p_value:.3f}</td></tr>'
    ) in cut
    assert '<tr data-side="top"><td>前十名（十佳）</td><td>U03</td>' in cut
    assert f'<td class="num p">{top.p_value:.3f}</td>' in cut
    ranked = page.split('id="rank-view"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<tr data-code="(\w+)">', ranked) == [f"U{i:02d}" for i in range(1, 13)]
    assert "∞（正态）" in _row(page, "rank-view", "U12")
    assert cuts.CUT_ASSUMPTION in page
    # A city's rank view is listed a page at a time; the cut tests still cover every unit.
    monkeypatch.setattr(view, "RANK_PAGE_SIZE", 5)
    page = client.get("/statistics/results?rank_page=3").get_data(as_text=True)
    ranked = page.split('id="rank-view"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<tr data-code="(\w+)">', ranked) == ["U11", "U12"]
    assert "第 3/3 页" in page and "<td>U10</td>" in page.split('id="cuts"', 1)[1]


def test_the_offices_unit_page_lists_every_signal_with_its_counts(client, session, auth):
    """Does the office's page of P5 show its 5/8 bad numbers flagged, and its other counts?"""
    build_signals_wave(session)
    auth.login("reviewer")
    page = client.get("/statistics/units/P5").get_data(as_text=True)
    table = page.split('id="unit-signals"', 1)[1].split("</table>", 1)[0]
    rows = dict(re.findall(r'<tr data-signal="(\w+)"[^>]*>(.*?)</tr>', table, re.S))
    assert list(rows) == [
        "top_box",
        "screened_out",
        "bad_numbers",
        "shared_numbers",
        "staff_numbers",
        "same_comments",
        "short_interviews",
        "median_length",
    ]
    assert (
        '<td class="num">5/8</td><td class="num">62%</td><td class="num">6%</td>'
        in rows["bad_numbers"]
    )
    assert rows["bad_numbers"].endswith("<td>是</td>")
    assert '<td class="num">1/3</td>' in rows["top_box"] and rows["top_box"].endswith("<td></td>")
