"""Start-up: importing the app (``flask --app wsgi …``) loads no heavy library it does not need.

A command such as ``clients check`` should start in well under a second, so
the libraries that only some pages or commands use are imported where they
are used. Checked in a fresh interpreter, by the modules it has loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA_KEY

ROOT = Path(__file__).resolve().parents[1]

# Libraries that cost a tenth of a second or more each to import, and what needs them.
HEAVY = {
    "numpy": "the results, the sample, the list checks' padding signals",
    "sampling": "the results and the sample (numpy, scipy)",
    "scipy": "statistics (sampling)",
    "matplotlib": "charts",
    "PIL": "charts (matplotlib)",
    "openpyxl": "Excel reports",
    "twilio.rest": "the twilio provider's REST client",
    "alibabacloud_dyvmsapi20170525": "the aliyun provider",
    "Tea": "the aliyun provider",
    "aiohttp": "the aliyun SDK",
    "requests": "the aliyun SDK",
    "mns": "aliyun receipts",
    "apscheduler": "the worker",
    "samplics": "nothing at run time",
}


# What a command that needs no database must start without: the database layer and the
# models, log-in, the pages, the key vault's cryptography.
WEB_APP = {
    "sqlalchemy": "the engine",
    "sqlmodel": "the models",
    "pydantic": "SQLModel",
    "survey_service.models": "the tables",
    "flask_login": "log-in",
    "flask_wtf": "CSRF and forms",
    "wtforms": "forms",
    "survey_service.security": "log-in and roles",
    "survey_service.blueprints": "the pages",
    "cryptography": "the key vault",
    "psycopg": "PostgreSQL",
    "alembic": "migrations",
}


def _env(tmp_path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SURVEY_INSTANCE_PATH=str(tmp_path / "instance"),
        SURVEY_DATA_KEY=DATA_KEY,
        SECRET_KEY="s" * 40,
        DATABASE_URL=f"sqlite:///{tmp_path / 'survey.sqlite'}",
    )
    return env


def _loaded_after(code: str, tmp_path) -> list[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def _command(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``flask --app wsgi ARGS`` as the shell does; its output and the modules it loaded."""
    modules = tmp_path / "modules.json"
    script = (
        "import atexit, json, sys\n"
        f"out = {str(modules)!r}\n"
        "atexit.register(lambda: open(out, 'w').write(json.dumps(sorted(sys.modules))))\n"
        "from flask.cli import main\n"
        f"sys.argv = ['flask', '--app', 'wsgi', *{list(args)!r}]\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True
    )
    return result, set(json.loads(modules.read_text()))


def _top(loaded: set[str], names) -> dict[str, str]:
    """Which of ``names`` (a package counts with its submodules) are loaded."""
    return {
        name: why
        for name, why in names.items()
        if name in loaded or any(module.startswith(name + ".") for module in loaded)
    }


def test_importing_the_app_loads_no_heavy_library(tmp_path):
    """Does ``import wsgi`` (the app created, every blueprint and command registered)
    leave numpy, scipy, matplotlib, openpyxl, the telephony SDKs and the scheduler unloaded?"""
    loaded = set(_loaded_after("import wsgi", tmp_path))
    assert "survey_service.blueprints.statistics" in loaded  # the app was really built
    assert "flask" in loaded and "sqlalchemy" in loaded
    assert {name: HEAVY[name] for name in HEAVY if name in loaded} == {}


def test_the_heavy_libraries_still_load_where_they_are_used(tmp_path):
    """Does drawing a chart, writing a workbook and building the providers load them?"""
    code = (
        "import wsgi\n"
        "from survey_service.results.render import charts, workbook\n"
        "charts.score_forest_svg([{'label': 'a', 'mean': 8.0, 'ci_low': 7.0, 'ci_high': 9.0}], "
        "title='t')\n"
        "workbook.build_workbook([workbook.Sheet('s', ['a'], [[1]])], properties={})\n"
        "import sampling\n"
        "sampling.sample_size([200, 300], sd=2.0)\n"
    )
    loaded = set(_loaded_after(code, tmp_path))
    assert {"matplotlib", "openpyxl", "scipy"} <= loaded


def test_the_export_routes_name_every_csv_table():
    """Are the table routes, written out for start-up's sake, the exports' tables?"""
    from survey_service.blueprints import exports as exports_blueprint
    from survey_service.results import exports

    assert tuple(exports.CSV_TABLES) == exports_blueprint.CSV_TABLE_NAMES


def test_clients_check_starts_without_the_database_and_the_pages(tmp_path):
    """Does ``flask --app wsgi clients check FILE`` check the file with none of SQLAlchemy,
    SQLModel, pydantic, the models, log-in, the blueprints or cryptography loaded?"""
    path = tmp_path / "list.csv"
    path.write_text("姓名,电话\n张三,13800138000\n李四,13912345678\n王五,1234\n", encoding="utf-8")
    result, loaded = _command(tmp_path, "clients", "check", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert [row["phone_e164"] for row in report["rows"] if row["status"] == "accepted"] == [
        "138****8000",
        "139****5678",
    ]
    assert "survey_service.lists.parsing" in loaded  # the check really ran here
    assert _top(loaded, {**WEB_APP, **HEAVY}) == {}


def test_calls_plan_and_help_start_without_the_database_and_the_pages(tmp_path):
    """Do ``calls plan FILE --json`` and ``--help`` run with the web app's libraries unloaded?"""
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps({"client_kind": "群众", "now": "2017-06-05T19:00:00+08:00", "attempts": []})
    )
    result, loaded = _command(tmp_path, "calls", "plan", str(case), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["next_at"] == "2017-06-05T19:00:00+08:00"
    assert "survey_service.calls.rules" in loaded
    assert _top(loaded, {**WEB_APP, **HEAVY}) == {}

    result, loaded = _command(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "clients  Client lists" in result.stdout and "sample " in result.stdout
    assert _top(loaded, {**WEB_APP, **HEAVY}) == {}


def test_a_database_command_still_gets_the_whole_app(tmp_path):
    """Does a command that uses the database (``db upgrade``) run on the whole app, and does
    ``clients check --full`` open the database it needs for its audit entry by itself?"""
    result, loaded = _command(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database at revision 00")
    assert {"sqlalchemy", "survey_service.security", "survey_service.blueprints.statistics"} <= (
        loaded
    )

    path = tmp_path / "list.csv"
    path.write_text("姓名,电话\n张三,13800138000\n", encoding="utf-8")
    result, loaded = _command(tmp_path, "clients", "check", str(path), "--full", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"][0]["phone_e164"] == "+8613800138000"
    assert "survey_service.blueprints" not in loaded
    code = (
        "import sqlite3, sys\n"
        f"db = sqlite3.connect({str(tmp_path / 'survey.sqlite')!r})\n"
        'print(db.execute("select action, object_id from audit_event").fetchall())\n'
    )
    audit = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert audit.stdout.strip() == "[('clients.check.reveal', 'list.csv')]"


def test_flask_routes_lists_the_pages(tmp_path):
    """Does ``flask routes`` (Flask's own command, which creates the app itself) see every
    blueprint's routes?"""
    result, loaded = _command(tmp_path, "routes")
    assert result.returncode == 0, result.stderr
    assert "statistics." in result.stdout and "/auth/login" in result.stdout
    assert "survey_service.blueprints.statistics" in loaded


def test_a_command_ends_with_its_engine_closed_and_the_collector_frozen(tmp_path):
    """After a command the engine is closed (SQLite's write-ahead log finished and removed,
    as its last connection does) and what is alive is frozen, so the interpreter's
    teardown does not walk it: the exit handlers registered before (this test's) see both."""
    seen = tmp_path / "seen.json"
    database = tmp_path / "survey.sqlite"
    script = (
        "import atexit, gc, json, os, sys\n"
        "def note():\n"
        f"    names = sorted(os.listdir({str(tmp_path)!r}))\n"
        f"    open({str(seen)!r}, 'w').write(json.dumps([gc.get_freeze_count() > 0, names]))\n"
        "atexit.register(note)\n"
        "from flask.cli import main\n"
        "sys.argv = ['flask', '--app', 'wsgi', 'db', 'upgrade']\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    frozen, names = json.loads(seen.read_text())
    assert frozen is True
    assert database.name in names
    assert [n for n in names if n.startswith(database.name + "-")] == []  # no -wal, no -shm
