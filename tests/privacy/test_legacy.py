"""`privacy seal-existing`: what older versions stored in clear gets encrypted."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import update
from sqlmodel import select

from survey_service.db import transaction
from survey_service.lists import importing as list_import
from survey_service.lists import review
from survey_service.models import Client, ClientList, ListRowIssue, StoredFile, StoredFileChunk
from survey_service.privacy import reveal
from survey_service.privacy.vault import NAME
from tests.factories import make_unit, make_wave, upload_list
from tests.privacy.at_rest import found_in_dump

NAMES = ["张三", "张三", "张三", "李四"]
PHONES = ["13812345678", "13812345679", "13812345690", "13987654321"]
CONTENT = (
    "姓名,联系电话\n"
    + "".join(f"{n},{p}\n" for n, p in zip(NAMES, PHONES, strict=True))
    + f"王五,{PHONES[3]}\n"
).encode()


def _as_stored_by_an_older_version(session, client_list):
    vault = current_app.extensions["phone_vault"]
    clients = session.exec(select(Client).order_by(Client.row_number)).all()
    with transaction(session):
        for c in clients:
            c.name = vault.decrypt_text(c.name, NAME)
            session.add(c)
        session.execute(update(ListRowIssue).values(raw_value=PHONES[3], raw_masked=None))
        session.execute(update(StoredFile).values(encryption=None))
        session.execute(update(StoredFileChunk).values(data=CONTENT))
        client_list.signals = {"consecutive_runs": 0, "numbers_in_runs": 0}
        session.add(client_list)


def test_seal_existing(runner, session):
    with transaction(session):
        client_list = upload_list(session, make_unit(session), make_wave(session), CONTENT)
    _as_stored_by_an_older_version(session, client_list)
    assert found_in_dump(session, ["张三", PHONES[3]]) == ["张三", PHONES[3]]
    assert review.list_signals(session, client_list).names_with_many_numbers == 1

    result = runner.invoke(args=["privacy", "seal-existing"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sealed 4 names, 1 rejected raw values, 1 stored files"
    session.expire_all()
    assert found_in_dump(session, ["张三", "李四", "王五", *PHONES]) == []
    vault = current_app.extensions["phone_vault"]
    names = [vault.decrypt_text(c.name, NAME) for c in session.exec(select(Client)).all()]
    assert sorted(names) == sorted(NAMES)
    assert b"".join(list_import.stored_file_chunks(session, client_list.file_id, vault)) == CONTENT
    client_list = session.get(ClientList, client_list.id)
    assert client_list.signals["names_with_many_numbers"] == 1
    assert [r.value for r in reveal.rejected_rows(session, client_list, vault)] == ["139****4321"]
    again = runner.invoke(args=["privacy", "seal-existing"])
    assert again.output.strip() == "sealed 0 names, 0 rejected raw values, 0 stored files"
