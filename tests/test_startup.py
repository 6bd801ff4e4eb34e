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


def _loaded_after(code: str, tmp_path) -> list[str]:
    env = dict(os.environ)
    env.update(
        SURVEY_INSTANCE_PATH=str(tmp_path / "instance"),
        SURVEY_DATA_KEY=DATA_KEY,
        SECRET_KEY="s" * 40,
        DATABASE_URL=f"sqlite:///{tmp_path / 'survey.sqlite'}",
    )
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


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
