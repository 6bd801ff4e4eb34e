"""The upload form's helpers: the column mapping's preview and the import's progress record."""

from __future__ import annotations

import io

from flask import current_app
from sqlmodel import func, select

from survey_service.db import transaction
from survey_service.lists import progress
from survey_service.models import ClientList
from tests.factories import csv_content, make_unit, make_user, make_wave

HEADER = "序号,客户名称,手机号码,办理事项,日期\n"
GOOD = "1,张建国,13812345678,户籍办理,2017-05-12\n"
BAD = "2,李秀英,1381234567,居住证,2017-05-13\n"


def _staff(session, auth):
    with transaction(session):
        unit = make_unit(session, code="JC001", name="奓山街派出所")
        staff = make_user(session, username="staff", role="unit", unit=unit)
        make_wave(session)
    auth.login("staff")
    return staff


def _preview(client, content: bytes, **fields):
    data = {"file": (io.BytesIO(content), "名单.csv"), **fields}
    return client.post("/unit/lists/preview", data=data, content_type="multipart/form-data")


def test_preview_shows_the_mapping_and_masked_rows_and_stores_nothing(client, auth, session):
    """Does the preview name each field's header and show the first rows masked, unsaved?"""
    _staff(session, auth)
    response = _preview(client, (HEADER + GOOD + BAD).encode("gb18030"))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert (data["encoding"], data["header_row"]) == ("gb18030", 1)
    assert [(c["label"], c["header"]) for c in data["columns"]] == [
        ("联系电话列", "手机号码"),
        ("姓名列", "客户名称"),
        ("服务事项列", "办理事项"),
        ("办理日期列", "日期"),
        ("对象类型列", None),
    ]
    assert data["rows"] == [
        {
            "row": 2,
            "status": "有效",
            "reason": "",
            "name": "张*国",
            "phone": "138****5678",
            "service": "户籍办理",
            "date": "2017-05-12",
            "kind": "",
        },
        {
            "row": 3,
            "status": "问题",
            "reason": data["rows"][1]["reason"],
            "name": "李*英",
            "phone": "138***4567",
            "service": "居住证",
            "date": "2017-05-13",
            "kind": "",
        },
    ]
    assert "位" in data["rows"][1]["reason"]  # the Chinese reason (wrong number of digits)
    assert "13812345678" not in response.get_data(as_text=True)
    assert session.exec(select(func.count(ClientList.id))).one() == 0


def test_preview_follows_a_column_given_by_hand(client, auth, session):
    """Does a column named by hand (here by its letter) show in the preview as in the import?"""
    _staff(session, auth)
    header = "序号,客户名称,手机号码,业务,日期\n"  # 业务 is no header the import knows
    data = _preview(client, (header + GOOD).encode()).get_json()
    assert data["columns"][2] == {"field": "service", "label": "服务事项列", "header": None}
    data = _preview(client, (header + GOOD).encode(), service_column="D").get_json()
    assert data["columns"][2] == {"field": "service", "label": "服务事项列", "header": "业务"}
    assert data["rows"][0]["service"] == "户籍办理"


def test_preview_of_a_cut_slice_drops_its_cut_line(client, auth, session):
    """The page sends a big text file's first 256 KiB: is a half line at the end dropped?"""
    _staff(session, auth)
    content = (HEADER + GOOD + "3,王,1391").encode()
    data = _preview(client, content, partial="1").get_json()
    assert [r["row"] for r in data["rows"]] == [2]


def test_preview_says_why_a_file_cannot_be_imported(client, auth, session):
    """A file without a phone column: is the reason given in Chinese, nothing stored?"""
    _staff(session, auth)
    data = _preview(client, "姓名,地址\n张三,蔡甸区\n".encode()).get_json()
    assert set(data) == {"error"} and "联系电话" in data["error"]
    assert "phone" not in data["error"]


def test_upload_reports_rows_checked_and_answers_the_script_with_json(
    client, auth, session, monkeypatch
):
    """Is the progress record told the rows as the import checks them, removed at the end,
    and does the page's XHR get the next page's address (the flash kept for it)?"""
    staff = _staff(session, auth)
    seen = []
    original = progress.Progress.rows_checked

    def recording(self, rows):
        original(self, rows)
        seen.append((rows, progress.read(self.path.parent, staff.id, token)))

    monkeypatch.setattr(progress.Progress, "rows_checked", recording)
    token = "t" * 22
    content = csv_content(10) + "坏号码,12345,户籍办理,2017-03-01,群众\n".encode()
    response = client.post(
        "/unit/lists",
        data={"file": (io.BytesIO(content), "名单.csv"), "progress_token": token},
        content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    client_list = session.exec(select(ClientList)).one()
    assert response.status_code == 200
    assert response.get_json() == {"redirect": f"/unit/lists/{client_list.id}"}
    assert seen == [
        (0, {"stage": "checking", "rows": 0}),
        (11, {"stage": "checking", "rows": 11}),
    ]
    assert client.get(f"/unit/lists/progress/{token}").get_json() == {"stage": "waiting"}
    page = client.get(f"/unit/lists/{client_list.id}").get_data(as_text=True)
    assert "已导入第 1 版：有效 10 行，问题 1 行" in page


def test_progress_is_read_only_by_its_own_user(client, auth, session):
    """Does the poll read the user's own record, and never another user's of the same token?"""
    staff = _staff(session, auth)
    temp_dir = current_app.extensions["phone_vault"].temp_dir
    token = "k" * 22
    progress.Progress(temp_dir, staff.id, token).rows_checked(5000)
    assert client.get(f"/unit/lists/progress/{token}").get_json() == {
        "stage": "checking",
        "rows": 5000,
    }
    progress.Progress(temp_dir, staff.id + 1, "m" * 22).rows_checked(7)
    assert client.get(f"/unit/lists/progress/{'m' * 22}").get_json() == {"stage": "waiting"}
    assert client.get("/unit/lists/progress/short").get_json() == {"stage": "waiting"}
    assert not progress.valid_token("../../etc/passwd" + "a" * 16)


def test_preview_reads_a_small_workbook_and_skips_an_xls(client, auth, session):
    """Is a small .xlsx previewed as it will be imported, and an .xls left to the import?"""
    import openpyxl

    _staff(session, auth)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名单"
    sheet.append(["服务对象名单"])
    sheet.append(["姓名", "联系电话", "办理事项"])
    sheet.append(["张建国", "13812345678", "户籍办理"])
    out = io.BytesIO()
    book.save(out)
    response = client.post(
        "/unit/lists/preview",
        data={"file": (io.BytesIO(out.getvalue()), "名单.xlsx")},
        content_type="multipart/form-data",
    )
    data = response.get_json()
    assert (data["sheet"], data["header_row"]) == ("名单", 2)
    assert [r["phone"] for r in data["rows"]] == ["138****5678"]
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    response = client.post(
        "/unit/lists/preview",
        data={"file": (io.BytesIO(ole), "名单.xls")},
        content_type="multipart/form-data",
    )
    assert response.get_json() == {"skipped": "xls 格式的文件不预览，导入后请查看结果。"}
