"""How a request's session ends: read-only transactions commit, anything else rolls back."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlmodel import select

from survey_service.db import get_session, transaction
from survey_service.models import Unit
from tests.factories import make_unit


def _prepared(session) -> int:
    return session.exec(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


def test_a_read_only_request_keeps_the_prepared_statements(app, backend):
    """psycopg forgets them on a rollback; a transaction of SELECTs is committed instead."""
    if backend != "postgres":
        pytest.skip("psycopg's prepared statements")
    with app.app_context():
        session = get_session()
        with transaction(session):
            make_unit(session)
    app.extensions["engine"].dispose()  # one pooled connection from here on
    with app.app_context():
        session = get_session()
        for _ in range(6):  # prepared from the fifth execution (psycopg's threshold)
            assert [u.code for u in session.exec(select(Unit)).all()] == ["U001"]
        pid = session.exec(text("SELECT pg_backend_pid()")).scalar_one()
        assert _prepared(session) >= 1
    with app.app_context():  # the next request on the same connection
        session = get_session()
        assert session.exec(text("SELECT pg_backend_pid()")).scalar_one() == pid
        assert _prepared(session) >= 1


def test_a_write_outside_a_transaction_is_still_rolled_back(app, backend):
    """A statement that is not a SELECT, or a changed object, never commits by the close."""
    with app.app_context():
        session = get_session()
        with transaction(session):
            make_unit(session)
    with app.app_context():
        session = get_session()
        session.exec(select(Unit)).all()
        session.execute(update(Unit).values(name="改过的名字"))
    with app.app_context():
        session = get_session()
        unit = session.exec(select(Unit)).one()
        assert unit.name == "奓山街派出所"
        unit.name = "另一个名字"  # dirty, never flushed by a query
    with app.app_context():
        assert get_session().exec(select(Unit.name)).one() == "奓山街派出所"
