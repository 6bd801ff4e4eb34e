"""The evaluation pages through the HTTP layer: imports, ranking, funnel, answer and 销号."""

from __future__ import annotations

import io
from datetime import date

from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import AuditEvent, Unit
from survey_service.models.evaluation import PartImport, Problem, ProblemStatus
from tests.evaluation.conftest import big_data_csv, build_district, part_csv
from tests.factories import make_user


def _upload(client, part, content, name="分项.csv"):
    return client.post(
        f"/evaluation/parts/{part}",
        data={"file": (io.BytesIO(content), name), "source": ""},
        content_type="multipart/form-data",
    )


def test_office_imports_ranks_and_exports(client, auth, session):
    build_district(session)
    auth.login("office")
    bad = _upload(client, "work_style", "单位代码,得分\nE01,11\nZZ,5\n".encode())
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "文件有 2 处错误，未导入任何数据" in page
    assert "得分 11 超出范围 0–10" in page and "未知的单位代码 ZZ" in page
    assert session.exec(select(PartImport)).all() == []
    for part, content in (
        ("work_style", part_csv(1)),
        ("supervision", part_csv(4)),
        ("big_data", big_data_csv()),
    ):
        assert _upload(client, part, content).status_code == 302
    page = client.get("/evaluation/ranking").get_data(as_text=True)
    assert page.count('class="num total"') == 12
    assert "名次取决于满意度抽样" in page
    response = client.post(
        "/evaluation/funnel", data={"decided_on": "2018-01-05", "document": "纪要1号"}
    )
    assert response.status_code == 302
    page = client.get("/evaluation/funnel").get_data(as_text=True)
    assert "第 1 轮：区纪委常委会（2018-01-05，纪要1号）" in page
    assert "第 2 轮建议名单（前、后各 15 名）" in page
    csv = client.get("/evaluation/exports/funnel.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert client.get("/evaluation/ranking.svg").mimetype == "image/svg+xml"
    assert client.get("/evaluation/exports/unit/E01.xlsx").status_code == 200
    actions = session.exec(
        select(AuditEvent.action).where(AuditEvent.action.startswith("export.evaluation"))
    ).all()
    assert actions == ["export.evaluation_funnel_csv", "export.evaluation_unit_xlsx"]


def test_unit_answers_and_the_office_closes(client, auth, session):
    wave, _office = build_district(session)
    with transaction(session):
        unit = session.exec(select(Unit).where(Unit.code == "E12")).one()
        make_user(session, username="unit12", role="unit", unit=unit)
        problem = Problem(
            wave_id=wave.id,
            unit_code="E12",
            seq=1,
            aspect="联系群众",
            source="comment",
            summary="窗口工作人员态度不好",
            mentions=3,
            issued_on=date(2018, 1, 5),
            deadline=date(2018, 1, 19),
        )
        session.add(problem)
    auth.login("unit12")
    page = client.get("/rectification/mine").get_data(as_text=True)
    assert "窗口工作人员态度不好" in page and "逾期" in page
    response = client.post(
        f"/rectification/problem/{problem.id}/answer", data={"measure": "开展文明服务培训"}
    )
    assert response.status_code == 302
    auth.logout()
    auth.login("office")
    response = client.post(
        f"/rectification/problem/{problem.id}/review", data={"decision": "close", "note": "已核实"}
    )
    assert response.status_code == 302
    session.expire_all()
    stored = session.get(Problem, problem.id)
    assert (stored.status, stored.measure, stored.review_note) == (
        ProblemStatus.CLOSED,
        "开展文明服务培训",
        "已核实",
    )
    page = client.get("/rectification/units/E12").get_data(as_text=True)
    assert "已销号" in page


def test_a_unit_sees_no_score_before_publication(client, auth, session):
    wave, _office = build_district(session, publish=False)
    with transaction(session):
        unit = session.exec(select(Unit).where(Unit.code == "E12")).one()
        make_user(session, username="unit12", role="unit", unit=unit)
    auth.login("unit12")
    page = client.get("/rectification/mine").get_data(as_text=True)
    assert "6.80" not in page
    assert "没有整改问题。" in page
    with transaction(session):
        wave.status = "published"
        session.add(wave)
    page = client.get("/rectification/mine").get_data(as_text=True)
    assert '<td class="num">6.80</td>' in page
