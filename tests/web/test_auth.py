"""Log-in, log-out, CSRF and redirects."""

from __future__ import annotations

import re

from survey_service.db import transaction
from survey_service.models import AuditEvent
from tests.factories import make_user


def test_login_and_logout(client, auth, session):
    """Does a good password log in (audited) and a bad one answer 401?"""
    with transaction(session):
        user = make_user(session, username="li", role="statistician")
    response = auth.login("li", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    response = auth.login("li")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/statistics/"
    events = session.exec(AuditEvent.__table__.select()).all()
    assert [(e.action, e.user_id) for e in events][-1] == ("auth.login", user.id)
    assert auth.logout().headers["Location"] == "/auth/login"
    assert client.get("/statistics/").status_code == 302


def test_inactive_user_cannot_log_in(client, auth, session):
    with transaction(session):
        user = make_user(session, username="old", role="agent")
        user.active = False
        session.add(user)
    assert auth.login("old").status_code == 401


def test_next_parameter_never_leaves_the_site(client, session):
    """Is ?next=//evil.example ignored after log-in?"""
    with transaction(session):
        make_user(session, username="li", role="statistician")
    for target, expected in (
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/statistics/results", "/statistics/results"),
    ):
        response = client.post(
            f"/auth/login?next={target}", data={"username": "li", "password": "password123"}
        )
        assert response.headers["Location"] == expected, target
        client.post("/auth/logout")


def test_csrf_is_enforced(app, session):
    """With CSRF on (as in production), is a form post without its token refused?"""
    app.config["WTF_CSRF_ENABLED"] = True
    with transaction(session):
        make_user(session, username="li", role="statistician")
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "li", "password": "password123"})
    assert response.status_code == 400
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login", data={"username": "li", "password": "password123", "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.post("/auth/logout").status_code == 400  # the log-out form needs it too


def test_health_check_is_public(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
