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
def throwaway_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database, migrated to the current schema; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
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
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
def gunicorn(url: str, *, workers: int = 2, threads: int = 8, extra_env=None) -> Iterator[str]:
    """Serve the app under gunicorn on a free loopback port; yield its base URL."""
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
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
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
