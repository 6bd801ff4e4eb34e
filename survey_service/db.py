"""Database engine per app, one session per request, and transactions.

Services never commit: the caller wraps a unit of work in
``with transaction(session):`` so that an import or a state change is
stored whole or not at all.

SQLAlchemy and SQLModel are imported when the first engine is made: a
command that needs no database (``clients check``, ``calls plan``) starts
without them. The web app makes its engine with the app; a command's app
(see :mod:`survey_service.cli`) makes it on the first :func:`get_engine`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from flask import Flask, current_app, g

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

_ENGINE_LOCK = threading.Lock()
log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL, a busy timeout and mode 0600.

    ``hide_parameters``: SQL parameters are names, numbers, ciphertexts and
    hashes, so they appear in no log line and no error message, at any level.
    """
    from sqlalchemy import event
    from sqlmodel import create_engine

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
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        hide_parameters=True,
        connect_args={"options": "-c jit=off"},
    )
    event.listen(engine, "begin", _reads_only)
    event.listen(engine, "before_cursor_execute", _note_writes)
    return engine


# psycopg 3 forgets every prepared statement of a connection when a transaction is
# rolled back (``DEALLOCATE ALL``): it cannot tell what the transaction dropped. A
# request that only read used to end that way (the session's close rolls back), so
# the next requests on that pooled connection planned their queries afresh (the IVR
# call's six-table join: 2-3 ms of PostgreSQL CPU each time). A transaction that ran
# nothing but SELECTs is committed instead, which keeps them; one that wrote anything
# outside ``transaction()`` is still rolled back, as before.
READS_ONLY = "survey_service.reads_only"


def _reads_only(connection) -> None:
    connection.info[READS_ONLY] = True


def _note_writes(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    if connection.info.get(READS_ONLY) and statement.lstrip()[:6].upper() != "SELECT":
        connection.info[READS_ONLY] = False


def _only_read(session: Session) -> bool:
    """Did the session's open transaction (PostgreSQL) run nothing but SELECTs?"""
    current = session.get_transaction()
    if current is None or not current.is_active:
        return False
    if session.new or session.dirty or session.deleted:
        return False
    connection = session.connection()
    return connection.dialect.name == "postgresql" and connection.info.get(READS_ONLY) is True


def sqlite_database(url: str) -> str | None:
    """The file of an SQLite URL (``sqlite:///relative``, ``sqlite:////absolute``), else None.

    None for another backend, an in-memory database and a ``file:`` URI. Read
    as SQLAlchemy's ``make_url(url).database`` reads it, without importing it.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] != "sqlite":
        return None
    _host, slash, database = rest.partition("/")
    database = unquote(database.split("?", 1)[0]) if slash else ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def private_sqlite_file(url: str) -> None:
    """Create the SQLite file readable by its owner only, and tighten an existing one.

    SQLite gives the -wal and -shm files the database file's mode, so they
    are 0600 too.
    """
    database = sqlite_database(url)
    if database is None:
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


def init_app(app: Flask, *, engine: bool = True) -> None:
    """Close the request's session after it; attach the engine now unless ``engine`` is False
    (then the first :func:`get_engine` makes it)."""
    app.teardown_appcontext(close_session)
    if engine:
        app_engine(app)


def app_engine(app: Flask) -> Engine:
    """``app``'s engine, made on first use (once, whichever thread asks first)."""
    engine = app.extensions.get("engine")
    if engine is None:
        with _ENGINE_LOCK:
            engine = app.extensions.get("engine")
            if engine is None:
                engine = app.extensions["engine"] = make_engine(app.config["DATABASE_URL"])
    return engine


def get_engine() -> Engine:
    return app_engine(current_app)


def get_session() -> Session:
    """Return the session of the current request or CLI command, opening it once."""
    if "db_session" not in g:
        from sqlmodel import Session

        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def close_session(exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        try:
            if exc is None and _only_read(session):
                session.commit()  # keeps the connection's prepared statements (see above)
        except Exception:  # a failed transaction: the close rolls it back, as it always did
            log.warning("a read-only session could not commit; rolled back", exc_info=True)
        finally:
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
