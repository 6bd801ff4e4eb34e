"""The export downloads over HTTP: who may take what, content types, the audit log."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from sqlmodel import func, select

from survey_service.blueprints import exports as exports_blueprint
from survey_service.db import transaction
from survey_service.models import AuditEvent, Unit
from survey_service.results import estimates as results
from survey_service.results import exports
from tests.factories import make_unit, make_user, make_wave
from tests.results.test_exports import build_wave, parse_csv

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREFIX = "/statistics/exports"
AGGREGATES = ["/report.xlsx", *[f"/{name}.csv" for name in exports.CSV_TABLES]]


def _register(app) -> None:
    if "exports" not in app.blueprints:  # until the app registers it itself
        app.register_blueprint(exports_blueprint.bp, url_prefix=PREFIX)


def _user(session, role: str) -> None:
    """A user named after its role (password hashing is slow: only the one a test needs)."""
    with transaction(session):
        unit = session.exec(select(Unit).where(Unit.code == "A")).first() or make_unit(
            session, code="A"
        )
        if role != "reviewer":  # build_wave makes the reviewer
            make_user(session, username=role, role=role, unit=unit if role == "unit" else None)


@pytest.fixture
def world(app, session):
    """The blueprint and a wave with interviews (tests/results/test_exports.py)."""
    _register(app)
    return build_wave(session)


@pytest.fixture
def bare(app, session):
    """The blueprint and a wave without a sample."""
    _register(app)
    with transaction(session):
        make_wave(session)


def _events(session, action: str | None = None) -> int:
    query = select(func.count(AuditEvent.id)).where(AuditEvent.action.startswith("export."))
    if action:
        query = query.where(AuditEvent.action == action)
    return session.exec(query).one()


def test_statistician_gets_every_export_and_each_is_audited(client, auth, session, world):
    _user(session, "statistician")
    auth.login("statistician")
    response = client.get(f"{PREFIX}/report.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert "各单位得分" in book.sheetnames and "说明" in book.sheetnames
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "export.report_xlsx")).one()
    assert event.object_type == "wave" and event.object_id == str(world.id)
    assert event.detail["rows"] > 0
    assert event.user_id is not None
    for name in exports.CSV_TABLES:
        response = client.get(f"{PREFIX}/{name}.csv")
        assert response.status_code == 200, name
        assert response.content_type == "text/csv; charset=utf-8"
        _header, rows = parse_csv(response.data)
        assert _events(session, f"export.{name}_csv") == 1
        detail = session.exec(
            select(AuditEvent.detail).where(AuditEvent.action == f"export.{name}_csv")
        ).one()
        assert detail["rows"] == len(rows)
    response = client.get(f"{PREFIX}/microdata.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert parse_csv(response.data)[0][:3] == ["pseudonym", "unit", "stratum"]
    assert _events(session, "export.microdata_csv") == 1
    response = client.get(f"{PREFIX}/microdata.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert names == ["microdata.csv", "load_microdata.R", "load_microdata.do", "dictionary.md"]
    assert _events(session, "export.microdata_zip") == 1
    assert _events(session) == 3 + len(exports.CSV_TABLES)
    page = client.get(f"{PREFIX}/").get_data(as_text=True)
    assert "download-microdata" in page and "download-comments" in page
    assert client.get(f"{PREFIX}/nothing.csv").status_code == 404


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_office_and_admin_get_aggregates_but_not_microdata(client, auth, session, world, role):
    _user(session, role)
    auth.login(role)
    for path in AGGREGATES:
        assert client.get(PREFIX + path).status_code == 200, path
    assert client.get(f"{PREFIX}/microdata.csv").status_code == 403
    assert client.get(f"{PREFIX}/microdata.zip").status_code == 403
    assert "download-microdata" not in client.get(f"{PREFIX}/").get_data(as_text=True)
    assert _events(session) == len(AGGREGATES)
    assert _events(session, "export.microdata_csv") == 0


@pytest.mark.parametrize("role", ["unit", "agent", "supervisor"])
def test_other_roles_get_nothing(client, auth, session, bare, role):
    _user(session, role)
    auth.login(role)
    for path in ["/", *AGGREGATES, "/microdata.csv", "/microdata.zip"]:
        assert client.get(PREFIX + path).status_code == 403, path
    assert _events(session) == 0


def test_anonymous_is_sent_to_log_in(client, bare):
    response = client.get(f"{PREFIX}/microdata.csv")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_results_page_ranks_everyone_and_lists_the_units_below_the_minimum(
    client, auth, session, world
):
    """Issue 16: every unit is ranked, the short ones are listed with why, assumptions said."""
    _user(session, "reviewer")
    auth.login("reviewer")
    page = client.get("/statistics/results").get_data(as_text=True)
    assert results.RANK_ASSUMPTION in page
    assert "低于最低要求的单位（4 个）" in page
    table = page[page.index('id="below-minimum"') :]
    assert '<tr data-code="C">' in table
    assert "名单过小：整份名单已全部发放拨打" in table and "应答过低：已发放样本均已结束" in table
    assert page.count('class="below-minimum"') == 4
    header, rows = parse_csv(client.get(f"{PREFIX}/below_minimum.csv").data)
    assert header[0] == "单位代码" and [r["单位代码"] for r in rows] == ["B", "A", "D", "C"]


def test_results_page_states_the_nonresponse(client, auth, session, world):
    _user(session, "reviewer")
    auth.login("reviewer")
    page = client.get("/statistics/results").get_data(as_text=True)
    assert 'id="nonresponse-note"' in page and "RR4" in page
    row = page[page.index('<tr data-code="C">') :]
    assert '<td class="num not-dialled">0</td>' in row[: row.index("</tr>")]
