"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from survey_service import migrations

VERSIONS = Path(migrations.__file__).parent / "versions"


def newest_revision() -> str:
    """The head of the chain: the one revision no other names as its down_revision."""
    revisions, parents = set(), set()
    for path in VERSIONS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revisions.add(re.search(r"^revision: str = [\"']([^\"']+)", text, re.M).group(1))
        down = re.search(r"^down_revision: str \| None = [\"']([^\"']+)", text, re.M)
        if down:
            parents.add(down.group(1))
    (head,) = revisions - parents
    return head


def test_migrations_match_models(app):
    """Does `db upgrade` produce the models' schema, with nothing missing or extra?"""
    engine = app.extensions["engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []
    assert migrations.current(engine) == newest_revision()


def test_upgrade_is_idempotent(app):
    """Can `db upgrade` run again on a current database without error?"""
    migrations.upgrade(app.extensions["engine"])
    assert migrations.current(app.extensions["engine"]) == newest_revision()


def test_client_list_index_is_brin_on_postgresql(app):
    """Is client.list_id a BRIN index that summarises itself on PostgreSQL, a B-tree on SQLite?"""
    engine = app.extensions["engine"]
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            definition = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_client_list_id'"
            ).scalar_one()
            assert definition == (
                "CREATE INDEX ix_client_list_id ON public.client USING brin (list_id)"
                " WITH (autosummarize='on')"
            )
        else:
            (name, unique, _origin, _partial), *others = [
                row[1:]
                for row in connection.exec_driver_sql("PRAGMA index_list('client')")
                if row[1] == "ix_client_list_id"
            ]
            assert (name, unique, others) == ("ix_client_list_id", 0, [])
