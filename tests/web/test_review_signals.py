"""Each padding signal on the review page opens to the rows behind it."""

from __future__ import annotations

import re

from survey_service.db import transaction
from survey_service.lists import importing as list_import
from survey_service.models import ListStatus
from tests.factories import make_list, make_unit, make_user, make_wave

# JC050's list: rows 2-4 a run (13800000001..03), rows 5-7 one name with three numbers,
# row 8 a number on JC022's list, row 9 a staff number of JC022.
PADDED = (
    "姓名,联系电话\n"
    "赵一,13800000001\n钱二,13800000002\n孙三,13800000003\n"
    "周建国,13900000010\n周建国,13900000020\n周建国,13900000030\n"
    "吴共用,13711112222\n郑员工,13633334444\n"
).encode()
OTHER = "姓名,联系电话\n张三,13711112222\n".encode()


def _rows(page: str) -> list[tuple[str, ...]]:
    table = page[page.index('<table id="signal-rows">') :]
    table = table[: table.index("</table>")]
    return [tuple(re.findall(r"<td[^>]*>([^<]*)</td>", row)) for row in table.split("<tr>")[2:]]


def test_each_signal_opens_to_its_rows(client, session, auth, app):
    """Do shared, staff, runs and names each list their rows: masked, with the other unit?"""
    with transaction(session):
        office = make_user(session, username="office", role="reviewer")
        wave = make_wave(session)
        other = make_unit(session, code="JC022", name="奓山街派出所")
        make_list(session, unit=other, wave=wave, content=OTHER, actor=office)
        list_import.import_staff_numbers(
            session=session,
            unit=other,
            wave=wave,
            content="姓名,联系电话\n员工,13633334444\n".encode(),
            filename="staff.csv",
            vault=app.extensions["phone_vault"],
        )
        unit = make_unit(session, code="JC050", name="永安街道办事处")
        padded = make_list(
            session, unit=unit, wave=wave, content=PADDED, status=ListStatus.SUBMITTED
        )
    auth.login("office")
    page = client.get(f"/review/lists/{padded.id}").get_data(as_text=True)
    for signal in ("shared", "staff", "runs", "names"):
        assert f'href="/review/lists/{padded.id}/signals/{signal}" id="open-{signal}"' in page

    def rows(signal):
        response = client.get(f"/review/lists/{padded.id}/signals/{signal}")
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        body = response.get_data(as_text=True)
        assert "13711112222" not in body and "周建国" not in body and "赵一" not in body
        return _rows(body)

    assert rows("shared") == [("8", "137****2222", "吴*用", "也在 奓山街派出所 的名单上")]
    assert rows("staff") == [("9", "136****4444", "郑*工", "奓山街派出所 工作人员号码")]
    assert rows("runs") == [
        ("2", "138****0001", "赵*", "连号段 138****0001 起 3 个"),
        ("3", "138****0002", "钱*", "连号段 138****0001 起 3 个"),
        ("4", "138****0003", "孙*", "连号段 138****0001 起 3 个"),
    ]
    assert rows("names") == [
        ("5", "139****0010", "周*国", "周*国 共 3 个号码"),
        ("6", "139****0020", "周*国", "周*国 共 3 个号码"),
        ("7", "139****0030", "周*国", "周*国 共 3 个号码"),
    ]
    assert client.get(f"/review/lists/{padded.id}/signals/nope").status_code == 404
