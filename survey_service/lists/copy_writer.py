"""Write a batch of rows with PostgreSQL's COPY, through psycopg 3.

A list import on PostgreSQL streams its sealed rows with ``COPY … FROM
STDIN`` on the session's own connection, so they land in the caller's
transaction like the executemany path SQLite keeps: a refused file still
stores nothing. The clients' COPY stays open across batches (:class:`CopyStream`).

Binary COPY is used: every value here is an integer or text, which psycopg
sends without the text format's escaping. Measured once (2026-12-01, 200,000
client rows of the import's shape, 5,000 per COPY): the client's CPU is
halved (0.11 s against 0.21-0.25 s) while the wall time, the server's, is
the same (1.8-2.2 s either way). The column types are declared once per
table, so psycopg need not guess them per value.

The clients' foreign key to their list is checked once, not per row
(:func:`parent_checked_once`): every row of an import references the one
``client_list`` row the import created in the same, still open transaction.
PostgreSQL's per-row foreign-key trigger was half the server's work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from survey_service.lists.columns import as_rows, rows_in

try:
    from survey_service.lists import _copy_rows as _native_module
except ImportError:  # not built (no compiler): psycopg's write_row
    _native_module = None

#: The native COPY encoder, or None for write_row; the tests set it to run both.
native: ModuleType | None = _native_module

# PostgreSQL types of the columns written by COPY, by table.
COLUMN_TYPES: dict[str, dict[str, str]] = {
    "client": {
        "list_id": "int4",
        "row_number": "int4",
        "name": "text",
        "phone_enc": "text",
        "phone_hash": "text",
        "phone_masked": "text",
        "service": "text",
        "service_date": "text",
        "kind": "text",
    },
    "list_row_issue": {
        "list_id": "int4",
        "row_number": "int4",
        "field": "text",
        "raw_value": "text",
        "raw_masked": "text",
        "reason": "text",
        "name": "text",
        "name_masked": "text",
        "service": "text",
    },
}

BINARY = True  # False sends COPY's text format (kept for the bench's one comparison)

# The tables whose foreign key to client_list (their first column, list_id)
# may be checked once for a whole import instead of by the per-row trigger.
PARENT_KEYS = {"client": "list_id", "list_row_issue": "list_id"}
CHECK_PARENT_ONCE = True  # False keeps the per-row trigger (for the bench's comparison)
# The native encoder's type codes, and the end of binary COPY data (a field count of -1).
_TYPE_CODES = {"text": 0, "int4": 1}
_TRAILER = b"\xff\xff"


def copy_rows(
    connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    binary: bool | None = None,
) -> None:
    """COPY ``rows`` (tuples in ``columns`` order) into ``table`` on a psycopg connection.

    The connection's open transaction is used; nothing is committed here.
    """
    binary = BINARY if binary is None else binary
    types = COLUMN_TYPES[table]
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    if binary:
        statement += " (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        if binary:
            copy.set_types([types[column] for column in columns])
        write = copy.write_row
        for row in rows:
            write(row)


class CopyStream:
    """One COPY kept open across batches, so the server stores rows while Python seals the next.

    A COPY per batch makes the two wait for each other: the client encrypts a
    batch while the server idles, then waits for the server to store it. Here
    the first table written (the clients) keeps its COPY open; rows for any
    other table (the rejected rows, a few per cent) wait in memory, at most
    ``hold`` of them, and are written when the stream closes or the budget is
    spent (the open COPY is then ended, and opened again by the next batch).
    Memory is bounded by one batch plus ``hold`` rows, whatever the file.
    """

    def __init__(
        self,
        connection,
        *,
        hold: int = 50_000,
        binary: bool | None = None,
        parent_id: int | None = None,
    ) -> None:
        self._connection = connection
        self._parent_id = parent_id
        self._binary = BINARY if binary is None else binary
        self._hold = hold
        self._open: tuple[str, tuple[str, ...]] | None = None
        self._cursor = None
        self._copy = None
        self._manager = None
        self._held: dict[tuple[str, tuple[str, ...]], list[tuple]] = {}
        self._held_count = 0
        # The open COPY's type codes when its rows are encoded in C (None: write_row),
        # and whether its data has begun (the format's header goes first).
        self._encoded: bytes | None = None
        self._sent = False

    def write(self, table: str, names: Sequence[str], columns: Sequence[Any]) -> None:
        """Write a batch's columns (:func:`~.sealing.client_columns`' shape) to ``table``."""
        key = (table, tuple(names))
        if self._parent_id is not None:
            _only_parent(table, names, columns, self._parent_id)
        if self._open is None and not self._held:
            self._start(key)
        if key == self._open:
            if self._encoded is not None:
                count = rows_in(columns)
                data = native.encode(tuple(columns), count, self._encoded, not self._sent)
                self._copy.write(data)
                self._sent = True
                return
            write = self._copy.write_row
            for row in as_rows(columns):
                write(row)
            return
        held = self._held.setdefault(key, [])
        before = len(held)
        held.extend(as_rows(columns))
        self._held_count += len(held) - before
        if self._held_count > self._hold:
            self.flush()

    def flush(self) -> None:
        """End the open COPY and write the rows held for other tables."""
        self._end(None)
        for (table, columns), rows in self._held.items():
            copy_rows(self._connection, table, columns, rows, binary=self._binary)
        self._held.clear()
        self._held_count = 0

    def abort(self, exc: BaseException) -> None:
        """End the open COPY with an error (the caller's transaction is rolled back)."""
        self._end(exc)
        self._held.clear()

    def _start(self, key: tuple[str, tuple[str, ...]]) -> None:
        table, columns = key
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        if self._binary:
            statement += " (FORMAT BINARY)"
        self._cursor = self._connection.cursor()
        self._manager = self._cursor.copy(statement)
        self._copy = self._manager.__enter__()
        types = [COLUMN_TYPES[table][column] for column in columns]
        if self._binary and native is not None:
            self._encoded = bytes(_TYPE_CODES[t] for t in types)
            self._sent = False
        elif self._binary:
            self._copy.set_types(types)
        self._open = key

    def _end(self, exc: BaseException | None) -> None:
        if self._copy is None:
            return
        manager, cursor, copy = self._manager, self._cursor, self._copy
        encoded_data = self._encoded is not None and self._sent
        self._copy = self._manager = self._cursor = self._open = self._encoded = None
        try:
            if exc is None:
                if encoded_data:  # write_row's formatter adds the trailer only to its own rows
                    copy.write(_TRAILER)
                manager.__exit__(None, None, None)
            else:
                manager.__exit__(type(exc), exc, exc.__traceback__)
        finally:
            cursor.close()


def _only_parent(table: str, names: Sequence[str], columns: Sequence[Any], parent_id: int):
    """Refuse rows that do not all reference ``parent_id`` (their check is this one)."""
    if not rows_in(columns):
        return
    if PARENT_KEYS.get(table) != names[0]:
        raise ValueError(f"{table} is not written with its foreign key checked once")
    keys = columns[0]
    if (set(keys) if isinstance(keys, list | tuple) else {keys}) != {parent_id}:
        raise ValueError(f"{table} rows must all reference client_list {parent_id}")


def may_check_parent_once(connection) -> bool:
    """Whether this connection may turn off the per-row triggers for its transaction.

    ``session_replication_role`` needs a superuser, or (PostgreSQL 15 on) a
    role granted ``SET`` on it; any other role keeps the per-row check.
    """
    if connection.info.server_version >= 150000:
        query = "SELECT has_parameter_privilege('session_replication_role', 'SET')"
    else:
        query = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    with connection.cursor() as cursor:
        return bool(cursor.execute(query).fetchone()[0])


@contextmanager
def parent_checked_once(connection, parent_id: int) -> Iterator[None]:
    """Check the rows' foreign key to ``client_list`` once for the block, not per row.

    The ``client_list`` row is locked ``FOR KEY SHARE`` (what the per-row
    trigger does for each row) and must exist; then, for the block only,
    ``SET LOCAL session_replication_role = replica`` turns off the per-row
    triggers, and :class:`CopyStream` refuses any row whose ``list_id`` is
    not that row's id, or any table not in PARENT_KEYS. So every row written
    is checked, by one lookup. The constraint stays in the schema and is
    enforced for every other write, the rest of this transaction included:
    the setting is put back when the block ends. After an error the
    transaction is rolled back (to its savepoint, if any), which puts the
    setting back too.
    """
    with connection.cursor() as cursor:
        found = cursor.execute(
            "SELECT id FROM client_list WHERE id = %s FOR KEY SHARE", (parent_id,)
        ).fetchone()
        if found is None:
            raise ValueError(f"client_list {parent_id} does not exist")
        before = cursor.execute("SHOW session_replication_role").fetchone()[0]
        cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('session_replication_role', %s, true)", (before,))


@contextmanager
def copy_batches(
    connection, parent_id: int | None = None, **options
) -> Iterator[Callable[[str, Sequence[str], Any], None]]:
    """``insert(table, names, columns)`` writing a batch's columns to one :class:`CopyStream`.

    The held rows are written when the block ends; an error ends the COPY
    with it. ``parent_id``: every row references that ``client_list`` row,
    whose foreign key is then checked once (:func:`parent_checked_once`)
    where the connection's role may, else by the per-row trigger.
    """
    if parent_id is not None and CHECK_PARENT_ONCE and may_check_parent_once(connection):
        with (
            parent_checked_once(connection, parent_id),
            _copy_batches(connection, parent_id=parent_id, **options) as insert,
        ):
            yield insert
        return
    with _copy_batches(connection, **options) as insert:
        yield insert


@contextmanager
def _copy_batches(connection, **options) -> Iterator[Callable[[str, Sequence[str], Any], None]]:
    stream = CopyStream(connection, **options)
    try:
        yield stream.write
    except BaseException as exc:
        stream.abort(exc)
        raise
    stream.flush()
