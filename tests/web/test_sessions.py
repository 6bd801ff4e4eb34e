"""Session cookies and server-side revocation of sessions."""

from __future__ import annotations

import base64
import secrets

from survey_service.db import transaction
from tests.conftest import make_test_app
from tests.factories import make_user


def strong_production_config(**extra) -> dict:
    """Settings that pass the production key checks (random keys, https base URL)."""
    config = {
        "SURVEY_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SURVEY_DATA_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PUBLIC_BASE_URL": "https://survey.example.cn",
    }
    config.update(extra)
    return config


def _session_cookie_header(client, username: str) -> str:
    response = client.post("/auth/login", data={"username": username, "password": "password123"})
    assert response.status_code == 302
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    return header


def test_session_cookie_is_httponly_and_lax(client, session):
    """Does the log-in cookie carry HttpOnly and SameSite=Lax, and no Secure in development?"""
    with transaction(session):
        make_user(session, username="li", role="statistician")
    header = _session_cookie_header(client, "li")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header


def test_production_cookie_is_secure_whatever_the_case_of_survey_env(
    backend, database_urls, tmp_path
):
    """Does SURVEY_ENV=Production (any case) give a Secure, HttpOnly, Lax session cookie?"""
    app = make_test_app(
        database_urls[backend],
        tmp_path / "instance",
        **strong_production_config(SURVEY_ENV=" Production"),
    )
    try:
        assert app.config["SURVEY_ENV"] == "production"
        from survey_service.db import get_session

        with app.app_context():
            session = get_session()
            with transaction(session):
                make_user(session, username="li", role="statistician")
        header = _session_cookie_header(app.test_client(), "li")
        assert "Secure" in header
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header
    finally:
        from tests.conftest import empty_all_tables

        empty_all_tables(app.extensions["engine"])
        app.extensions["engine"].dispose()
