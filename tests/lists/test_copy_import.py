"""PostgreSQL stores a list with COPY: the same rows as SQLite's inserts, in one transaction."""

from __future__ import annotations

from functools import partial

import pytest
from flask import current_app
from sqlmodel import func, select

from survey_service.db import get_session, transaction
from survey_service.errors import ServiceError
from survey_service.lists import batch_writer, copy_writer
from survey_service.lists import importing as list_import
from survey_service.models import Client, ClientList, ListRowIssue, StoredFile
from survey_service.privacy.vault import ISSUE_NAME, NAME, RAW_VALUE
from tests.conftest import PG_OK, empty_all_tables, make_test_app
from tests.factories import make_unit, make_user, make_wave, upload_list


def _content(rows: int = 12_000) -> bytes:
    """Three batches, in the mixes units write: spaces, landlines, bad and repeated numbers."""
    lines = ["姓名,联系电话,办理事项,办理时间,类型"]
    for i in range(rows):
        phone = f"138{i:08d}"
        if i % 4 == 1:
            phone = f"138 {i:04d} {i % 10000:04d}"[:13]
        elif i % 8 == 2:
            phone = f"027-8{i:07d}"
        elif i % 97 == 3:
            phone = "12345"
        elif i % 101 == 4:
            phone = "13800000000"  # repeated: the later ones are rejected
        kind = "企业" if i % 5 == 0 else "群众"
        lines.append(f"客户{i},{phone},户籍办理{i % 7},2017-05-{i % 28 + 1:02d},{kind}")
    return ("\n".join(lines) + "\n").encode("gbk")


def _stored(session, client_list: ClientList) -> tuple[list[tuple], list[tuple]]:
    vault = current_app.extensions["phone_vault"]
    clients = [
        (
            c.row_number,
            vault.decrypt_text(c.name, NAME),
            vault.decrypt(c.phone_enc),
            c.phone_hash,
            c.phone_masked,
            c.service,
            c.service_date,
            c.kind,
        )
        for c in session.exec(
            select(Client).where(Client.list_id == client_list.id).order_by(Client.row_number)
        )
    ]
    issues = [
        (
            i.row_number,
            i.field,
            vault.decrypt_text(i.raw_value, RAW_VALUE),
            i.raw_masked,
            i.reason,
            vault.decrypt_text(i.name, ISSUE_NAME),
            i.name_masked,
            i.service,
        )
        for i in session.exec(
            select(ListRowIssue)
            .where(ListRowIssue.list_id == client_list.id)
            .order_by(ListRowIssue.row_number, ListRowIssue.field)
        )
    ]
    return clients, issues


def _import_on(url: str, instance, content: bytes):
    app = make_test_app(url, instance)
    try:
        with app.app_context():
            session = get_session()
            with transaction(session):
                unit = make_unit(session)
                staff = make_user(session, username="staff", role="unit", unit=unit)
                wave = make_wave(session)
            with transaction(session):
                client_list = upload_list(session, unit, wave, content, actor=staff)
            counts = (client_list.n_accepted, client_list.n_rejected, client_list.signals)
            return counts, _stored(session, client_list)
    finally:
        empty_all_tables(app.extensions["engine"])
        app.extensions["engine"].dispose()


@pytest.mark.skipif(not PG_OK, reason="PostgreSQL is not running")
def test_postgres_copy_stores_the_rows_sqlite_inserts(database_urls, tmp_path, monkeypatch):
    """Does the same file, imported on both backends, store identical rows (decrypted)?"""
    opened: list[str] = []
    held: list[str] = []
    real_start, real_copy_rows = copy_writer.CopyStream._start, copy_writer.copy_rows

    def start(self, key):
        opened.append(key[0])
        return real_start(self, key)

    def copy_rows(connection, table, columns, rows, **kw):
        held.append(table)
        return real_copy_rows(connection, table, columns, rows, **kw)

    monkeypatch.setattr(copy_writer.CopyStream, "_start", start)
    monkeypatch.setattr(copy_writer, "copy_rows", copy_rows)
    content = _content()
    on_sqlite = _import_on(database_urls["sqlite"], tmp_path / "a", content)
    assert opened == [] and held == []  # SQLite keeps executemany
    on_postgres = _import_on(database_urls["postgres"], tmp_path / "b", content)
    # Three batches of clients through one open COPY, the rejected rows after it.
    assert (opened, held) == (["client"], ["list_row_issue"])
    (accepted, rejected, _), (clients, issues) = on_sqlite
    assert accepted == len(clients) and rejected == len(issues)
    assert accepted > 10_000 and rejected > 100
    assert on_postgres == on_sqlite
    # Past the budget of held rows the COPY is ended and opened again: the same rows.
    opened.clear()
    held.clear()
    monkeypatch.setattr(batch_writer, "copy_batches", partial(copy_writer.copy_batches, hold=100))
    assert _import_on(database_urls["postgres"], tmp_path / "c", content) == on_sqlite
    assert len(opened) >= 2 and set(opened) == {"client"}
    assert len(held) >= 2 and set(held) == {"list_row_issue"}


@pytest.mark.parametrize("binary", [True, False])
def test_text_and_binary_copy_store_the_same(backend, session, monkeypatch, binary):
    """Do both COPY formats (and executemany on SQLite) keep every character of a row?"""
    monkeypatch.setattr(copy_writer, "BINARY", binary)
    with transaction(session):
        unit = make_unit(session)
        wave = make_wave(session)
    content = (
        "姓名,联系电话,办理事项\n"
        '"张\\三",13812345678,"户籍,办理 ""加急"""\n'
        "李四,139-8765-4321,\\N\n"
        "王五,1381234567,企业登记\n"
    ).encode()
    with transaction(session):
        client_list = upload_list(session, unit, wave, content)
    clients, issues = _stored(session, client_list)
    assert [(c[0], c[1], c[2], c[5]) for c in clients] == [
        (2, "张\\三", "+8613812345678", '户籍,办理 "加急"'),
        (3, "李四", "+8613987654321", "\\N"),
    ]
    assert [(i[0], i[2]) for i in issues] == [(4, "1381234567")]


def test_a_refused_import_stores_nothing(backend, session, monkeypatch):
    """A failure after the first batches were written leaves no list, client, issue or file."""
    with transaction(session):
        unit = make_unit(session)
        wave = make_wave(session)
    calls = []

    def failing(list_id, issues, vault):
        calls.append(list_id)
        if len(calls) == 2:
            raise ServiceError("模拟失败")
        return []

    monkeypatch.setattr(list_import, "sealed_issue_columns", failing)
    with pytest.raises(ServiceError, match="模拟失败"), transaction(session):
        upload_list(session, unit, wave, _content(8_000))
    assert len(calls) == 2
    for model in (ClientList, Client, ListRowIssue, StoredFile):
        assert session.exec(select(func.count()).select_from(model)).one() == 0


def test_a_file_without_phones_stores_nothing(backend, session):
    with transaction(session):
        unit = make_unit(session)
        wave = make_wave(session)
    with pytest.raises(ServiceError), transaction(session):
        upload_list(session, unit, wave, "姓名,备注\n张三,无\n".encode())
    assert session.exec(select(func.count()).select_from(Client)).one() == 0
    assert session.exec(select(func.count()).select_from(ClientList)).one() == 0


@pytest.mark.parametrize("per", [1, 7, 500])
def test_sqlite_multi_row_inserts_store_every_row(database_urls, tmp_path, monkeypatch, per):
    """Do multi-row INSERTs (and the rows left over) store what one row a statement does?

    7 rows a statement leaves a remainder in every batch; 500 is the default.
    """
    monkeypatch.setattr(batch_writer, "VALUES_PER_INSERT", per)
    url = database_urls["sqlite"]
    (accepted, rejected, _), (clients, issues) = _import_on(url, tmp_path / "i", _content())
    assert (accepted, rejected) == (len(clients), len(issues)) == (11_849, 151)
    assert [c[0] for c in clients[:3]] == [2, 3, 4]
    assert clients[0][1:3] == ("客户0", "+8613800000000")
    assert [issue[:5] for issue in issues[:2]] == [
        (5, "phone", "12345", "12345", "invalid_phone"),
        (6, "phone", "13800000000", "138****0000", "duplicate_in_file"),
    ]


def test_multi_row_inserts_keep_within_sqlite_parameter_limit(session, backend):
    """A build allowing fewer parameters gets fewer rows per INSERT, never an error."""
    if backend != "sqlite":
        pytest.skip("SQLite's parameter limit")
    import sqlite3

    driver = session.connection().connection.driver_connection
    driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)
    assert batch_writer.values_per_insert(session.connection(), 9) == 4
    driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 5)
    assert batch_writer.values_per_insert(session.connection(), 9) == 1
    driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 250_000)
    assert batch_writer.values_per_insert(session.connection(), 9) == 500


def _pg_import_watching_role(url: str, instance, monkeypatch):
    """Import on PostgreSQL; return the session_replication_role seen by each COPY and after."""
    seen: list[str] = []
    real_start = copy_writer.CopyStream._start

    def start(self, key):
        with self._connection.cursor() as cursor:
            seen.append(cursor.execute("SHOW session_replication_role").fetchone()[0])
        return real_start(self, key)

    monkeypatch.setattr(copy_writer.CopyStream, "_start", start)
    app = make_test_app(url, instance)
    try:
        with app.app_context():
            session = get_session()
            with transaction(session):
                unit = make_unit(session)
                wave = make_wave(session)
            with transaction(session):
                client_list = upload_list(session, unit, wave, _content(6_000))
                after = session.connection().exec_driver_sql("SHOW session_replication_role")
                role_after = after.scalar()
                # The constraint still holds in the same transaction, after the import.
                with pytest.raises(Exception, match="foreign key"), session.begin_nested():
                    session.connection().exec_driver_sql(
                        "INSERT INTO client (list_id, row_number, phone_enc, phone_hash,"
                        " phone_masked) VALUES (%s, 1, 'x', 'y', 'z')",
                        (client_list.id + 1000,),
                    )
            stored = session.exec(
                select(func.count()).where(Client.list_id == client_list.id)
            ).one()
            return seen, role_after, (client_list.n_accepted, stored)
    finally:
        empty_all_tables(app.extensions["engine"])
        app.extensions["engine"].dispose()


@pytest.mark.skipif(not PG_OK, reason="PostgreSQL is not running")
def test_postgres_checks_the_list_key_once(database_urls, tmp_path, monkeypatch):
    """The COPY runs without the per-row trigger (the role may), put back after it."""
    seen, after, (accepted, stored) = _pg_import_watching_role(
        database_urls["postgres"], tmp_path / "a", monkeypatch
    )
    assert seen == ["replica"]  # the clients' COPY (the held issue rows follow it)
    assert after == "origin"
    assert accepted == stored == 5_923


@pytest.mark.skipif(not PG_OK, reason="PostgreSQL is not running")
def test_postgres_keeps_the_per_row_check_for_a_role_that_may_not(
    database_urls, tmp_path, monkeypatch
):
    monkeypatch.setattr(copy_writer, "may_check_parent_once", lambda connection: False)
    seen, after, (accepted, stored) = _pg_import_watching_role(
        database_urls["postgres"], tmp_path / "b", monkeypatch
    )
    assert (seen, after) == (["origin"], "origin")
    assert accepted == stored == 5_923


def test_rows_of_another_list_are_refused_when_checked_once():
    """The one check holds only if every row references the checked list: others are refused."""
    stream = copy_writer.CopyStream(connection=None, parent_id=7)
    with pytest.raises(ValueError, match="must all reference client_list 7"):
        stream.write("client", ("list_id", "row_number"), ([7, 8], [1, 2]))
    with pytest.raises(ValueError, match="must all reference client_list 7"):
        stream.write("client", ("list_id", "row_number"), (8, [1, 2]))
    with pytest.raises(ValueError, match="not written with its foreign key checked once"):
        stream.write("survey_case", ("list_id", "x"), (7, [1]))
    with pytest.raises(ValueError, match="not written with its foreign key checked once"):
        stream.write("client", ("row_number", "list_id"), ([1], 7))
    assert stream._open is None  # refused before any COPY was opened


@pytest.mark.skipif(not PG_OK, reason="PostgreSQL is not running")
def test_checked_once_needs_the_list_row(database_urls):
    import psycopg

    url = database_urls["postgres"].replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as connection:
        assert copy_writer.may_check_parent_once(connection) is True  # the tests run as postgres
        with (
            pytest.raises(ValueError, match="client_list 987654 does not exist"),
            copy_writer.parent_checked_once(connection, 987654),
        ):
            pass
        connection.rollback()
