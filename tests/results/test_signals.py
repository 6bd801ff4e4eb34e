"""Signs of gaming per unit on a constructed wave: exact counts, references, p values, flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import binom
from sqlmodel import select

from survey_service import dispositions as aapor
from survey_service.calls import attempts as calling
from survey_service.calls import interviews
from survey_service.db import transaction
from survey_service.lists.review import list_signals
from survey_service.models import (
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    ClientList,
    StaffNumber,
    Unit,
)
from survey_service.results import signal_views, signals
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave

GOOD = "工作人员服务热情，办事效率很高"  # the 标准答案 comment (13 letters once normalised)
T0 = datetime(2017, 6, 1, 2, 0, tzinfo=UTC)

# Per unit: category, list start and the outcome of each of its 8 cases, in draw order.
# ("C", overall level, comment, seconds) complete; "S" screened out; "N" non-working; "R" refusal.
C200 = ("C", "satisfied", None, 200)
PLAN = {
    "P1": (
        "基层站所",
        13800000000,
        [("C", "very_satisfied", GOOD, 200)] * 5
        + [("C", "very_satisfied", " 工作人员服务热情, 办事效率很高！", 210)]
        + [
            ("C", "very_satisfied", "没有", 190),
            ("C", "very_satisfied", "窗口太少，排队时间长", 220),
        ],
    ),
    "P2": (
        "基层站所",
        13800000100,
        [("C", "very_satisfied", None, 200)] * 2
        + [C200] * 3
        + [("C", "basically_satisfied", "希望延长办公时间", 180), "R", "N"],
    ),
    "P3": (
        "基层站所",
        13800000200,
        [("C", "satisfied", "大厅的空调不太好用", 200)] + [C200] * 2 + ["S"] * 5,
    ),
    "P4": (
        "基层站所",
        13800000300,
        [("C", "satisfied", "停车位不够用", 40)]
        + [("C", "satisfied", None, 40)] * 5
        + [("C", "very_satisfied", None, 45), "N"],
    ),
    "P5": (
        "基层站所",
        13800000400,
        [
            ("C", "satisfied", "网上预约系统常常打不开", 200),
            ("C", "very_satisfied", None, 200),
            C200,
        ]
        + ["N"] * 5,
    ),
    "K1": ("机关科室", 13800000500, [C200] * 6 + [("C", "dissatisfied", None, 230), "R"]),
    "K2": ("机关科室", 13800000600, [C200] * 4 + [("C", "very_satisfied", None, 200)] * 3 + ["S"]),
}


def _run(session, agent, case, plan, i):
    case.status = CaseStatus.IN_PROGRESS
    case.claimed_by = agent.id
    session.add(case)
    session.flush()
    attempt = calling.start_attempt(session, case, agent=agent)
    if plan == "R":
        calling.record_outcome(session, case, attempt, aapor.REFUSAL, actor=agent, refusal="hard")
    elif plan == "N":
        calling.record_outcome(session, case, attempt, aapor.NON_WORKING, actor=agent)
    elif plan == "S":
        interviews.answer(session, case, attempt, "screening", "not_dealt", actor=agent)
    else:
        _, level, comment, seconds = plan
        for item_id, value in (
            ("screening", "dealt"),
            ("service_quality", level),
            ("overall", level),
            ("comment", comment or "_skipped"),
        ):
            interviews.answer(session, case, attempt, item_id, value, actor=agent)
        attempt = session.get(CallAttempt, attempt.id)
        attempt.started_at = T0 + timedelta(minutes=10 * i)
        attempt.ended_at = attempt.started_at + timedelta(seconds=seconds)
        session.add(attempt)
    session.flush()


def build_signals_wave(session):
    """Seven units of two categories, 20 clients each, 8 cases each, outcomes per PLAN.

    P1 and P2 share 3 numbers (P2's list starts 17 numbers into P1's); after the draw two
    of P3's numbers are registered as another unit's staff numbers.
    """
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        agent = make_user(session, username="signals_agent", role="agent")
        wave = make_wave(session)
        for code, (category, start, _) in PLAN.items():
            unit = make_unit(session, code=code, name=f"单位{code}", category=category)
            start = 13800000000 + 17 * 7 if code == "P2" else start
            make_list(session, unit=unit, wave=wave, n=20, start=start, actor=reviewer)
        draws.draw_sample(session=session, wave=wave, seed=11, per_unit=8, actor=None)
        i = 0
        for code, (_, _, plan) in PLAN.items():
            unit = session.exec(select(Unit).where(Unit.code == code)).one()
            cases = session.exec(
                select(Case).where(Case.unit_id == unit.id).order_by(Case.stratum, Case.order_rank)
            ).all()
            assert len(cases) == 8 and all(c.released for c in cases)
            for case, step in zip(cases, plan, strict=True):
                _run(session, agent, case, step, i)
                i += 1
        p3, p5 = (session.exec(select(Unit).where(Unit.code == c)).one() for c in ("P3", "P5"))
        p3_list = session.exec(select(ClientList).where(ClientList.unit_id == p3.id)).one()
        hashes = session.exec(
            select(Client.phone_hash).where(Client.list_id == p3_list.id).order_by(Client.id)
        ).all()[:2]
        for h in hashes:
            session.add(StaffNumber(unit_id=p5.id, wave_id=wave.id, phone_hash=h))
        session.flush()
    return wave


@pytest.fixture
def signals_wave(session):
    return build_signals_wave(session)


def _holm(p: dict[str, float]) -> dict[str, float]:
    """Holm's step-down adjustment, written out (independent of sampling.gaming)."""
    order = sorted(p, key=lambda k: p[k])
    m, running, out = len(order), 0.0, {}
    for j, key in enumerate(order):
        running = max(running, min(1.0, (m - j) * p[key]))
        out[key] = running
    return out


COUNTS = {  # signal -> unit -> (events, total), from PLAN by hand
    "top_box": {
        "P1": (8, 8),
        "P2": (2, 6),
        "P3": (0, 3),
        "P4": (1, 7),
        "P5": (1, 3),
        "K1": (0, 7),
        "K2": (3, 7),
    },
    "screened_out": {
        "P1": (0, 8),
        "P2": (0, 6),
        "P3": (5, 8),
        "P4": (0, 7),
        "P5": (0, 3),
        "K1": (0, 7),
        "K2": (1, 8),
    },
    "bad_numbers": {
        "P1": (0, 8),
        "P2": (1, 8),
        "P3": (0, 8),
        "P4": (1, 8),
        "P5": (5, 8),
        "K1": (0, 8),
        "K2": (0, 8),
    },
    "shared_numbers": {
        "P1": (3, 20),
        "P2": (3, 20),
        "P3": (0, 20),
        "P4": (0, 20),
        "P5": (0, 20),
        "K1": (0, 20),
        "K2": (0, 20),
    },
    "staff_numbers": {
        "P1": (0, 20),
        "P2": (0, 20),
        "P3": (2, 20),
        "P4": (0, 20),
        "P5": (0, 20),
        "K1": (0, 20),
        "K2": (0, 20),
    },
    # P1: five GOOD plus the sixth with other spaces and punctuation; "没有" is too short
    "same_comments": {
        "P1": (6, 7),
        "P2": (0, 1),
        "P3": (0, 1),
        "P4": (0, 1),
        "P5": (0, 1),
        "K1": (0, 0),
        "K2": (0, 0),
    },
    # the wave's median complete is 200 s: under 66.7 s is short (P4's seven)
    "short_interviews": {
        "P1": (0, 8),
        "P2": (0, 6),
        "P3": (0, 3),
        "P4": (7, 7),
        "P5": (0, 3),
        "K1": (0, 7),
        "K2": (0, 7),
    },
}
CATEGORY = {code: spec[0] for code, spec in PLAN.items()}


def _expected(counts: dict[str, tuple[int, int]]):
    ref, p = {}, {}
    for code, (x, n) in counts.items():
        others = [v for c, v in counts.items() if c != code and CATEGORY[c] == CATEGORY[code]]
        rest_n = sum(v[1] for v in others)
        ref[code] = sum(v[0] for v in others) / rest_n if rest_n else float("nan")
        if n > 0 and rest_n > 0:
            p[code] = float(binom.sf(x - 1, n, ref[code]))
    return ref, _holm(p)


def test_every_signal_counts_references_and_holm_p_values(session, signals_wave):
    """Are the counts exact, the references the category's others, the p values Holm's?"""
    rows = {r.code: r for r in signals.unit_signals(session, signals_wave)}
    assert list(rows) == ["K1", "K2", "P1", "P2", "P3", "P4", "P5"]
    for key, counts in COUNTS.items():
        got = {code: (r.signal(key).events, r.signal(key).total) for code, r in rows.items()}
        assert got == counts, key
        ref, adjusted = _expected(counts)
        for code, r in rows.items():
            s = r.signal(key)
            assert s.reference == pytest.approx(ref[code], abs=1e-12, nan_ok=True), (key, code)
            counted = sum(1 for c, v in counts.items() if CATEGORY[c] == CATEGORY[code] and v[1])
            if code in adjusted:
                assert s.p_adjusted == pytest.approx(adjusted[code], rel=1e-12), (key, code)
                assert s.flagged == (adjusted[code] < 0.05 and counted >= 5), (key, code)
            else:
                assert not s.flagged
    flagged = {code: [s.key for s in r.flagged] for code, r in rows.items() if r.flagged}
    assert flagged == {
        "P1": ["top_box", "same_comments"],
        "P3": ["screened_out", "staff_numbers"],
        "P4": ["short_interviews"],
        "P5": ["bad_numbers"],
    }
    # P1's top box by hand: 8 of 8 against (2+0+1+1)/(6+3+7+3) of the other stations
    assert rows["P1"].signal("top_box").reference == pytest.approx(4 / 19, abs=1e-15)
    # P1 and P2 share three numbers: 3/20 against 3/80 of the other stations is not
    # surprising at the family-wise 5%
    assert not rows["P1"].signal("shared_numbers").flagged
    # K2's 3/7 top box against K1's 0/7 would be "certain" (reference 0), but two units are
    # no reference distribution: tested, not flagged
    assert rows["K2"].signal("top_box").p_adjusted == 0.0
    assert not rows["K2"].signal("top_box").flagged


def test_median_length_robust_z_flags_the_hurried_unit(session, signals_wave):
    """Is the median length a robust z within the category, flagged at -3.5 only with 5 units?"""
    rows = {r.code: r for r in signals.unit_signals(session, signals_wave)}
    medians = {c: r.median_seconds for c, r in rows.items()}
    assert medians == {
        "P1": 200.0,
        "P2": 200.0,
        "P3": 200.0,
        "P4": 40.0,
        "P5": 200.0,
        "K1": 200.0,
        "K2": 200.0,
    }
    # stations: median 200, MAD 0 -> P4 at -inf, the others 0; 5 stations have a length
    assert rows["P4"].length_z == float("-inf") and rows["P4"].length_flagged
    assert [rows[c].length_z for c in ("P1", "P2", "P3", "P5")] == [0.0] * 4
    # two 机关科室 units: below MIN_REFERENCE_UNITS, never flagged
    assert not rows["K1"].length_flagged and not rows["K2"].length_flagged


def test_number_overlaps_agree_with_the_review_page(session, signals_wave):
    """Are the bulk shared/staff counts the review page's own, list by list?"""
    lists = session.exec(select(ClientList).order_by(ClientList.id)).all()
    bulk = signals.number_overlaps(session, signals_wave.id, [cl.id for cl in lists])
    one_by_one = {
        cl.id: (list_signals(session, cl).shared_numbers, list_signals(session, cl).staff_numbers)
        for cl in lists
    }
    assert bulk == one_by_one
    assert sorted(bulk.values()) == [(0, 0)] * 4 + [(0, 2), (3, 0), (3, 0)]


def test_signals_table_for_the_export(session, signals_wave):
    """Does the export table carry every signal's counts and flag, one row per unit?"""
    header, table = signal_views.signals_table(signals.unit_signals(session, signals_wave))
    assert header[:5] == [
        "单位代码",
        "单位名称",
        "类别",
        "总体评价“非常满意”(计数/分母)",
        "总体评价“非常满意”异常",
    ]
    by_code = {row[0]: dict(zip(header, row, strict=True)) for row in table}
    assert by_code["P1"]["总体评价“非常满意”(计数/分母)"] == "8/8"
    assert by_code["P1"]["总体评价“非常满意”异常"] == "是"
    assert by_code["P4"]["访问时长中位数(秒)"] == 40.0
    assert by_code["P4"]["时长稳健z值"] == "-inf" and by_code["P4"]["时长异常"] == "是"
    assert by_code["K1"]["时长稳健z值"] == 0.0 and by_code["K1"]["时长异常"] == ""


def test_closing_freezes_the_signals_with_the_figures(session, signals_wave):
    """Once the wave is closed, do the signals come from the snapshot, so that a purge of the
    staff numbers (retention) does not turn P3's 2/20 into 0/20?"""
    from survey_service.models import User
    from survey_service.results import publication

    live = [signal_views.to_json(r) for r in signals.unit_signals(session, signals_wave)]
    with transaction(session):
        reviewer = session.exec(select(User).where(User.username == "reviewer")).one()
        publication.close_results(session=session, wave=signals_wave, actor=reviewer)
    with transaction(session):
        for staff in session.exec(select(StaffNumber)).all():
            session.delete(staff)
    assert signals.unit_signals(session, signals_wave)[4].signal("staff_numbers").events == 0
    frozen = signal_views.wave_signals(session, signals_wave)
    assert [signal_views.to_json(r) for r in frozen] == live
    p3 = next(r for r in frozen if r.code == "P3")
    assert (p3.name, p3.category) == ("单位P3", "基层站所")
    assert (p3.signal("staff_numbers").events, p3.signal("staff_numbers").flagged) == (2, True)
    p4 = next(r for r in frozen if r.code == "P4")
    assert p4.length_z == float("-inf") and p4.length_flagged


def test_the_cache_recomputes_when_a_staff_number_arrives(session, signals_wave):
    """Does the results cache hand back the same signals until the staff numbers change?"""
    from survey_service.results.cache import ResultsCache

    cache = ResultsCache()
    first = cache.wave_signals(session, signals_wave)
    assert cache.wave_signals(session, signals_wave) is first
    with transaction(session):
        p1 = session.exec(select(Unit).where(Unit.code == "P1")).one()
        p1_list = session.exec(select(ClientList).where(ClientList.unit_id == p1.id)).one()
        h = session.exec(select(Client.phone_hash).where(Client.list_id == p1_list.id)).first()
        session.add(StaffNumber(unit_id=p1.id, wave_id=signals_wave.id, phone_hash=h))
    again = cache.wave_signals(session, signals_wave)
    assert again is not first
    assert next(r for r in again if r.code == "P1").signal("staff_numbers").events == 1
