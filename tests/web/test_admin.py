"""Administrators manage every user and read a paged, filtered, readable audit log."""

from __future__ import annotations

from sqlmodel import select

from survey_service import audit as audit_log
from survey_service.models import AuditEvent, User
from tests.factories import make_unit, make_user
from tests.web.test_sessions import _logged_in_cookie, _replay, stored


def _admin_client(app):
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "admin", "password": "password123"})
    assert response.status_code == 302
    return client


def _user(app, username) -> User:
    with stored(app) as session:
        return session.exec(select(User).where(User.username == username)).one()


def test_all_users_are_listed_unit_staff_too(app):
    with stored(app) as session:
        unit = make_unit(session, code="JC022", name="奓山街派出所")
        make_user(session, username="admin", role="admin")
        make_user(session, username="unit_jc022", role="unit", unit=unit)
        make_user(session, username="agent1", role="agent")
    page = _admin_client(app).get("/admin/users").get_data(as_text=True)
    table = page[page.index('<table id="users">') :]
    for text in (
        "unit_jc022",
        "JC022 奓山街派出所",
        "单位填报员",
        "agent1",
        "话务员",
        "共 3 个用户",
    ):
        assert text in page, text
    assert table.count("<tr>") == 4


def test_admin_changes_role_resets_password_and_disables(app):
    """Is a role change audited with old and new role; do reset and disabling end sessions?"""
    with stored(app) as session:
        make_user(session, username="admin", role="admin")
        make_user(session, username="li", role="agent")
    li = _user(app, "li")
    admin = _admin_client(app)
    response = admin.post(
        f"/admin/users/{li.id}",
        data={"display_name": "李明", "role": "statistician", "unit_code": ""},
    )
    assert response.status_code == 302
    li = _user(app, "li")
    assert (li.role, li.display_name) == ("statistician", "李明")
    cookie = _logged_in_cookie(app.test_client(), "li")
    assert _replay(app, cookie)
    response = admin.post(f"/admin/users/{li.id}/password", data={"password": "new-pass-123"})
    assert response.status_code == 302
    assert not _replay(app, cookie)
    cookie = _logged_in_cookie_with(app, "li", "new-pass-123")
    assert _replay(app, cookie)
    assert admin.post(f"/admin/users/{li.id}/active", data={"active": "0"}).status_code == 302
    assert not _replay(app, cookie)
    assert _user(app, "li").active is False
    with stored(app) as session:
        events = session.exec(
            select(AuditEvent.action, AuditEvent.detail).where(AuditEvent.object_id == str(li.id))
        ).all()
    actions = [a for a, _ in events]
    assert actions.count("user.role") == 1
    assert actions.count("user.password") == 1 and actions.count("user.disable") == 1
    role_detail = next(d for a, d in events if a == "user.role")
    assert role_detail == {"username": "li", "old_role": "agent", "new_role": "statistician"}


def _logged_in_cookie_with(app, username, password) -> str:
    response = app.test_client().post(
        "/auth/login", data={"username": username, "password": password}
    )
    assert response.status_code == 302
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    return header.split(";", 1)[0].split("=", 1)[1]


def test_an_admin_cannot_disable_or_demote_themself(app):
    with stored(app) as session:
        make_user(session, username="admin", role="admin")
    admin_id = _user(app, "admin").id
    client = _admin_client(app)
    response = client.post(f"/admin/users/{admin_id}/active", data={"active": "0"})
    assert "不能停用自己的账号" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post(
        f"/admin/users/{admin_id}", data={"display_name": "", "role": "agent", "unit_code": ""}
    )
    assert "不能修改自己的角色" in response.get_data(as_text=True)
    assert _user(app, "admin").role == "admin" and _user(app, "admin").active


def test_audit_log_is_paged_filtered_and_readable(app):
    """Does the log show Chinese action names and details, 50 a page, filtered by who/what?"""
    with stored(app) as session:
        admin = make_user(session, username="admin", role="admin")
        reviewer = make_user(session, username="reviewer", role="reviewer")
        for i in range(60):
            audit_log.record(
                session,
                user=reviewer,
                action="list.approve",
                object_type="client_list",
                object_id=i + 1,
                note=f"同意{i + 1}",
            )
        audit_log.record(session, user=admin, action="phone.view", object_type="case", object_id=7)
    client = _admin_client(app)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "共 64 条，第 1 / 2 页。" in page  # 2 user.create, 60 approvals, 1 reveal, 1 log-in
    assert page.count("<tr><td>") == 50
    assert "审核通过名单" in page and "说明：同意60" in page and "名单 #60" in page
    assert "{&#34;" not in page and '{"' not in page  # no raw JSON
    assert 'id="next-page"' in page
    page2 = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert page2.count("<tr><td>") == 14 and "创建用户" in page2
    filtered = client.get("/admin/audit?who=admin&action=phone.view").get_data(as_text=True)
    assert "共 1 条" in filtered and "查看完整号码" in filtered and "样本个案 #7" in filtered
    by_object = client.get("/admin/audit?object=client_list%2359").get_data(as_text=True)
    assert "共 1 条" in by_object and "说明：同意59" in by_object
    by_date = client.get("/admin/audit?since=2000-01-01&until=2000-01-31")
    assert "共 0 条" in by_date.get_data(as_text=True)
    assert client.get("/admin/audit?since=yesterday").status_code == 400


def test_audit_labels():
    """Are actions, role changes and details named in Chinese, unknown codes kept as is?"""
    from survey_service.audit_labels import action_label, detail_items

    assert action_label("user.role") == "变更角色"
    assert action_label("export.report_xlsx") == "导出 report_xlsx"
    assert action_label("something.new") == "something.new"
    labels = {"agent": "话务员", "statistician": "统计员"}
    assert detail_items({"old_role": "agent", "new_role": "statistician"}, labels) == [
        "原角色：话务员",
        "新角色：统计员",
    ]
    assert detail_items({"mimetype": "text/csv", "rows": 3, "final": True}) == [
        "行数：3",
        "最终：是",
    ]
