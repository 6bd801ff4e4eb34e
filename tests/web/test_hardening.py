"""Security headers, body limits per route and out-of-range ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from survey_service.db import transaction
from survey_service.web_hardening import CONTENT_SECURITY_POLICY
from tests.factories import make_unit, make_user
from tests.web.test_sessions import strong_production_config

TEMPLATES = Path(__file__).parents[2] / "survey_service" / "templates"


def test_templates_have_no_inline_script_style_or_handler():
    """Can the pages satisfy a CSP without 'unsafe-inline' (no inline code at all)?"""
    offences = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"\son[a-z]+\s*=",
            r"\sstyle\s*=",
            r"<style",
        ):
            offences += [f"{path.name}: {m}" for m in re.findall(pattern, text)]
        offences += [f"{path.name}: javascript:" for _ in re.findall("javascript:", text)]
    assert offences == []


def _assert_hardened(response, *, no_store: bool = True):
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert (headers.get("Cache-Control") == "no-store") is no_store


def test_every_kind_of_response_carries_the_security_headers(client, auth, session):
    """Do the log-in page, a logged-in page, a 404, a redirect and JSON carry the headers?"""
    with transaction(session):
        make_user(session, username="admin", role="admin")
    _assert_hardened(client.get("/auth/login"))
    _assert_hardened(client.get("/healthz"))
    _assert_hardened(client.get("/admin/users"))  # a redirect to log-in
    auth.login("admin")
    page = client.get("/admin/users")
    assert page.status_code == 200
    _assert_hardened(page)
    _assert_hardened(client.get("/no/such/page"))
    assert "Strict-Transport-Security" not in page.headers  # development: plain http is fine
    static = client.get("/static/style.css")
    _assert_hardened(static, no_store=False)
    static.close()


def test_production_adds_hsts(backend, database_urls, tmp_path):
    from tests.conftest import make_test_app

    app = make_test_app(database_urls[backend], tmp_path / "instance", **strong_production_config())
    try:
        response = app.test_client().get("/auth/login")
        assert (
            response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        )
    finally:
        app.extensions["engine"].dispose()


def test_log_in_and_webhooks_refuse_a_large_body(client):
    """Is a 100 KB log-in post or webhook refused with 413 and a zh-CN message?"""
    big = {"username": "li", "password": "x" * 100_000}
    response = client.post("/auth/login", data=big)
    assert response.status_code == 413
    assert "请求内容过大：此处最多接受 64 KB。" in response.get_data(as_text=True)
    response = client.post("/ivr/call/1/token/status", data={"CallStatus": "x" * 100_000})
    assert response.status_code == 413
    assert response.get_json() == {"error": "请求内容过大：此处最多接受 64 KB。", "status": 413}


def test_uploads_take_large_files_up_to_max_upload_mb(app, client, auth, session):
    """Does the list upload accept a 200 KB file, and refuse one over MAX_UPLOAD_MB with 413?"""
    app.config["MAX_UPLOAD_MB"] = 1
    with transaction(session):
        unit = make_unit(session, code="JC022")
        make_user(session, username="unit1", role="unit", unit=unit)
    auth.login("unit1")
    upload_rule = next(
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("units.") and "POST" in r.methods and "upload" in r.endpoint
    )
    url = upload_rule.rule
    from io import BytesIO

    response = client.post(url, data={"file": (BytesIO(b"a" * 200_000), "名单.csv")})
    assert response.status_code == 302  # read and handled by the upload view
    # A body built by hand: the test client would spool a large form to a temp file
    # that nobody closes when the app refuses it unread.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        + b"a" * 1_200_000
        + b"\r\n--b--\r\n"
    )
    response = client.post(url, data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert "上传的文件过大：最多接受 1 MB" in response.get_data(as_text=True)


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        if any(
            type(c).__name__ == "IdConverter" or "Integer" in type(c).__name__
            for c in rule._converters.values()
        ):
            yield rule


@pytest.mark.parametrize("huge", [2**31, 10**20])
def test_out_of_range_ids_are_404_on_every_route(app, session, huge):
    """Does every <int:...> route answer 404 (never 500) to an id beyond the column?"""
    with transaction(session):
        unit = make_unit(session, code="JC022")
        make_user(session, username="unit", role="unit", unit=unit)
        for role in ("reviewer", "agent", "supervisor", "statistician", "admin"):
            make_user(session, username=role, role=role)
    rules = list(_int_routes(app))
    assert len(rules) >= 10
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        roles = sorted(getattr(view, "allowed_roles", ()))
        client = app.test_client()
        if roles:
            client.post("/auth/login", data={"username": roles[0].value, "password": "password123"})
        values = {
            name: huge if "Integer" in type(c).__name__ or "Id" in type(c).__name__ else "x"
            for name, c in rule._converters.items()
        }
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<[^>:]*:?{name}>", str(value), path)
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(path, method=method)
        assert response.status_code == 404, (path, response.status_code)
