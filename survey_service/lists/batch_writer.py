"""How an import writes its rows: straight through the driver, in the caller's transaction.

A batch comes in columns (:func:`~.sealing.client_columns`: one value
repeated, the list's id, and a value per row in every other column). On
PostgreSQL the rows stream through one open COPY (:mod:`.copy_writer`); on
SQLite the columns are bound straight into multi-row INSERTs on the
connection's own handle by the ``_sqlite_rows`` C module, or, without it,
go as multi-row INSERTs through Python's executemany. Every way writes in
the import's transaction, so a refused file stores nothing. Split from
:mod:`.importing`, which decides what is written.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from contextlib import nullcontext
from functools import partial
from itertools import chain
from types import ModuleType
from typing import Any

from sqlmodel import Session

from survey_service.lists.columns import as_rows, rows_in
from survey_service.lists.copy_writer import copy_batches

try:
    from survey_service.lists import _sqlite_rows as _native_module
except ImportError:  # not built (no compiler or no SQLite headers): executemany
    _native_module = None

log = logging.getLogger(__name__)

#: The native SQLite inserts, or None for executemany; the tests set it to run both.
native: ModuleType | None = _native_module

VALUES_PER_INSERT = 500  # rows in one executemany INSERT, fewer if its parameter limit says so
# Rows in one INSERT bound in C: the statement's VDBE program is set up once
# per step, so a few rows a step pay, while a long statement's parsing and
# binding table do not (measured 2026-12-04, 300,000 rows of the import's
# shape: 0.58 CPU-s at 4 rows, 0.39-0.42 at 8 to 64, 0.41-0.43 at 10, against
# 0.67-0.71 for executemany and 0.30 for INSERT ... SELECT inside SQLite).
NATIVE_VALUES_PER_INSERT = 16


def insert_tuples(session: Session, table: str, columns: tuple[str, ...], rows: list) -> None:
    """Insert rows straight through the driver: per-row parameter handling is the hot path.

    On SQLite the rows go ``VALUES_PER_INSERT`` to a statement (one prepared
    multi-row INSERT, its parameters bound in C), the few left over by
    executemany: a quarter less CPU than one row a statement (measured
    2026-12-02: 0.17 against 0.22-0.24 CPU-s per 100,000 client rows; under
    callgrind, 278 against 408 million instructions in executemany for a
    20,000-row import).
    """
    if rows:
        connection = session.connection()
        qmark = connection.dialect.paramstyle == "qmark"
        one = "(" + ", ".join(["?" if qmark else "%s"] * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        per = values_per_insert(connection, len(columns)) if qmark else 1
        whole = len(rows) // per * per if per > 1 else 0
        if whole:
            width = per * len(columns)
            flat = tuple(chain.from_iterable(rows[:whole]))  # its slices: tuples
            connection.exec_driver_sql(
                head + ", ".join([one] * per),
                [flat[at : at + width] for at in range(0, len(flat), width)],
            )
        if whole < len(rows):
            connection.exec_driver_sql(head + one, rows[whole:])
        rows.clear()


def values_per_insert(connection, width: int, most: int | None = None) -> int:
    """Rows per SQLite INSERT: ``most`` (VALUES_PER_INSERT), within the build's parameter limit."""
    driver = connection.connection.driver_connection
    try:
        limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python before 3.11
        limit = 999  # SQLite's smallest default
    return max(1, min(VALUES_PER_INSERT if most is None else most, limit // width))


def insert_columns(session: Session, table: str, names: tuple[str, ...], columns) -> None:
    """:func:`insert_tuples` of a batch's columns (the fallback without the C module)."""
    insert_tuples(session, table, names, as_rows(columns))


def native_inserter(session: Session):
    """``insert(table, names, columns)`` bound in C on the session's SQLite handle, or None.

    None where the module is not built or the handle it reads from the
    connection does not prove to be the connection's own (see
    ``_sqlite_rows.c``): the caller then keeps :func:`insert_columns`.
    """
    if native is None:
        return None
    connection = session.connection()
    driver = connection.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        return None
    rows = connection.exec_driver_sql("PRAGMA database_list").all()
    filename = next((row[2] for row in rows if row[1] == "main"), None)
    if filename is None or not native.handle_matches(driver, filename, driver.total_changes):
        log.warning("the SQLite handle could not be verified: rows go through executemany")
        return None
    statements: dict[tuple[str, tuple[str, ...]], tuple[str, str, int]] = {}

    def insert(table: str, names: tuple[str, ...], columns: Sequence[Any]) -> None:
        count = rows_in(columns)
        if not count:
            return
        key = (table, tuple(names))
        if key not in statements:
            fit = values_per_insert(connection, len(names), NATIVE_VALUES_PER_INSERT)
            one = "(" + ", ".join(["?"] * len(names)) + ")"
            head = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
            statements[key] = (head + ", ".join([one] * fit), head + one, fit)
        many, single, fit = statements[key]
        native.insert_columns(driver, many, single, tuple(columns), count, fit)

    return insert


def batch_writer(session: Session, parent_id: int | None = None):
    """``insert(table, names, columns)`` for a list's batches: one open COPY on PostgreSQL.

    ``parent_id``: the ``client_list`` every row references, created in this
    transaction; on PostgreSQL its foreign key is then checked once
    (:func:`~.copy_writer.parent_checked_once`). SQLite checks it per row
    (a lookup in a table of a few rows: within the noise of its insert time,
    measured on 500,000 rows).
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return copy_batches(connection.connection.driver_connection, parent_id=parent_id)
    return nullcontext(native_inserter(session) or partial(insert_columns, session))


def flush_batches(session: Session, model, rows: list[dict]) -> None:
    if rows:
        # Core executemany: the ORM's bulk path costs more than the insert itself here.
        session.connection().execute(model.__table__.insert(), rows)
        rows.clear()
