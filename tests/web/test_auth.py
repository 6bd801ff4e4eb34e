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


def test_repeated_failures_lock_the_account_not_the_others(client, session, monkeypatch):
    """Do five wrong passwords lock 'li' (429, zh-CN message, audited) while 'wang' logs in?"""
    from datetime import UTC, datetime, timedelta

    from survey_service.blueprints import auth as auth_views

    clock = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(auth_views, "utcnow", lambda: clock[0])
    with transaction(session):
        make_user(session, username="li", role="statistician")
        make_user(session, username="wang", role="statistician")

    def attempt(username, password="wrong-password"):
        return client.post("/auth/login", data={"username": username, "password": password})

    assert attempt("li").status_code == 401
    assert attempt("li").status_code == 401
    too_soon = attempt("li", "password123")  # right password, but within the delay
    assert too_soon.status_code == 429
    assert too_soon.headers["Retry-After"] == "2"
    assert "登录尝试过于频繁，请 2 秒后再试。" in too_soon.get_data(as_text=True)
    for _ in range(3):
        clock[0] += timedelta(minutes=1)
        assert attempt("li").status_code == 401
    clock[0] += timedelta(minutes=1)
    locked = attempt("li", "password123")
    assert locked.status_code == 429
    assert "该账号登录失败次数过多，已暂时锁定，请 14 分钟后再试。" in locked.get_data(as_text=True)
    assert attempt("wang", "password123").status_code == 302
    client.post("/auth/logout")
    clock[0] += timedelta(minutes=15)
    assert attempt("li", "password123").status_code == 302
    actions = [e.action for e in session.exec(AuditEvent.__table__.select()).all()]
    assert actions.count("auth.login_failed") == 5
    assert actions.count("auth.locked") == 1


def test_failures_from_one_address_lock_that_address(app, session, monkeypatch):
    """Does one address trying many names get locked, while another address still logs in?"""
    from datetime import UTC, datetime, timedelta

    from survey_service.blueprints import auth as auth_views

    clock = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(auth_views, "utcnow", lambda: clock[0])
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    with transaction(session):
        make_user(session, username="li", role="statistician")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for name in ("a1", "a2", "a3", "a4"):
        clock[0] += timedelta(minutes=1)
        response = attacker.post("/auth/login", data={"username": name, "password": "x" * 9})
        assert response.status_code == 401, name
    response = attacker.post("/auth/login", data={"username": "li", "password": "password123"})
    assert response.status_code == 429
    assert "本机地址登录失败次数过多" in response.get_data(as_text=True)
    office = app.test_client()
    office.environ_base["REMOTE_ADDR"] = "203.0.113.20"
    response = office.post("/auth/login", data={"username": "li", "password": "password123"})
    assert response.status_code == 302
