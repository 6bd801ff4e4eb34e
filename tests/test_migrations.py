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
