"""The instance folder and the SQLite files are private; SQL parameters are never logged."""

from __future__ import annotations

import logging
import os
import re
import stat

import pytest
from sqlalchemy import text

from survey_service import create_app, migrations
from survey_service.db import make_engine, transaction
from tests.factories import csv_content, make_unit, make_wave, upload_list


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_instance_folder_and_sqlite_files_are_owner_only(tmp_path, monkeypatch):
    """With no DATABASE_URL, are instance/, its keys and survey.sqlite(-wal, -shm) 0700/0600?"""
    old_umask = os.umask(0o022)
    try:
        instance = tmp_path / "instance"
        monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(instance))
        app = create_app({"TESTING": True})
        engine = app.extensions["engine"]
        migrations.upgrade(engine)
        with engine.connect() as connection:  # the WAL files exist while a connection is open
            connection.execute(text("SELECT count(*) FROM unit"))
            database = instance / "survey.sqlite"
            assert _mode(instance) == 0o700
            assert {p.name: _mode(p) for p in sorted(instance.iterdir())} == {
                "data.key": 0o600,
                "secret_key": 0o600,
                "survey.sqlite": 0o600,
                "survey.sqlite-shm": 0o600,
                "survey.sqlite-wal": 0o600,
                "tmp": 0o700,  # the temporary copies of uploads (privacy.files)
            }
            assert database.exists()
        engine.dispose()
    finally:
        os.umask(old_umask)


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    database = tmp_path / "old.sqlite"
    database.write_bytes(b"")
    database.chmod(0o644)
    make_engine(f"sqlite:///{database}").dispose()
    assert _mode(database) == 0o600


def test_no_sql_parameter_reaches_the_logs(session, caplog):
    """At DEBUG, does an import log SQL without its names, numbers, ciphertexts or hashes?"""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    try:
        with transaction(session):
            unit = make_unit(session, code="JC022")
            wave = make_wave(session)
            upload_list(session, unit, wave, csv_content(5))
        statements = [r for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
        assert any("INSERT INTO client" in r.getMessage() for r in statements)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "SQL parameters hidden" in logged
        for secret in ("客户1", "奓山街派出所", "13800000000", "1380000000", "JC022"):
            assert secret not in logged, secret
        assert re.search(r"[0-9a-f]{64}", logged) is None  # lookup hashes
        assert "v1:" not in logged  # phone ciphertexts
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def test_a_database_error_names_no_parameter(session):
    """Does the error a failed statement raises (and a traceback logs) leave its values out?"""
    from sqlalchemy.exc import IntegrityError

    from survey_service.models import Unit

    with transaction(session):
        make_unit(session, code="JC022", name="奓山街派出所")
    with pytest.raises(IntegrityError) as info, transaction(session):
        session.add(Unit(code="JC022", name="13912345678", category="基层站所"))
        session.flush()
    assert "13912345678" not in str(info.value)
    assert "SQL parameters hidden" in str(info.value)
