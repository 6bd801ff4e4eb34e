"""Fixtures: an app per database backend, a session, a client, log-in helpers.

Every app test runs on SQLite and, when it answers, on PostgreSQL (required
under ``CI=true``). Each backend's database is created once per run through
the Alembic migrations; after each test every table it used is emptied.
"""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from survey_service import create_app
from survey_service import migrations as migrations_module

# CI runs the same hypothesis examples every time, so a red run is reproducible and a
# green one is not luck; locally hypothesis keeps exploring new examples.
# No example has a deadline: this machine is shared and noisy, and speed is make
# bench's business, not a test's.
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("dev", **_UNTIMED)
settings.register_profile("ci", derandomize=True, print_blob=True, **_UNTIMED)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATA_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()


def _postgres_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


PG_OK = _postgres_available()
if os.environ.get("CI") == "true" and not PG_OK:
    raise RuntimeError("CI=true requires PostgreSQL at 127.0.0.1:5432 (see .ci/run)")
BACKENDS = ["sqlite"] + (["postgres"] if PG_OK else [])


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """Create one migrated database per backend for the whole run."""
    urls: dict[str, str] = {}
    sqlite_path = tmp_path_factory.mktemp("db") / "test.sqlite"
    urls["sqlite"] = f"sqlite:///{sqlite_path}"
    pg_name = None
    if PG_OK:
        pg_name = f"survey_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        admin.dispose()
        urls["postgres"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_name}"
    from survey_service.db import make_engine

    for url in urls.values():
        engine = make_engine(url)
        migrations_module.upgrade(engine)
        engine.dispose()
    yield urls
    if pg_name:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()


def make_test_app(url: str, instance_path, **extra):
    config = {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "SURVEY_DATA_KEY": DATA_KEY,
        "WTF_CSRF_ENABLED": False,
    }
    config.update(extra)
    os.environ["SURVEY_INSTANCE_PATH"] = str(instance_path)
    try:
        return create_app(config)
    finally:
        os.environ.pop("SURVEY_INSTANCE_PATH", None)


# The id sequences a test took ids from (pg_sequences shows last_value NULL for a sequence
# never used or restarted).
_USED_SEQUENCES = text(
    "SELECT quote_ident(sequencename) FROM pg_sequences"
    " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


def empty_all_tables(engine) -> None:
    """Every table emptied and every id sequence restarted, as after the migrations.

    On PostgreSQL only the tables a test left rows in are emptied, by DELETE, and only
    the sequences it used are restarted, without waiting for the commit's WAL flush: a
    TRUNCATE of every table (a new file each, flushed) cost 80 ms a test on a quiet
    machine and 0.3-0.5 s on a loaded one.
    """
    tables = list(reversed(SQLModel.metadata.sorted_tables))  # children before parents
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
            with_rows = " UNION ALL ".join(
                f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables
            )
            touched = set(conn.execute(text(with_rows)).scalars())
            for table in tables:
                if table.name in touched:
                    conn.execute(table.delete())
            for sequence in conn.execute(_USED_SEQUENCES).scalars().all():
                conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(backend, database_urls, tmp_path):
    """A fresh app on an emptied, migrated database of the backend under test."""
    app = make_test_app(database_urls[backend], tmp_path / "instance")
    yield app
    engine = app.extensions["engine"]
    empty_all_tables(engine)
    engine.dispose()


@pytest.fixture
def session(app):
    """A database session inside an app context (the same one views use)."""
    from survey_service.db import get_session

    with app.app_context():
        yield get_session()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    """Log in as a user through the real log-in form."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str, password: str = "password123"):
        return self._client.post("/auth/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
