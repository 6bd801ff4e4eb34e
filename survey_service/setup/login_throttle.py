"""Log-in throttling: failed log-ins slow an account or an address down, then lock it.

Counters live in the database (``login_throttle``) so that every web node
sees the same ones. Each failure counts for ``lock_minutes`` after the last
one. From half of the limit on, a retry must wait a delay that doubles with
every failure; at the limit the account (or address) is locked for
``lock_minutes``. Refused attempts are not checked and not counted, so a lock
ends on time. Unknown usernames are counted like real ones: the answers never
tell whether an account exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from survey_service import audit
from survey_service.models import LoginThrottle, User

MAX_DELAY_SECONDS = 60


@dataclass(frozen=True)
class Limits:
    max_failures: int = 5
    max_failures_per_address: int = 30
    lock_minutes: int = 15

    @classmethod
    def from_config(cls, config) -> Limits:
        return cls(
            max_failures=int(config["LOGIN_MAX_FAILURES"]),
            max_failures_per_address=int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
            lock_minutes=int(config["LOGIN_LOCK_MINUTES"]),
        )


@dataclass(frozen=True)
class Refusal:
    """Why a log-in attempt is refused before its password is checked."""

    locked: bool
    seconds: int
    message: str


def account_key(username: str) -> str:
    return "user:" + username.strip().lower()[:64]


def address_key(address: str | None) -> str:
    return "addr:" + (address or "unknown")[:64]


def refusal(
    session: Session, *, username: str, address: str | None, limits: Limits, now: datetime
) -> Refusal | None:
    """Return why this attempt must wait or is locked out, or None to let it in."""
    checks = (
        (account_key(username), limits.max_failures, "该账号"),
        (address_key(address), limits.max_failures_per_address, "本机地址"),
    )
    lock = timedelta(minutes=limits.lock_minutes)
    for key, limit, who in checks:
        row = session.get(LoginThrottle, key)
        if row is None or row.last_failure_at + lock <= now:
            continue
        if row.failures >= limit:
            seconds = _ceil_seconds(row.last_failure_at + lock - now)
            minutes = max(1, -(-seconds // 60))
            return Refusal(
                True,
                seconds,
                f"{who}登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。",
            )
        delay = _delay(row.failures, limit)
        if delay and now < row.last_failure_at + delay:
            seconds = _ceil_seconds(row.last_failure_at + delay - now)
            return Refusal(False, seconds, f"登录尝试过于频繁，请 {seconds} 秒后再试。")
    return None


def record_failure(
    session: Session,
    *,
    username: str,
    address: str | None,
    limits: Limits,
    now: datetime,
) -> None:
    """Count a failed log-in for the account and the address (audited; locks are audited)."""
    name = username.strip().lower()
    user = session.exec(select(User).where(func.lower(User.username) == name)).first()
    audit.record(
        session,
        user=None,
        action="auth.login_failed",
        object_type="user",
        object_id=user.id if user else None,
        username=username.strip()[:64],
        address=address,
    )
    for key, limit in (
        (account_key(username), limits.max_failures),
        (address_key(address), limits.max_failures_per_address),
    ):
        failures = _count(session, key, now - timedelta(minutes=limits.lock_minutes), now)
        if failures == limit:
            audit.record(
                session,
                user=None,
                action="auth.locked",
                object_type="user",
                object_id=user.id if user and key.startswith("user:") else None,
                key=key,
                failures=failures,
                minutes=limits.lock_minutes,
            )


def record_success(session: Session, *, username: str) -> None:
    """Forget the account's failures after a good log-in (the address keeps its count)."""
    session.exec(delete(LoginThrottle).where(LoginThrottle.key == account_key(username)))


def _count(session: Session, key: str, window_start: datetime, now: datetime) -> int:
    """Add one failure to ``key`` atomically (an upsert) and return the new count."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = LoginThrottle.__table__
    statement = insert(table).values(key=key, failures=1, last_failure_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case(
                (table.c.last_failure_at <= window_start, 1), else_=table.c.failures + 1
            ),
            "last_failure_at": statement.excluded.last_failure_at,
        },
    ).returning(table.c.failures)
    return int(session.execute(statement).scalar_one())


def _delay(failures: int, limit: int) -> timedelta | None:
    """The wait before the next attempt: none below half the limit, then doubling."""
    slow_from = max(1, limit // 2)
    if failures < slow_from:
        return None
    return timedelta(seconds=min(2 ** (failures - slow_from + 1), MAX_DELAY_SECONDS))


def _ceil_seconds(delta: timedelta) -> int:
    return max(1, int(-(-delta.total_seconds() // 1)))
