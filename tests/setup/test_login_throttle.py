"""Log-in throttling: counters per account and per address, delays, locks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import AuditEvent, LoginThrottle
from survey_service.setup.login_throttle import (
    Limits,
    record_failure,
    record_success,
    refusal,
)
from tests.factories import make_user

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LIMITS = Limits(max_failures=5, max_failures_per_address=8, lock_minutes=15)


def _fail(session, username, address, at):
    with transaction(session):
        record_failure(session, username=username, address=address, limits=LIMITS, now=at)


def _refusal(session, username, address, at):
    return refusal(session, username=username, address=address, limits=LIMITS, now=at)


def test_an_account_slows_down_then_locks_then_unlocks(session):
    """Do 2..4 failures ask for 2, 4, 8 s, the 5th lock for 15 min (audited), and then free?"""
    with transaction(session):
        user = make_user(session, username="li", role="agent")
    at = T0
    _fail(session, "li", "10.0.0.1", at)
    assert _refusal(session, "li", "10.0.0.1", at) is None
    waits = []
    for _ in range(3):
        _fail(session, "li", "10.0.0.1", at)
        waits.append(_refusal(session, "li", "10.0.0.1", at).seconds)
        at += timedelta(seconds=waits[-1])
        assert _refusal(session, "li", "10.0.0.1", at) is None
    assert waits == [2, 4, 8]
    _fail(session, "Li ", "10.0.0.2", at)  # usernames compare case-insensitively
    locked = _refusal(session, "li", "10.0.0.3", at + timedelta(minutes=14))
    assert locked.locked and locked.seconds == 60
    assert locked.message == "该账号登录失败次数过多，已暂时锁定，请 1 分钟后再试。"
    assert _refusal(session, "li", "10.0.0.3", at + timedelta(minutes=15)) is None
    # an untouched account from the same address is let in
    assert _refusal(session, "wang", "10.0.0.1", at) is None
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.locked")).all()
    assert [(e.object_id, e.detail["key"], e.detail["failures"]) for e in events] == [
        (str(user.id), "user:li", 5)
    ]
    failed = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
    assert len(failed.all()) == 5


def test_failures_older_than_the_lock_period_are_forgotten(session):
    """Does a failure after a quiet lock period count from one again?"""
    for minute in range(4):
        _fail(session, "li", "10.0.0.1", T0 + timedelta(minutes=minute))
    _fail(session, "li", "10.0.0.1", T0 + timedelta(minutes=3 + 15))
    row = session.get(LoginThrottle, "user:li")
    session.refresh(row)
    assert row.failures == 1


def test_one_address_trying_many_accounts_is_locked(session):
    """Do failures spread over many names lock the address, and only that address?"""
    for i in range(8):
        _fail(session, f"user{i}", "10.0.0.9", T0 + timedelta(minutes=1))
    locked = _refusal(session, "someone", "10.0.0.9", T0 + timedelta(minutes=2))
    assert locked.locked
    assert locked.message == "本机地址登录失败次数过多，已暂时锁定，请 14 分钟后再试。"
    assert _refusal(session, "someone", "10.0.0.10", T0 + timedelta(minutes=2)) is None


def test_a_good_log_in_clears_the_account_but_not_the_address(session):
    for _ in range(3):
        _fail(session, "li", "10.0.0.1", T0)
    with transaction(session):
        record_success(session, username="li")
    assert session.get(LoginThrottle, "user:li") is None
    assert session.get(LoginThrottle, "addr:10.0.0.1").failures == 3
