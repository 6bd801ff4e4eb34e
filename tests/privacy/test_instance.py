"""The instance folder and the SQLite database are readable by their owner only."""

from __future__ import annotations

import os
import stat

from sqlalchemy import text

from survey_service import create_app, migrations
from tests.conftest import DATA_KEY


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_instance_folder_and_sqlite_files_are_owner_only(tmp_path, monkeypatch):
    """Are instance/ 0700 and survey.sqlite with its -wal and -shm 0600, whatever the umask?"""
    instance = tmp_path / "instance"
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    old_umask = os.umask(0o022)
    try:
        app = create_app({"TESTING": True, "SECRET_KEY": "x" * 32, "SURVEY_DATA_KEY": DATA_KEY})
        engine = app.extensions["engine"]
        migrations.upgrade(engine)
        with engine.connect() as connection:  # keeps the WAL and shared memory open
            connection.execute(text("SELECT count(*) FROM client")).one()
            database = instance / "survey.sqlite"
            assert app.config["DATABASE_URL"] == f"sqlite:///{database}"
            assert _mode(instance) == 0o700
            assert _mode(instance / "tmp") == 0o700
            assert {p.name: _mode(p) for p in instance.iterdir() if p.is_file()} == {
                "survey.sqlite": 0o600,
                "survey.sqlite-wal": 0o600,
                "survey.sqlite-shm": 0o600,
            }
        engine.dispose()
        os.chmod(database, 0o644)  # a database made by an older version
        os.chmod(instance, 0o755)
        again = create_app({"TESTING": True, "SECRET_KEY": "x" * 32, "SURVEY_DATA_KEY": DATA_KEY})
        again.extensions["engine"].dispose()
        assert (_mode(instance), _mode(database)) == (0o700, 0o600)
    finally:
        os.umask(old_umask)
