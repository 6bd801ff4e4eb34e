"""The unit's results page after publication: its score beside its category's, its 整改 list."""

from __future__ import annotations

import math

import pytest

from survey_service.db import transaction
from survey_service.evaluation import rectification
from survey_service.results import publication
from survey_service.results.estimates import UnitResult
from survey_service.results.peers import Bin, category_distribution
from survey_service.sample import draws
from tests.evaluation.test_evaluation_rectification import COMMENTS, _interview
from tests.factories import PASSWORD, make_list, make_unit, make_user, make_wave

# Both rated items get the same level: 30/60/80 points are 3, 6, 8 of 10.
MIXED = ["dissatisfied", "satisfied", "basically_satisfied", "dissatisfied"] * 2  # 5.00


def _result(code, category, mean, n=8):
    return UnitResult(code, f"单位{code}", category, 20, 8, 8, n, n, mean, *[math.nan] * 4, "t", "")


def test_category_distribution_counts_only_the_category_and_names_no_one():
    """Are the quartiles, bins and the count below the unit those of its category only?"""
    results = [
        _result("A", "基层站所", 5.0),
        _result("B", "基层站所", 6.0),
        _result("C", "基层站所", 8.0),
        _result("D", "机关科室", 10.0),  # another category: left out
        _result("E", "基层站所", math.nan, n=0),  # no score: left out
    ]
    d = category_distribution(results, "A")
    assert (d.category, d.units, d.score, d.below) == ("基层站所", 3, 5.0, 0)
    assert (d.lowest, d.q1, d.median, d.q3, d.highest) == (5.0, 5.5, 6.0, 7.0, 8.0)
    assert d.bins == (
        Bin(5.0, 5.5, 1, True),
        Bin(5.5, 6.0, 0, False),
        Bin(6.0, 6.5, 1, False),
        Bin(6.5, 7.0, 0, False),
        Bin(7.0, 7.5, 0, False),
        Bin(7.5, 8.0, 0, False),
        Bin(8.0, 8.5, 1, False),
    )
    assert category_distribution(results, "C").below == 2
    assert category_distribution(results, "E") is None
    assert "单位" not in repr(d)


@pytest.fixture
def published(session):
    """Three units of one category (5.00, 6.00, 8.00) and one other, results published."""
    with transaction(session):
        office = make_user(session, username="office", role="reviewer")
        agent = make_user(session, role="agent")
        wave = make_wave(session)
        plan = {
            ("JC022", "奓山街派出所", "基层站所"): MIXED,
            ("JC023", "蔡甸街派出所", "基层站所"): ["basically_satisfied"] * 8,
            ("JC024", "永安街派出所", "基层站所"): ["satisfied"] * 8,
            ("JG001", "区政务服务中心", "机关科室"): ["very_satisfied"] * 8,
        }
        units = {}
        for i, (code, name, category) in enumerate(plan):
            units[code] = make_unit(session, code=code, name=name, category=category)
            make_list(
                session, unit=units[code], wave=wave, n=20, start=13800000000 + i, actor=office
            )
        staff = make_user(session, username="unit1", role="unit", unit=units["JC022"])
        draws.draw_sample(session=session, wave=wave, seed=9, per_unit=8, actor=None)
        comments = [*COMMENTS[:6], "希望延长办公时间", "建议延长中午的办公时间"]
        for (code, _name, _category), ratings in plan.items():
            for rating, comment in zip(ratings, comments, strict=True):
                _interview(session, agent, units[code], rating, comment)
        publication.close_results(session=session, wave=wave, actor=office)
        publication.publish_results(session=session, wave=wave, actor=office)
    return wave, units["JC022"], office, staff


def test_unit_page_shows_its_score_beside_its_category_and_its_problems(client, session, published):
    """After publication, does the unit see where its score lies among its category's
    (no other unit named), and then the problem list the office issued from its comments?"""
    wave, unit, office, _staff = published
    client.post("/auth/login", data={"username": "unit1", "password": PASSWORD})
    page = client.get("/unit/results").get_data(as_text=True)
    peers = page[page.index('id="peers"') : page.index("</section>", page.index('id="peers"'))]
    assert "本单位得分与同类单位分布（基层站所）" in peers
    assert "本单位得分 <b>5.00</b> 分；同类 3 个单位中，0 个得分低于本单位。" in peers
    assert "最低 5.00，下四分位 5.50，中位数 6.00，上四分位 7.00，最高 8.00" in peers
    assert peers.count("<rect ") == 7 and peers.count('class="mine"') == 1
    for other in ("蔡甸街派出所", "永安街派出所", "区政务服务中心", "JC023", "JC024", "JG001"):
        assert other not in page
    assert 'id="no-problems"' in page

    with transaction(session):
        built = rectification.build_problem_list(
            session=session, wave=wave, unit_code=unit.code, actor=office
        )
    page = client.get("/unit/results").get_data(as_text=True)
    problems = page[
        page.index('id="problem-list"') : page.index("</table>", page.index('id="problem-list"'))
    ]
    assert problems.count("<tr>") == 1 + len(built.problems) == 6
    assert "窗口工作人员态度不好" in problems and "待整改" in problems
    assert 'href="/rectification/mine"' in page
