"""Full numbers shown only on an audited reveal, by a role allowed to see them."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import AuditEvent, User
from survey_service.privacy.vault import mask_name, mask_raw
from tests.factories import make_unit, make_user, make_wave, upload_list

FULL = "13812345678"
CONTENT = (
    f"姓名,联系电话\n张建国,{FULL}\n王重复,{FULL}\n赵错号,138-1234-56789\n钱短号,12345\n"
).encode()


@pytest.fixture
def world(session):
    with transaction(session):
        unit = make_unit(session)
        other = make_unit(session, code="U002", name="区排水中心")
        staff = make_user(session, username="staff", role="unit", unit=unit)
        make_user(session, username="other_staff", role="unit", unit=other)
        make_user(session, role="reviewer")
        make_user(session, role="admin")
        wave = make_wave(session)
        client_list = upload_list(session, unit, wave, CONTENT, actor=staff)
    return client_list


def _reveals(session):
    session.expire_all()
    return [
        (e.user_id, e.object_id, e.detail)
        for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "list.issues.reveal")
        ).all()
    ]


def test_mask_raw():
    assert [
        mask_raw(v)
        for v in [FULL, "138-1234-56789", "8888666", "12345", "abc", None, "+86 138 1234 5678"]
    ] == [
        "138****5678",
        "138-****-*6789",
        "*****66",
        "12345",
        "abc",
        None,
        "+86 1** **** 5678",  # the first three digits: 86 counts
    ]


@pytest.mark.parametrize("user", ["staff", "reviewer", "admin"])
def test_page_and_csv_are_masked_by_default(client, auth, session, world, user):
    """Does everyone who may open the list see its rejected numbers masked only?"""
    auth.login(user)
    page = client.get(f"/unit/lists/{world.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert FULL not in body and "138****5678" in body and "138-****-*6789" in body
    # Each row's name beside it, masked like the numbers.
    assert "王*复" in body and "赵*号" in body and "钱*号" in body
    assert "王重复" not in body and "赵错号" not in body
    csv = client.get(f"/unit/lists/{world.id}/errors.csv")
    text = csv.get_data().decode("utf-8-sig")
    assert csv.headers["Cache-Control"] == "no-store"
    assert text.splitlines()[0] == "行号,姓名,办理事项,字段,原始值,原因代码,原因"
    assert [line.split(",")[:6] for line in text.splitlines()[1:]] == [
        ["3", "王*复", "", "联系电话列", "138****5678", "duplicate_in_file"],
        ["4", "赵*号", "", "联系电话列", "138-****-*6789", "invalid_phone"],
        ["5", "钱*号", "", "联系电话列", "12345", "invalid_phone"],
    ]
    assert FULL not in text and "56789" not in text and "12345" in text
    assert ("显示完整原始值" in body) == (user != "admin")
    assert _reveals(session) == []


@pytest.mark.parametrize("user", ["staff", "reviewer"])
def test_reveal_is_audited(client, auth, session, world, user):
    """Does the reviewer, or the unit's own staff, get the full values, each time audited?"""
    auth.login(user)
    page = client.post(f"/unit/lists/{world.id}/reveal")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert FULL in body and "138-1234-56789" in body and "王重复" in body and "赵错号" in body
    csv = client.post(f"/unit/lists/{world.id}/errors-full.csv")
    rows = csv.get_data().decode("utf-8-sig").splitlines()
    assert rows[1].split(",")[:5] == ["3", "王重复", "", "联系电话列", FULL]
    assert csv.headers["Cache-Control"] == "no-store"
    user_id = session.exec(select(User.id).where(User.username == user)).one()
    reveals = _reveals(session)
    assert [(r[1], r[2]) for r in reveals] == [
        (str(world.id), {"rows": 3, "where": "page"}),
        (str(world.id), {"rows": 3, "where": "csv"}),
    ]
    assert {r[0] for r in reveals} == {user_id}


def test_reveal_refused_to_others(client, auth, session, world):
    """Is the reveal refused to the admin (403) and to another unit's staff (404)?"""
    auth.login("admin")
    assert client.post(f"/unit/lists/{world.id}/reveal").status_code == 403
    assert client.post(f"/unit/lists/{world.id}/errors-full.csv").status_code == 403
    auth.logout()
    auth.login("other_staff")
    assert client.post(f"/unit/lists/{world.id}/reveal").status_code == 404
    assert client.post(f"/unit/lists/{world.id}/errors-full.csv").status_code == 404
    assert _reveals(session) == []


def _check(runner, tmp_path, *extra):
    path = tmp_path / "list.csv"
    path.write_bytes(CONTENT)
    result = runner.invoke(args=["clients", "check", str(path), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_clients_check_masks_unless_full(runner, session, tmp_path):
    """Does clients check print masked numbers, and full ones only with an audit entry?"""
    masked = _check(runner, tmp_path, "--json")
    rows = json.loads(masked)["rows"]
    assert [(r["raw"], r["phone_e164"]) for r in rows] == [
        ("138****5678", "138****5678"),
        ("138****5678", None),
        ("138-****-*6789", None),
        ("12345", None),
    ]
    assert FULL not in masked and FULL not in _check(runner, tmp_path)
    assert session.exec(select(AuditEvent)).all() == []
    full = json.loads(_check(runner, tmp_path, "--json", "--full"))["rows"]
    assert [(r["raw"], r["phone_e164"]) for r in full][:2] == [
        (FULL, "+86" + FULL),
        (FULL, None),
    ]
    session.expire_all()
    events = session.exec(select(AuditEvent)).all()
    assert [(e.action, e.object_id, e.detail["rows"]) for e in events] == [
        ("clients.check.reveal", "list.csv", 4)
    ]


def test_mask_name():
    """Is a rejected row's name shown by its first (and last) character only?"""
    assert [
        mask_name(v) for v in ["张三", "张建国", "欧阳建国", "王", "武汉某某有限公司", "", None]
    ] == [
        "张*",
        "张*国",
        "欧**国",
        "*",
        "武******司",
        "",
        None,
    ]
