"""Provider limits as a pure function: exact cases at the edges of every window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from survey_service.calls.telephony.limits import (
    Due,
    Limits,
    Plan,
    RecentCall,
    concurrent_limit,
    plan,
)

NOW = datetime(2017, 11, 1, 11, 0, tzinfo=UTC)
WIDE = Limits(concurrent=100, per_second=100)


def ago(**kwargs) -> datetime:
    return NOW - timedelta(**kwargs)


def ended(callee, **kwargs) -> RecentCall:
    started = ago(**kwargs)
    return RecentCall(callee, started, started + timedelta(seconds=5))


def test_nothing_recent_dials_all_up_to_the_budget():
    due = [Due(1, "a"), Due(2, "b"), Due(3, "c")]
    assert plan(due, [], now=NOW, limits=WIDE) == Plan(dial=due)
    assert plan(due, [], now=NOW, limits=Limits(concurrent=3, per_second=2)).dial == due[:2]


def test_one_call_a_minute_sliding():
    """A call 59 s ago blocks until it is 60 s old; a call exactly 60 s ago does not."""
    result = plan([Due(1, "a")], [ended("a", seconds=59)], now=NOW, limits=WIDE)
    assert result == Plan(dial=[], deferred={1: NOW + timedelta(seconds=1)})
    result = plan([Due(1, "a")], [ended("a", seconds=60)], now=NOW, limits=WIDE)
    assert result == Plan(dial=[Due(1, "a")])


def test_five_an_hour_failed_calls_count():
    recent = [ended("a", minutes=m) for m in (5, 15, 25, 35, 45)]
    result = plan([Due(1, "a")], recent, now=NOW, limits=WIDE)
    assert result.dial == []
    assert result.deferred == {1: ago(minutes=45) + timedelta(hours=1)}
    four = recent[:4]
    assert plan([Due(1, "a")], four, now=NOW, limits=WIDE).dial == [Due(1, "a")]


def test_twenty_a_day():
    recent = [ended("a", hours=h) for h in range(2, 22)]  # 20 calls, none in the last hour
    result = plan([Due(1, "a")], recent, now=NOW, limits=WIDE)
    assert result.deferred == {1: ago(hours=21) + timedelta(days=1)}
    assert plan([Due(1, "a")], recent[:19], now=NOW, limits=WIDE).dial == [Due(1, "a")]


def test_the_latest_of_several_limits_wins():
    recent = [ended("a", seconds=30)] + [ended("a", minutes=m) for m in (10, 20, 30, 40)]
    result = plan([Due(1, "a")], recent, now=NOW, limits=WIDE)
    assert result.deferred == {1: ago(minutes=40) + timedelta(hours=1)}


def test_two_cases_for_one_number_in_one_round():
    """The second case of the same callee waits the minute the first call starts."""
    result = plan([Due(1, "a"), Due(2, "a"), Due(3, "b")], [], now=NOW, limits=WIDE)
    assert result == Plan(dial=[Due(1, "a"), Due(3, "b")], deferred={2: NOW + timedelta(minutes=1)})


def test_simultaneous_calls_and_rate():
    """Calls in progress take lines; calls started this second use up the rate."""
    busy = [RecentCall(f"x{i}", ago(minutes=2)) for i in range(2)]  # 2 in progress
    due = [Due(1, "a"), Due(2, "b"), Due(3, "c")]
    assert plan(due, busy, now=NOW, limits=Limits(concurrent=3, per_second=5)).dial == due[:1]
    full = [*busy, RecentCall("x9", ago(minutes=1))]
    assert plan(due, full, now=NOW, limits=Limits(concurrent=3, per_second=5)) == Plan()
    this_second = [ended("y", milliseconds=500)]
    assert plan(due, this_second, now=NOW, limits=Limits(concurrent=15, per_second=1)) == Plan()
    last_second = [ended("y", seconds=1)]
    assert plan(due, last_second, now=NOW, limits=Limits(concurrent=15, per_second=1)).dial == [
        Due(1, "a")
    ]


def test_held_for_lines_stays_due_but_callee_block_is_deferred():
    recent = [RecentCall("z", ago(seconds=10))]  # in progress: the one line is busy
    result = plan([Due(1, "a"), Due(2, "z")], recent, now=NOW, limits=Limits(concurrent=1))
    assert result == Plan(dial=[], deferred={2: ago(seconds=10) + timedelta(minutes=1)})


def test_caller_number_kind():
    assert concurrent_limit("13912345678", mobile=3, landline=15) == 3
    assert concurrent_limit("+8613912345678", mobile=3, landline=15) == 3
    assert concurrent_limit("02787650000", mobile=3, landline=15) == 15
    assert concurrent_limit("+862787650000", mobile=3, landline=15) == 15
