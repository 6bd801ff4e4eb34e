"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from survey_service import migrations


def test_migrations_match_models(app):
    """Does `db upgrade` produce the models' schema, with nothing missing or extra?"""
    engine = app.extensions["engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []
    assert migrations.current(engine) == "0003"


def test_upgrade_is_idempotent(app):
    """Can `db upgrade` run again on a current database without error?"""
    migrations.upgrade(app.extensions["engine"])
    assert migrations.current(app.extensions["engine"]) == "0003"
