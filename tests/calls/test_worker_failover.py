"""Two workers on one PostgreSQL: one dials; kill it, the other takes over; no call twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, text
from sqlmodel import Session, select

from survey_service import migrations as migrations_module
from survey_service.db import make_engine
from survey_service.models import CallAttempt, Case
from tests.calls.conftest import make_sample
from tests.conftest import DATA_KEY, PG_ADMIN_URL, PG_OK, make_test_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_OK, reason="needs PostgreSQL"),
]
ROOT = Path(__file__).resolve().parents[2]
CASES = 20
#: the dialling tick: one call a second for two seconds of each (see scheduler.dial_ivr:
#: the tick keeps a second for itself), so a standby takes over within three seconds
TICK_SECONDS = 3


@pytest.fixture
def throwaway_db():
    name = f"survey_failover_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    migrations_module.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _start_worker(url: str, instance: Path, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "SURVEY_DATA_KEY": DATA_KEY,
        "SURVEY_INSTANCE_PATH": str(instance),
        "TELEPHONY_PROVIDER": "simulated",
        "PUBLIC_BASE_URL": "http://127.0.0.1:5106",
        "DIAL_INTERVAL_SECONDS": str(TICK_SECONDS),
        "DIAL_CALLS_PER_SECOND": "1",  # one claimed call at most is lost with the worker
        "DIAL_CONCURRENT_LANDLINE": "1000",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _lock_holder(engine) -> int | None:
    """The pid of the worker holding the dialler lock (its connection's application_name)."""
    with engine.connect() as conn:
        name = conn.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).scalar()
    return int(name.rsplit("-", 1)[1]) if name else None


def _attempts(engine) -> list[CallAttempt]:
    with Session(engine) as session:
        return session.exec(select(CallAttempt)).all()


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_the_active_worker(throwaway_db, tmp_path):
    app = make_test_app(throwaway_db, tmp_path / "seed")
    with app.app_context():
        from survey_service.calls.settings import ROUND_THE_CLOCK
        from survey_service.db import get_session

        # The workers dial on the wall clock: let the wave call at any hour.
        make_sample(get_session(), per_unit=CASES, n=CASES + 6, calling=ROUND_THE_CLOCK)
    app.extensions["engine"].dispose()
    engine = make_engine(throwaway_db)
    logs = [(tmp_path / f"w{i}.log").open("w") for i in range(2)]
    workers = [_start_worker(throwaway_db, tmp_path / f"w{i}", logs[i]) for i in range(2)]
    try:
        active_pid = _wait(lambda: _lock_holder(engine), 90, "a worker to take the lock")
        active = next(w for w in workers if w.pid == active_pid)
        standby = next(w for w in workers if w.pid != active_pid)
        _wait(lambda: len(_attempts(engine)) >= 2, 60, "the first calls")
        os.killpg(active.pid, signal.SIGKILL)
        active.wait(10)
        killed_at = time.monotonic()
        before = len(_attempts(engine))
        taken_over = _wait(lambda: _lock_holder(engine), 60, "the standby to take over")
        assert taken_over == standby.pid
        assert time.monotonic() - killed_at < 60
        _wait(lambda: len(_attempts(engine)) >= CASES - 1, 90, "the rest of the calls")
        time.sleep(TICK_SECONDS)  # a double call would show up within a tick
        attempts = _attempts(engine)
        with Session(engine) as session:
            per_case = session.exec(
                select(CallAttempt.case_id, func.count(CallAttempt.id)).group_by(
                    CallAttempt.case_id
                )
            ).all()
            cases = session.exec(select(func.count(Case.id))).one()
        assert cases == CASES
        assert max(count for _case, count in per_case) == 1  # no case dialled twice
        placed = [a for a in attempts if a.provider_call_id]
        assert len({a.provider_call_id for a in placed}) == len(placed)
        # At most the one call the killed worker had claimed but not yet placed is missing.
        assert CASES - 1 <= len(placed) <= CASES
        assert len(attempts) > before  # the standby dialled after the kill
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(10)
        for log in logs:
            log.close()
        engine.dispose()
