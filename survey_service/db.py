"""Database engine per app, one session per request, and transactions.

Services never commit: the caller wraps a unit of work in
``with transaction(session):`` so that an import or a state change is
stored whole or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL, a busy timeout and mode 0600.

    ``hide_parameters``: SQL parameters are names, numbers, ciphertexts and
    hashes, so they appear in no log line and no error message, at any level.
    """
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # 64 MiB page cache: bulk imports insert into random-order hash indexes.
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.close()

        return engine
    # jit=off: PostgreSQL's JIT compiles a query whose estimated cost is high (the
    # queue's claim, estimated from its subplans) in 40-60 ms, for a query that
    # then runs in a few; the service's queries are short OLTP ones.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        hide_parameters=True,
        connect_args={"options": "-c jit=off"},
    )


def private_sqlite_file(url: str) -> None:
    """Create the SQLite file readable by its owner only, and tighten an existing one.

    SQLite gives the -wal and -shm files the database file's mode, so they
    are 0600 too.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = name.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            name.chmod(0o600)


def init_app(app: Flask) -> None:
    """Attach an engine to the app and close the request's session after it."""
    app.extensions["engine"] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(close_session)


def get_engine() -> Engine:
    return current_app.extensions["engine"]


def get_session() -> Session:
    """Return the session of the current request or CLI command, opening it once."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit the work done inside the block, or roll all of it back on error."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
