"""Load benchmarks' common parts: a throw-away PostgreSQL database, gunicorn on loopback,
bounded client loops and percentiles.

Every load benchmark sends traffic only to 127.0.0.1, runs for a bounded time
and a bounded number of requests, and stops by itself (gunicorn included).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATA_KEY = base64.urlsafe_b64encode(b"b" * 32).decode()
SECRET_KEY = "bench-secret-key-" + "x" * 32
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def postgres_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def named_database(name: str, *, drop: bool) -> Iterator[str]:
    """Database ``name`` (its URL), created if absent and migrated to the current schema;
    dropped afterwards if ``drop`` (a seeded bench database is kept to be reused)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        from survey_service import migrations
        from survey_service.db import make_engine

        engine = make_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        if drop:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def throwaway_database(prefix: str) -> contextlib.AbstractContextManager[str]:
    """A new PostgreSQL database, migrated to the current schema; dropped afterwards."""
    return named_database(f"{prefix}_{uuid.uuid4().hex[:8]}", drop=True)


def app_config(url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "SURVEY_DATA_KEY": DATA_KEY,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    url: str, *, workers: int = 2, threads: int = 8, extra_env=None, timeout: int = 30
) -> Iterator[str]:
    """Serve the app under gunicorn on a free loopback port; yield its base URL.

    ``timeout``: gunicorn's worker timeout (its default 30 s); a worker busy
    computing a city's figures for longer would be killed.
    """
    port = free_port()
    instance = tempfile.mkdtemp(prefix="bench-instance-")
    env = {
        **os.environ,
        **app_config(url),
        "SURVEY_INSTANCE_PATH": instance,
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            str(timeout),
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    SERVERS[base] = process.pid
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/auth/login", timeout=2).status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited at start")
            time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not answer within 60 s")
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# Base URL -> the gunicorn master's process id (for :func:`server_cpu`).
SERVERS: dict[str, int] = {}


def _cpu_seconds(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process on this machine, None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(base: str) -> float:
    """CPU seconds used so far by the gunicorn serving ``base``: its master and workers."""
    master = SERVERS[base]
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        found = _cpu_seconds(int(entry))
        if found is not None and (int(entry) == master or found[0] == master):
            total += found[1]
    return total


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend connected to ``url``'s database.

    Empty when the server is not on this machine. Compare two readings with
    :func:`cpu_between`.
    """
    name = url.rsplit("/", 1)[1]
    engine = create_engine(PG_ADMIN_URL)
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": name}
        ).scalars()
        found = {pid: _cpu_seconds(pid) for pid in pids}
    engine.dispose()
    return {pid: cpu[1] for pid, cpu in found.items() if cpu is not None}


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the backends used between two :func:`database_cpu` readings.

    A backend that closed meanwhile is missed (the pool keeps its connections
    open, so only overflow connections are lost).
    """
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def login(base: str, username: str, password: str) -> requests.Session:
    """A logged-in HTTP session (the real form, with its CSRF token)."""
    http = requests.Session()
    page = http.get(base + "/auth/login", timeout=30)
    token = CSRF.search(page.text)
    data = {"username": username, "password": password}
    if token:
        data["csrf_token"] = token.group(1)
    answer = http.post(base + "/auth/login", data=data, timeout=30, allow_redirects=False)
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"log-in of {username} failed: {answer.status_code}")
    http.headers["X-CSRFToken"] = data.get("csrf_token", "")
    return http


def csrf_of(http: requests.Session, base: str, path: str) -> str | None:
    found = CSRF.search(http.get(base + path, timeout=30).text)
    return found.group(1) if found else None


def record_statements(engine) -> tuple[list[str], list[float]]:
    """Every statement ``engine`` runs from now on, with its time in seconds (two lists)."""
    from sqlalchemy import event

    statements: list[str] = []
    timings: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, sql, *_args):
        statements.append(sql)
        timings.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _timed(*_args):
        timings[-1] = time.perf_counter() - timings[-1]

    return statements, timings


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (seconds), 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def report(name: str, value: float, target: str, met: bool) -> None:
    """One figure with its target; a missed target is reported, not raised."""
    verdict = "met" if met else "MISSED"
    print(f"  {name}: {value:g} (target {target}: {verdict})", flush=True)


def seed_district(
    url: str,
    *,
    units: int,
    per_unit: int,
    agents: int,
    password: str,
    script_id: str,
    statistician: bool = False,
) -> None:
    """Units with approved lists and a drawn sample of ``per_unit`` cases each; the logins.

    The wave calls round the clock, so agents find due cases whatever the hour.
    """
    from survey_service import create_app
    from survey_service.calls.settings import ROUND_THE_CLOCK
    from survey_service.db import get_session, transaction
    from survey_service.lists import importing, review
    from survey_service.models import Unit
    from survey_service.sample import draws
    from survey_service.setup.users import create_user
    from survey_service.setup.waves import open_wave

    app = create_app(app_config(url))
    with app.app_context():
        session = get_session()
        with transaction(session):
            reviewer = create_user(
                session=session, username="reviewer", password=password, role="reviewer"
            )
            if statistician:
                create_user(
                    session=session, username="statistician", password=password, role="statistician"
                )
            for i in range(agents):
                create_user(session=session, username=f"agent{i}", password=password, role="agent")
            wave = open_wave(
                session=session,
                name="2017",
                script_id=script_id,
                settings={"calling": ROUND_THE_CLOCK},
            )
            vault = app.extensions["phone_vault"]
            for u in range(units):
                unit = Unit(code=f"U{u:03d}", name=f"单位{u:03d}", category="基层站所")
                session.add(unit)
                session.flush()
                lines = ["姓名,联系电话,办理事项,办理时间,类型"]
                lines += [
                    f"客户{i},{13000000000 + u * 100000 + i * 3},户籍办理,2017-03-01,群众"
                    for i in range(per_unit)
                ]
                client_list = importing.import_client_list(
                    session=session,
                    unit=unit,
                    wave=wave,
                    filename=f"{unit.code}.csv",
                    content="\n".join(lines).encode(),
                    vault=vault,
                    actor=None,
                )
                importing.submit_list(session=session, client_list=client_list, actor=None)
                review.approve_list(session=session, client_list=client_list, reviewer=reviewer)
            draws.draw_sample(session=session, wave=wave, seed=1, per_unit=per_unit, actor=None)
    engine = app.extensions["engine"]
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk insert: without statistics the
        # planner guesses a few rows per table and chooses plans for them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
