"""The SQLite inserts bound in C (``_sqlite_rows``): the same rows as executemany.

The module writes on the import's own connection, reading the handle out
of the sqlite3.Connection object, so the tests check both that it stores
exactly what the Python path stores and that it refuses a handle it cannot
prove to be the connection's, a closed transaction and bad columns.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from survey_service.lists import batch_writer
from tests.lists.test_copy_import import _content, _import_on

NATIVE = batch_writer._native_module
needs_native = pytest.mark.skipif(NATIVE is None, reason="_sqlite_rows is not built (make setup)")


def test_native_module_is_built_under_ci():
    """Under CI the native module must import: a missing build would pass, slower."""
    if os.environ.get("CI") == "true":
        assert NATIVE is not None, "survey_service.lists._sqlite_rows did not import under CI"
    elif NATIVE is None:
        pytest.skip("_sqlite_rows is not built (make setup)")


@needs_native
def test_native_inserts_store_what_executemany_stores(database_urls, tmp_path, monkeypatch):
    """The same file through both paths: identical rows, decrypted, and the same issues."""
    used = []
    real = NATIVE.insert_columns

    def counted(*args):
        used.append(args[4])
        return real(*args)

    monkeypatch.setattr(NATIVE, "insert_columns", counted)
    url = database_urls["sqlite"]
    native = _import_on(url, tmp_path / "n", _content())
    assert sum(used) == 11_849 + 151  # every client and issue row went through C
    monkeypatch.setattr(batch_writer, "native", None)
    used.clear()
    python = _import_on(url, tmp_path / "p", _content())
    assert used == []
    assert native == python
    (accepted, rejected, _), (clients, issues) = native
    assert (accepted, rejected) == (len(clients), len(issues)) == (11_849, 151)
    assert clients[0][:3] == (2, "客户0", "+8613800000000")
    assert issues[0][:5] == (5, "phone", "12345", "12345", "invalid_phone")


@pytest.fixture
def connection(tmp_path):
    path = tmp_path / "t.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES parent(id),"
        " n INTEGER, s TEXT, b BLOB, f REAL)"
    )
    db.execute("INSERT INTO parent VALUES (1)")
    db.commit()
    yield db, str(path)
    db.close()


SQL = "INSERT INTO t (p, n, s, b, f) VALUES "
ONE = "(?, ?, ?, ?, ?)"


@needs_native
@pytest.mark.parametrize("per", [1, 3, 16])
def test_columns_and_one_value_columns_become_rows(connection, per):
    """Lists, tuples and one repeated value; None, int, text (not ASCII too), bytes, float."""
    db, _ = connection
    db.execute("INSERT INTO parent VALUES (2)")  # opens the transaction
    texts = ["a", "张三", None, "🙂" * 3, "", "x" * 1000, "b", "c"]
    count = NATIVE.insert_columns(
        db,
        SQL + ", ".join([ONE] * per),
        SQL + ONE,
        (2, list(range(8)), tuple(texts), b"\x00\x01", 0.5),
        8,
        per,
    )
    assert count == 8
    rows = db.execute("SELECT p, n, s, b, f FROM t ORDER BY id").fetchall()
    assert rows == [(2, i, texts[i], b"\x00\x01", 0.5) for i in range(8)]
    db.rollback()
    assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)  # in the caller's transaction


@needs_native
def test_the_handle_is_checked_against_the_connection(connection, tmp_path):
    db, path = connection
    assert NATIVE.handle_matches(db, path, db.total_changes) is False  # no transaction open
    db.execute("INSERT INTO parent VALUES (2)")
    assert NATIVE.handle_matches(db, path, db.total_changes) is True
    assert NATIVE.handle_matches(db, path, db.total_changes + 1) is False
    assert NATIVE.handle_matches(db, str(tmp_path / "other.sqlite"), db.total_changes) is False
    with pytest.raises(TypeError, match=r"not sqlite3\.Connection"):
        NATIVE.handle_matches(object(), path, 0)
    other = sqlite3.connect(tmp_path / "other.sqlite")
    other.close()
    with pytest.raises(ValueError, match="closed"):
        NATIVE.handle_matches(other, path, 0)


@needs_native
def test_bad_input_is_refused_and_stores_nothing(connection):
    db, _ = connection
    with pytest.raises(ValueError, match="needs an open transaction"):
        NATIVE.insert_columns(db, SQL + ONE, SQL + ONE, (1, [1], ["a"], None, None), 1, 1)
    assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)
    db.execute("INSERT INTO parent VALUES (2)")
    with pytest.raises(ValueError, match="column 2 has 1 values, not 2"):
        NATIVE.insert_columns(db, SQL + ONE, SQL + ONE, (1, [1, 2], ["a"], None, None), 2, 1)
    with pytest.raises(ValueError, match="1 to 2000 columns"):
        NATIVE.insert_columns(db, SQL + ONE, SQL + ONE, tuple([1] * 2001), 1, 1)
    with pytest.raises(ValueError, match="has 5 placeholders, not 10"):
        NATIVE.insert_columns(db, SQL + ONE, SQL + ONE, (1, [1, 2], ["a", "b"], None, None), 2, 2)
    with pytest.raises(TypeError, match="column 2, row 1: dict cannot be stored"):
        NATIVE.insert_columns(db, SQL + ONE, SQL + ONE, (1, [1, 2], ["a", {}], None, None), 2, 1)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        NATIVE.insert_columns(db, SQL + ONE, SQL + ONE, (9, [1], ["a"], None, None), 1, 1)
    with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
        NATIVE.insert_columns(db, "INSERT INTO nowhere VALUES (?)", "x", ([1],), 1, 1)
    db.rollback()
    assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)


@needs_native
def test_an_unverified_handle_keeps_executemany(session, backend, monkeypatch, caplog):
    """Where the handle does not prove to be the connection's, rows go through Python."""
    if backend != "sqlite":
        pytest.skip("SQLite's inserts")
    session.connection().exec_driver_sql("CREATE TEMP TABLE probe (x INTEGER)")
    session.connection().exec_driver_sql("INSERT INTO probe VALUES (1)")  # a transaction
    assert batch_writer.native_inserter(session) is not None
    monkeypatch.setattr(NATIVE, "handle_matches", lambda *args: False)
    assert batch_writer.native_inserter(session) is None
    assert "could not be verified" in caplog.text
