"""The whole path through the web pages: upload, review, draw, interview, score, CSV."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime

import time_machine
from scipy import stats
from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import Answer, Case, Client, ClientList, ListStatus, SampleDraw
from survey_service.privacy.vault import NAME
from tests.factories import csv_content, make_unit, make_user, make_wave


def _interview(client, auth, username, ratings):
    """Log in as an agent, take the next case and answer the short script."""
    auth.login(username)
    response = client.post("/calls/next")
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(f"/calls/case/{case_id}").get_data(as_text=True)
    assert "138****" in page or "139****" in page  # masked number only
    steps = [
        ("screening", "dealt"),
        ("service_quality", ratings[0]),
        ("overall", ratings[1]),
        ("comment", "希望多开窗口"),
    ]
    for item_id, value in steps:
        response = client.post(
            f"/calls/case/{case_id}/answer", data={"item_id": item_id, "value": value}
        )
        assert response.status_code == 302, (item_id, response.get_data(as_text=True))
    auth.logout()
    return case_id


# The agents call on a Wednesday evening in Wuhan, inside the calling rules' day-parts.
@time_machine.travel(datetime(2017, 11, 1, 11, 0, tzinfo=UTC))
def test_thin_path(app, client, auth, session):
    """Can a list go from upload to a unit's score and a CSV, through the pages only?"""
    with transaction(session):
        unit = make_unit(session, code="JC022", name="奓山街派出所")
        make_user(session, username="unit1", role="unit", unit=unit)
        for role in ("reviewer", "statistician", "agent"):
            make_user(session, username=role, role=role)
        make_user(session, username="agent2", role="agent")
        make_wave(session, script_id="short_demo")

    # 1. The unit uploads a UTF-8 CSV with 10 good rows and one bad phone.
    auth.login("unit1")
    content = csv_content(10) + "坏号码,12345,户籍办理,2017-03-01,群众\n".encode()
    response = client.post(
        "/unit/lists",
        data={"file": (io.BytesIO(content), "名单.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    client_list = session.exec(select(ClientList)).one()
    assert (client_list.n_accepted, client_list.n_rejected) == (10, 1)
    detail = client.get(f"/unit/lists/{client_list.id}").get_data(as_text=True)
    assert "12345" in detail and "第 12 行" not in detail  # rows are listed by number
    assert client.post(f"/unit/lists/{client_list.id}/submit").status_code == 302
    auth.logout()

    # 2. The office approves it.
    auth.login("reviewer")
    response = client.post(
        f"/review/lists/{client_list.id}/decision", data={"decision": "approve", "note": "同意"}
    )
    assert response.status_code == 302
    session.refresh(client_list)
    assert client_list.status == ListStatus.APPROVED
    auth.logout()

    # 3. The statistician fixes the frame (2 per unit, 2 batches of 1 plus 2 in reserve),
    #    then draws with a seed given afterwards.
    auth.login("statistician")
    design = {
        "mode": "fixed",
        "per_unit": "2",
        "margin": "0.5",
        "sd": "2",
        "minimum": "30",
        "response_rate": "0.5",
        "eligibility_rate": "0.9",
        "allocation": "proportional",
        "by_kind": "y",
        "replicates": "2",
        "reserve": "2",
    }
    assert client.post("/statistics/frame", data=design).status_code == 302
    session.refresh(client_list)
    assert client_list.frozen
    draw = session.exec(select(SampleDraw)).one()
    assert (draw.status, draw.seed, len(draw.frame_hash)) == ("frame_fixed", None, 64)
    assert draw.frame_hash in client.get("/statistics/").get_data(as_text=True)
    response = client.post(f"/statistics/draws/{draw.id}/seed", data={"seed": "20170601"})
    assert response.headers["Location"] == f"/statistics/draws/{draw.id}"
    cases = session.exec(select(Case)).all()
    assert sorted((c.replicate, c.released) for c in cases) == [
        (1, True),
        (2, True),
        (3, False),
        (4, False),
    ]
    assert "一致" in client.get(f"/statistics/draws/{draw.id}").get_data(as_text=True)
    auth.logout()

    # 4. Two agents interview one respondent each.
    first = _interview(client, auth, "agent", ("satisfied", "very_satisfied"))  # 80, 100
    second = _interview(client, auth, "agent2", ("basically_satisfied", "satisfied"))  # 60, 80
    for case in session.exec(select(Case).where(Case.released)).all():
        session.refresh(case)
        assert (case.status, case.disposition) == ("final", "1.1")
    assert len(session.exec(select(Answer).where(Answer.case_id == first)).all()) == 4
    assert first != second

    # 5. The score: respondents 9.0 and 7.0; N=10, n=2 -> mean 8, se = sqrt((1-2/10)*2/2).
    auth.login("statistician")
    page = client.get("/statistics/results").get_data(as_text=True)
    assert "8.00" in page
    response = client.get("/statistics/results.csv")
    assert response.status_code == 200
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header, row = rows[0], rows[1]
    assert header[:12] == [
        "单位代码",
        "单位名称",
        "类别",
        "抽样框规模",
        "目标完成数",
        "已发放样本",
        "完成访问",
        "有效回答",
        "得分(10分制)",
        "标准误",
        "95%区间下限",
        "95%区间上限",
    ]
    assert row[:8] == ["JC022", "奓山街派出所", "基层站所", "10", "2", "2", "2", "2"]
    se = math.sqrt((1 - 2 / 10) * 2 / 2)
    half = stats.t.ppf(0.975, 1) * se
    assert float(row[8]) == 8.0
    assert math.isclose(float(row[9]), se, abs_tol=1e-4)
    assert math.isclose(float(row[10]), 8.0 - half, abs_tol=1e-4)  # -3.3648: t with df=1
    assert math.isclose(float(row[11]), 8.0 + half, abs_tol=1e-4)
    assert row[header.index("应答率RR3")] == "1.0"  # 2 completes of 2 released
    assert row[header.index("方法")] == "taylor"


def test_phones_are_encrypted_and_masked(app, session):
    """Is a phone stored encrypted, hashed and masked, and nowhere in clear?"""
    from flask import current_app

    from survey_service.lists import importing as list_import

    with transaction(session):
        unit = make_unit(session)
        wave = make_wave(session)
        list_import.import_client_list(
            session=session,
            unit=unit,
            wave=wave,
            content=csv_content(1),
            filename="a.csv",
            vault=current_app.extensions["phone_vault"],
        )
    client_row = session.exec(select(Client)).one()
    assert client_row.phone_masked == "138****0000"
    assert "13800000000" not in client_row.phone_enc
    assert current_app.extensions["phone_vault"].decrypt(client_row.phone_enc) == "+8613800000000"
    assert len(client_row.phone_hash) == 64


def test_unit_maps_an_unknown_header_by_hand(client, auth, session):
    """When the phone column's header is not recognised, can the unit name the column?"""
    with transaction(session):
        unit = make_unit(session)
        make_user(session, username="unit1", role="unit", unit=unit)
        make_wave(session)
    auth.login("unit1")
    content = "客户,号码甲,备注\n张三,13800000000,无\n李四,13900000000,无\n".encode()
    response = client.post(
        "/unit/lists",
        data={"file": (io.BytesIO(content), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and response.headers["Location"] == "/unit/"
    assert session.exec(select(ClientList)).all() == []  # refused whole: no phone column
    response = client.post(
        "/unit/lists",
        data={"file": (io.BytesIO(content), "a.csv"), "phone_column": "号码甲", "name_column": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    stored = session.exec(select(ClientList)).one()
    assert (stored.n_accepted, stored.n_rejected) == (2, 0)
    vault = client.application.extensions["phone_vault"]
    names = sorted(vault.decrypt_text(c.name, NAME) for c in session.exec(select(Client)).all())
    assert names == ["张三", "李四"]


def test_unit_uploads_its_staff_numbers(client, auth, session):
    """Are a unit's staff numbers stored as keyed hashes only, replacing the last upload?"""
    from survey_service.models import StaffNumber

    with transaction(session):
        unit = make_unit(session)
        make_user(session, username="unit1", role="unit", unit=unit)
        make_wave(session)
    auth.login("unit1")
    for content, expected in (
        ("电话\n13800000001\n13800000002\n12345\n", 2),
        ("电话\n13800000003\n", 1),
    ):
        response = client.post(
            "/unit/staff",
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(content.encode()), "staff.csv")},
        )
        assert response.status_code == 302
        session.expire_all()  # SQLite reuses the deleted rows' ids: forget the old objects
        stored = session.exec(select(StaffNumber)).all()
        assert len(stored) == expected
    vault = client.application.extensions["phone_vault"]
    assert [s.phone_hash for s in stored] == [vault.lookup_hash("+8613800000003")]
    assert 'id="staff-count">1<' in client.get("/unit/").get_data(as_text=True)
