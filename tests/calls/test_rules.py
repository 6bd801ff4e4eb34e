"""The calling rules, case by case, with exact times (Asia/Shanghai, +08:00)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from survey_service.calls import rules
from survey_service.calls.rules import Attempt, RuleError, Rules

CST = timezone(timedelta(hours=8))
INDIVIDUAL = Rules.from_settings({}, "群众")
ENTERPRISE = Rules.from_settings({}, "企业")
# 2017's 国庆/中秋: October 1-8 off, Saturday September 30 worked.
NATIONAL_DAY = {
    "holidays": [f"2017-10-0{d}" for d in range(1, 9)],
    "workdays": ["2017-09-30"],
}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2017, month, day, hour, minute, tzinfo=CST)


def run(outcomes, case_rules=INDIVIDUAL, now=None):
    attempts = [a if isinstance(a, Attempt) else Attempt(*a) for a in outcomes]
    return rules.plan(attempts, case_rules, now=now or (attempts[0].at if attempts else None))


def test_six_no_answers_of_an_individual_spread_over_the_four_day_parts():
    """Called each time it is due, does a no-answer case visit every day-part once first?"""
    attempts: list[Attempt] = [Attempt(at(6, 5, 19), "3.13")]  # Monday evening
    seen = [(at(6, 5, 19), "weekday_evening")]
    for _ in range(5):
        result = run(attempts)
        seen.append((result.next_at, result.day_part))
        attempts.append(Attempt(result.next_at, "3.13"))
    assert seen == [
        (at(6, 5, 19), "weekday_evening"),
        (at(6, 6, 9), "weekday_morning"),  # Tuesday: 22:00 is past every part
        (at(6, 6, 14), "weekday_afternoon"),  # 12:00 + lunch
        (at(6, 10, 10), "weekend"),  # Saturday: the one part still unused
        (at(6, 10, 13), "weekend"),  # all used once: 3 hours later, still the weekend
        (at(6, 12, 9), "weekday_morning"),  # weekend used twice: Monday morning
    ]
    assert run(attempts) == rules.Plan(
        final="3.13",
        next_at=None,
        day_part=None,
        attempts=6,
        needs_senior=False,
        do_not_call=False,
    )


def test_the_gap_can_end_inside_a_day_part():
    """After an enterprise's 14:00 call (one each in the morning and afternoon), 17:00?"""
    result = run([(at(6, 5, 10), "3.13"), (at(6, 5, 14), "3.12")], ENTERPRISE)
    assert (result.next_at, result.day_part) == (at(6, 5, 17), "weekday_afternoon")


@pytest.mark.parametrize(
    ("kind", "now", "expected", "part"),
    [
        ("群众", at(6, 9, 18), at(6, 9, 18, 30), "weekday_evening"),  # Friday 18:00
        ("企业", at(6, 9, 18), at(6, 12, 9), "weekday_morning"),  # enterprises: Monday
        ("未注明", at(6, 10, 9), at(6, 10, 10), "weekend"),  # Saturday 09:00
        ("群众", at(6, 5, 12), at(6, 5, 14), "weekday_afternoon"),  # end is exclusive
        ("群众", at(6, 5, 20, 30), at(6, 6, 9), "weekday_morning"),
    ],
)
def test_a_new_case_is_due_at_the_next_allowed_moment(kind, now, expected, part):
    """Without attempts, is the case due at ``now`` or the next allowed day-part?"""
    result = rules.plan([], Rules.from_settings({}, kind), now=now)
    assert (result.next_at, result.day_part, result.attempts) == (expected, part, 0)


@pytest.mark.parametrize(
    ("kind", "history", "expected", "part"),
    [
        # Friday 29 September evening: Saturday 30th is a working day (调休).
        ("群众", [(at(9, 29, 19), "3.13")], at(9, 30, 9), "weekday_morning"),
        # After the worked Saturday's evening: October 1-8 off, Monday 9th.
        ("群众", [(at(9, 30, 19), "3.13")], at(10, 9, 9), "weekday_morning"),
        # Only the weekend unused: not the worked 30th, not the holidays, the 14th.
        (
            "群众",
            [(at(9, 28, 10), "3.13"), (at(9, 28, 15), "3.13"), (at(9, 29, 19), "3.13")],
            at(10, 14, 10),
            "weekend",
        ),
        # An enterprise on the worked Saturday afternoon, then on the 9th.
        ("企业", [(at(9, 30, 10), "3.13")], at(9, 30, 14), "weekday_afternoon"),
        (
            "企业",
            [(at(9, 30, 10), "3.13"), (at(9, 30, 15), "3.13")],
            at(10, 9, 9),
            "weekday_morning",
        ),
    ],
)
def test_national_day_2017_calendar(kind, history, expected, part):
    """Are Oct 1-8 skipped and Sep 30 treated as a weekday, as the wave's calendar says?"""
    case_rules = Rules.from_settings(NATIONAL_DAY, kind)
    result = run(history, case_rules)
    assert (result.next_at, result.day_part) == (expected, part)


def test_a_new_case_on_a_holiday_waits_for_the_first_working_day():
    """On 1 October 2017 with the holiday calendar, is an enterprise due on the 9th at 09:00?"""
    result = rules.plan([], Rules.from_settings(NATIONAL_DAY, "企业"), now=at(10, 1, 10))
    assert (result.next_at, result.day_part) == (at(10, 9, 9), "weekday_morning")
    assert not Rules.from_settings(NATIONAL_DAY, "群众").allowed_at(at(10, 7, 11))
    assert Rules.from_settings({}, "群众").allowed_at(at(10, 7, 11))  # a plain Saturday


@pytest.mark.parametrize(
    ("outcomes", "final"),
    [
        (["3.13"] * 6, "3.13"),  # never eligible: the limit attempt's own outcome
        (["2.22"] + ["3.13"] * 5, "2.22"),  # eligible once: its last eligible outcome
        (["2.22", "2.21", "3.13", "3.12", "3.14", "3.90"], "2.21"),
        (["3.13"] * 5 + ["2.22"], "2.22"),
    ],
)
def test_the_attempt_limit_makes_the_case_final(outcomes, final):
    """At the 6th attempt, is the case final with the right code?"""
    history = [(at(6, 5, 9) + timedelta(days=k), code) for k, code in enumerate(outcomes)]
    result = run(history)
    assert (result.final, result.next_at, result.attempts) == (final, None, 6)
    assert run(history[:5]).final is None


def test_the_limit_is_a_wave_setting():
    """With max_attempts 2, is the second no-answer final?"""
    case_rules = Rules.from_settings({"max_attempts": 2}, "群众")
    assert run([(at(6, 5, 9), "3.13"), (at(6, 5, 14), "3.13")], case_rules).final == "3.13"


@pytest.mark.parametrize("code", sorted(rules.FINAL_AT_ONCE))
def test_final_at_once(code):
    """Does each of 1.1, 1.2, 2.12, 2.32, 2.33, 4.20, 4.31, 4.32, 4.41, 4.70 end the case?"""
    result = run([(at(6, 5, 19), code)])
    assert result == rules.Plan(code, None, None, 1, False, False)


@pytest.mark.parametrize("refusal", ["hard", None])
def test_a_hard_refusal_is_final_and_goes_on_the_do_not_call_list(refusal):
    """Is a hard (or unspecified) refusal final, with the do-not-call flag?"""
    result = run([Attempt(at(6, 5, 19), "2.11", refusal)])
    assert result == rules.Plan("2.11", None, None, 1, False, True)


def test_a_soft_refusal_waits_a_week_for_a_senior_agent():
    """Is a soft refusal redialled 7 days later, in a fresh day-part, by a senior agent?"""
    result = run([Attempt(at(6, 5, 19), "2.11", "soft")])  # Monday evening
    assert result == rules.Plan(None, at(6, 13, 9), "weekday_morning", 1, True, False)
    # The conversion attempt finds nobody: still the senior's, normal gap.
    after = run([Attempt(at(6, 5, 19), "2.11", "soft"), Attempt(at(6, 13, 9), "3.13")])
    assert (after.next_at, after.day_part, after.needs_senior) == (
        at(6, 13, 14),
        "weekday_afternoon",
        True,
    )


@pytest.mark.parametrize(("second", "do_not_call"), [("soft", False), ("hard", True)])
def test_a_second_refusal_is_final(second, do_not_call):
    """Is a second refusal of either kind final (on the list only when hard)?"""
    history = [Attempt(at(6, 5, 19), "2.11", "soft"), Attempt(at(6, 13, 9), "2.11", second)]
    assert run(history) == rules.Plan("2.11", None, None, 2, False, do_not_call)


def test_soft_refusal_wait_is_a_wave_setting():
    """With soft_refusal_wait_days 2, is the conversion call two days on?"""
    case_rules = Rules.from_settings({"soft_refusal_wait_days": 2}, "群众")
    result = run([Attempt(at(6, 5, 19), "2.11", "soft")], case_rules)
    assert (result.next_at, result.day_part) == (at(6, 8, 9), "weekday_morning")


def test_an_appointment_books_the_next_attempt_at_its_time():
    """Is a 2.21 with a time due exactly then, and a 2.21 without one redialled as usual?"""
    booked = run([Attempt(at(6, 5, 19), "2.21", appointment_at=at(6, 7, 15, 20))])
    assert booked == rules.Plan(None, at(6, 7, 15, 20), "weekday_afternoon", 1, False, False)
    plain = run([Attempt(at(6, 5, 19), "2.21")])
    assert (plain.next_at, plain.day_part) == (at(6, 6, 9), "weekday_morning")


@pytest.mark.parametrize(
    ("kind", "when"),
    [("群众", at(6, 7, 13)), ("企业", at(6, 7, 19)), ("群众", at(6, 7, 17, 30))],
)
def test_an_appointment_outside_the_windows_is_refused(kind, when):
    """Is a booking at lunch, or an enterprise's evening, refused naming the attempt?"""
    history = [Attempt(at(6, 5, 10), "3.13"), Attempt(at(6, 5, 15), "2.21", appointment_at=when)]
    with pytest.raises(RuleError) as info:
        run(history, Rules.from_settings({}, kind))
    assert info.value.attempt == 2
    assert str(info.value) == "第 2 次拨打：预约时间不在允许的拨打时段内"


def test_per_kind_overrides_and_own_day_parts():
    """Can a wave narrow enterprises to mornings and move the evening to 19:00-21:00?"""
    settings = {
        "day_parts": {
            "weekday_morning": {"start": "09:00", "end": "12:00", "days": "working"},
            "weekday_evening": {"start": "19:00", "end": "21:00", "days": "working"},
        },
        "per_kind": {"企业": {"allowed_day_parts": ["weekday_morning"]}},
    }
    individual = Rules.from_settings(settings, "群众")
    assert individual.allowed == ("weekday_morning", "weekday_evening")
    assert rules.plan([], individual, now=at(6, 5, 18)).next_at == at(6, 5, 19)
    enterprise = Rules.from_settings(settings, "企业")
    assert run([(at(6, 5, 9), "3.13")], enterprise).next_at == at(6, 6, 9)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_attempt": 3}, "未知的拨打规则设置：max_attempt"),
        ({"timezone": "Mars/Olympus"}, "未知的时区：'Mars/Olympus'"),
        ({"allowed_day_parts": ["night"]}, "允许的时段无效：['night']"),
        ({"holidays": ["2017-10-32"]}, "holidays 应为 YYYY-MM-DD 日期列表：['2017-10-32']"),
    ],
)
def test_unusable_settings_are_refused(settings, message):
    with pytest.raises(RuleError) as info:
        Rules.from_settings(settings, "群众")
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([("3.13",), ("9.99",)], "第 2 次拨打：未知的结果代码 '9.99'"),
        ([("1.1",), ("3.13",)], "第 2 次拨打：该样本在此前已有最终结果 1.1，不能再拨打"),
        ([("3.13", "soft")], "第 1 次拨打：只有拒访（2.11）可以注明软拒或硬拒"),
    ],
)
def test_bad_histories_name_the_attempt(history, message):
    attempts = [
        Attempt(at(6, 5, 9) + timedelta(days=k), h[0], *h[1:]) for k, h in enumerate(history)
    ]
    with pytest.raises(RuleError) as info:
        run(attempts)
    assert str(info.value) == message


def test_a_time_without_offset_is_refused():
    with pytest.raises(RuleError) as info:
        rules.plan([Attempt(datetime(2017, 6, 5, 9), "3.13")], INDIVIDUAL, now=at(6, 5, 9))
    assert (info.value.attempt, info.value.message) == (1, "时间缺少时区偏移（如 +08:00）")
