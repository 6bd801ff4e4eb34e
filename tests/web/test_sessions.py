"""Session cookies and server-side revocation of sessions."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session, select

from survey_service.db import get_session, transaction
from survey_service.models import AuditEvent, User
from tests.conftest import make_test_app
from tests.factories import make_user


@contextmanager
def stored(app) -> Iterator[Session]:
    """One committed unit of work in its own app context.

    The requests of a test must not share the test's app context: flask-login
    caches the loaded user on ``g``, which would hide a revoked session.
    """
    with app.app_context():
        session = get_session()
        with transaction(session):
            yield session


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
        with stored(app) as session:
            make_user(session, username="li", role="statistician")
        header = _session_cookie_header(app.test_client(), "li")
        assert "Secure" in header
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header
    finally:
        from tests.conftest import empty_all_tables

        empty_all_tables(app.extensions["engine"])
        app.extensions["engine"].dispose()


def _logged_in_cookie(client, username: str) -> str:
    header = _session_cookie_header(client, username)
    return header.split(";", 1)[0].split("=", 1)[1]


def _replay(app, cookie: str) -> bool:
    """Is a fresh browser presenting a saved session cookie logged in?"""
    other = app.test_client()
    other.set_cookie("session", cookie)
    location = other.get("/").headers["Location"]
    assert location in ("/statistics/", "/auth/login?next=%2F"), location
    return location == "/statistics/"


def test_a_cookie_saved_before_logout_no_longer_works(app, client):
    """After log-out, is a copy of the old session cookie refused (server-side revocation)?"""
    with stored(app) as session:
        make_user(session, username="li", role="statistician")
    cookie = _logged_in_cookie(client, "li")
    assert _replay(app, cookie)
    assert client.post("/auth/logout").status_code == 302
    assert not _replay(app, cookie)
    # Logging in again gives a new, working session.
    assert _replay(app, _logged_in_cookie(app.test_client(), "li"))


def _li(session: Session) -> User:
    return session.exec(select(User).where(User.username == "li")).one()


def test_new_password_and_disabling_end_the_users_sessions(app):
    """Do a password change and disabling each end sessions issued before, and only the user's?"""
    from survey_service.setup.users import set_active, set_password

    with stored(app) as session:
        make_user(session, username="li", role="statistician")
        make_user(session, username="wang", role="statistician")
    li_cookie = _logged_in_cookie(app.test_client(), "li")
    wang_cookie = _logged_in_cookie(app.test_client(), "wang")
    with stored(app) as session:
        set_password(session=session, user=_li(session), password="another-pass-1", actor=None)
    assert not _replay(app, li_cookie)
    assert _replay(app, wang_cookie)
    li_cookie = app.test_client().post(
        "/auth/login", data={"username": "li", "password": "another-pass-1"}
    )
    li_cookie = li_cookie.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    assert _replay(app, li_cookie)
    with stored(app) as session:
        set_active(session=session, user=_li(session), active=False, actor=None)
    assert not _replay(app, li_cookie)
    assert _replay(app, wang_cookie)
    with stored(app) as session:
        actions = session.exec(select(AuditEvent.action)).all()
    assert actions.count("user.password") == 1 and actions.count("user.disable") == 1


def test_a_session_id_of_the_old_format_is_refused(app):
    """Is a cookie naming only the user id (no epoch), or a huge id, treated as logged out?"""
    with stored(app) as session:
        user = make_user(session, username="li", role="statistician")
    for forged in (str(user.id), f"{user.id}:x", "99999999999999999999:0"):
        browser = app.test_client()
        with browser.session_transaction() as cookie_session:
            cookie_session["_user_id"] = forged
            cookie_session["_fresh"] = True
        assert browser.get("/").headers["Location"] == "/auth/login?next=%2F", forged


def test_messages_left_unread_stop_growing_the_cookie(client, auth, session):
    """Does a client that posts without loading pages keep only the latest 5 messages?"""
    from survey_service.security import MAX_PENDING_FLASHES

    with transaction(session):
        make_user(session, username="li", role="agent")
    auth.login("li")
    sizes = []
    for _ in range(12):  # no wave: each take-next says there is nothing to call
        answer = client.post("/calls/next")
        assert answer.status_code == 302
        with client.session_transaction() as cookie_session:
            sizes.append(len(cookie_session.get("_flashes", [])))
    assert MAX_PENDING_FLASHES == 5
    assert sizes == [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5]
    page = client.get("/calls/").get_data(as_text=True)
    assert page.count("当前没有待拨打的样本。") == 5
    with client.session_transaction() as cookie_session:
        assert "_flashes" not in cookie_session
