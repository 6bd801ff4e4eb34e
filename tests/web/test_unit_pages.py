"""Unit staff's list pages: frozen lists, paged problem rows, the template, deleting a draft."""

from __future__ import annotations

import csv
import io
import re
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from survey_service.db import transaction
from survey_service.models import (
    AuditEvent,
    Client,
    ClientList,
    ListRowIssue,
    ListStatus,
    StoredFile,
    StoredFileChunk,
)
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave, upload_list

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _staff(session, auth, *, code="JC001", name="奓山街派出所"):
    with transaction(session):
        unit = make_unit(session, code=code, name=name)
        staff = make_user(session, username=f"staff-{code}", role="unit", unit=unit)
        wave = make_wave(session)
    auth.login(staff.username)
    return unit, staff, wave


def _issue_rows(page: str) -> list[int]:
    table = page[page.index('<table id="issues">') :]
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', table)]


def test_a_drawn_wave_says_the_list_is_frozen_instead_of_an_upload_form(client, session, auth):
    unit, _staff_user, wave = _staff(session, auth)
    with transaction(session):
        reviewer = make_user(session, username="office", role="reviewer")
        make_list(session, unit=unit, wave=wave, n=5, actor=reviewer)  # version 1
        draw = draws.draw_sample(session=session, wave=wave, seed=7, actor=reviewer, per_unit=2)
    drawn = draw.drawn_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    response = client.get("/unit/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert (
        f"名单已冻结：本轮样本已于 {drawn} 从第 1 版名单抽取，不能再上传新版本。"
        "如名单确有错误，请联系区治庸办。"
    ) in page
    assert 'action="/unit/lists"' not in page
    assert "下载名单模板" not in page


def test_a_fixed_frame_says_so_before_the_draw(client, session, auth):
    unit, _staff_user, wave = _staff(session, auth)
    with transaction(session):
        reviewer = make_user(session, username="office", role="reviewer")
        make_list(session, unit=unit, wave=wave, n=5, actor=reviewer)
        make_list(session, unit=unit, wave=wave, n=6, actor=reviewer)  # version 2, approved
        record = draws.fix_frame(
            session=session, wave=wave, design=draws.DrawDesign(per_unit=2), actor=reviewer
        )
    fixed = record.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    page = client.get("/unit/").get_data(as_text=True)
    assert f"名单已冻结：本轮抽样框已于 {fixed} 以第 2 版名单确定，不能再上传新版本。" in page


def test_an_open_wave_offers_the_form_and_the_template(client, session, auth):
    _staff(session, auth)
    page = client.get("/unit/").get_data(as_text=True)
    assert 'action="/unit/lists"' in page
    assert '<a href="/unit/lists/template.csv" id="list-template">下载名单模板（CSV）</a>' in page
    assert "名单已冻结" not in page


def test_the_template_is_the_header_and_one_example_row(client, session, auth, app):
    _staff(session, auth)
    response = client.get("/unit/lists/template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=list-template.csv; filename*=UTF-8''"
        "%E6%9C%8D%E5%8A%A1%E5%AF%B9%E8%B1%A1%E5%90%8D%E5%8D%95%E6%A8%A1%E6%9D%BF.csv"
    )
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [
        ["姓名", "联系电话", "办理事项", "办理时间", "类型"],
        ["张三", "13800138000", "户籍办理", "2017-05-12", "群众"],
    ]


def test_the_template_imports_as_one_good_row(client, session, auth):
    unit, staff, wave = _staff(session, auth)
    body = client.get("/unit/lists/template.csv").get_data()
    with transaction(session):
        stored = upload_list(session, unit, wave, body, filename="模板.csv", actor=staff)
    assert (stored.n_accepted, stored.n_rejected) == (1, 0)
    client_row = session.exec(select(Client)).one()
    assert (client_row.service, client_row.service_date, client_row.kind) == (
        "户籍办理",
        "2017-05-12",
        "群众",
    )


def test_more_than_500_problem_rows_are_paged_with_a_total(client, session, auth):
    unit, staff, wave = _staff(session, auth)
    lines = ["姓名,联系电话,办理事项"]
    for i in range(1203):
        lines.append(f"客户{i},12345,户籍办理")  # five digits: rejected
        lines.append(f"好号{i},138{i:08d},户籍办理")
    with transaction(session):
        stored = upload_list(session, unit, wave, ("\n".join(lines) + "\n").encode(), actor=staff)
    assert (stored.n_accepted, stored.n_rejected) == (1203, 1203)
    first = client.get(f"/unit/lists/{stored.id}")
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert "问题行共 1203 条，本页第 1–500 条（第 1/3 页）。" in page
    assert _issue_rows(page) == list(range(2, 1002, 2))
    assert f'href="/unit/lists/{stored.id}?page=2" id="next-page">下一页</a>' in page
    assert "上一页" not in page
    last = client.get(f"/unit/lists/{stored.id}?page=3").get_data(as_text=True)
    assert "问题行共 1203 条，本页第 1001–1203 条（第 3/3 页）。" in last
    assert _issue_rows(last) == list(range(2002, 2408, 2))
    assert f'href="/unit/lists/{stored.id}?page=2" id="prev-page">上一页</a>' in last
    assert "下一页" not in last
    beyond = client.get(f"/unit/lists/{stored.id}?page=99").get_data(as_text=True)
    assert "（第 3/3 页）" in beyond


def test_a_few_problem_rows_have_no_pager(client, session, auth):
    unit, staff, wave = _staff(session, auth)
    content = "姓名,联系电话\n甲,12345\n乙,13800000001\n".encode()
    with transaction(session):
        stored = upload_list(session, unit, wave, content, actor=staff)
    page = client.get(f"/unit/lists/{stored.id}").get_data(as_text=True)
    assert "问题行共 1 条。" in page
    assert "下一页" not in page and "上一页" not in page
    assert _issue_rows(page) == [2]


def test_deleting_a_draft_removes_it_and_is_audited(client, session, auth):
    unit, staff, wave = _staff(session, auth)
    with transaction(session):
        kept = make_list(session, unit=unit, wave=wave, n=3, status=ListStatus.DRAFT, actor=staff)
        draft = make_list(
            session, unit=unit, wave=wave, n=4, start=13900000000, status=ListStatus.DRAFT
        )
    draft_id, file_id = draft.id, draft.file_id
    index = client.get("/unit/").get_data(as_text=True)
    assert f'action="/unit/lists/{draft_id}/delete"' in index
    assert 'data-confirm="删除第 2 版草稿？删除后不能恢复。"' in index
    response = client.post(f"/unit/lists/{draft_id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/unit/")
    assert "已删除第 2 版草稿。" in client.get("/unit/").get_data(as_text=True)
    session.expire_all()
    assert session.get(ClientList, draft_id) is None
    assert session.get(StoredFile, file_id) is None
    assert (
        session.exec(
            select(func.count())
            .select_from(StoredFileChunk)
            .where(StoredFileChunk.file_id == file_id)
        ).one()
        == 0
    )
    assert (
        session.exec(
            select(func.count()).select_from(Client).where(Client.list_id == draft_id)
        ).one()
        == 0
    )
    assert (
        session.exec(
            select(func.count()).select_from(Client).where(Client.list_id == kept.id)
        ).one()
        == 3
    )
    entry = session.exec(select(AuditEvent).where(AuditEvent.action == "list.delete")).one()
    assert (entry.object_type, entry.object_id, entry.user_id) == (
        "client_list",
        str(draft_id),
        staff.id,
    )
    assert entry.detail["version"] == 2


def test_only_drafts_can_be_deleted(client, session, auth):
    unit, staff, wave = _staff(session, auth)
    with transaction(session):
        submitted = make_list(
            session, unit=unit, wave=wave, n=3, status=ListStatus.SUBMITTED, actor=staff
        )
    index = client.get("/unit/").get_data(as_text=True)
    assert f"/unit/lists/{submitted.id}/delete" not in index
    response = client.post(f"/unit/lists/{submitted.id}/delete")
    assert response.status_code == 409
    assert "只有草稿状态的名单可以删除" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(ClientList, submitted.id).status == ListStatus.SUBMITTED
    assert session.exec(select(func.count()).select_from(ListRowIssue)).one() == 0


def test_another_units_draft_cannot_be_deleted(client, session, auth):
    with transaction(session):
        other = make_unit(session, code="OTHER", name="其他所")
        foreign = make_list(
            session, unit=other, wave=make_wave(session), n=3, status=ListStatus.DRAFT
        )
    _staff(session, auth)
    response = client.post(f"/unit/lists/{foreign.id}/delete")
    assert response.status_code == 404
    session.expire_all()
    assert session.get(ClientList, foreign.id) is not None
