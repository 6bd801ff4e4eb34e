"""No personal data in clear at rest: stored files, names, rejected rows, temp copies."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from flask import current_app
from sqlalchemy import text, update
from sqlmodel import select

from survey_service.db import transaction
from survey_service.errors import ServiceError
from survey_service.lists import importing as list_import
from survey_service.models import Client, ClientList, ListRowIssue, StoredFile, StoredFileChunk
from survey_service.privacy import files
from survey_service.privacy.vault import ISSUE_NAME, NAME, RAW_VALUE
from tests.factories import make_unit, make_user, make_wave, upload_list
from tests.privacy.at_rest import found_in_dump

NAMES = ["张建国", "李秀英", "武汉某某有限公司"]
PHONES = ["13812345678", "13987654321", "15071234567"]
CONTENT = (
    "姓名,联系电话,办理事项\n"
    f"{NAMES[0]},{PHONES[0]},户籍办理\n"
    f"{NAMES[1]},{PHONES[1]},户籍办理\n"
    f"{NAMES[2]},{PHONES[2]},企业登记\n"
    f"王重复,{PHONES[0]},户籍办理\n"  # duplicate: rejected, keeps its raw value
    "赵错号,1381234567,户籍办理\n"  # ten digits: rejected
).encode()


@pytest.fixture
def world(session):
    with transaction(session):
        unit = make_unit(session)
        staff = make_user(session, username="staff", role="unit", unit=unit)
        wave = make_wave(session)
    return unit, staff, wave


def _upload(session, world, content=CONTENT, **kw):
    unit, staff, wave = world
    with transaction(session):
        return upload_list(session, unit, wave, content, actor=staff, **kw)


def test_stored_file_is_sealed_and_reads_back(session, world):
    """Do the stored chunks hold none of the file's names and numbers, and read back whole?"""
    client_list = _upload(session, world)
    stored = session.get(StoredFile, client_list.file_id)
    assert stored.encryption == "aes-gcm-v1"
    raw = b"".join(
        session.exec(
            select(StoredFileChunk.data)
            .where(StoredFileChunk.file_id == stored.id)
            .order_by(StoredFileChunk.seq)
        ).all()
    )
    assert len(raw) == len(CONTENT) + 28  # one chunk: nonce 12 + tag 16
    for needle in [*PHONES, *NAMES]:
        assert needle.encode() not in raw
    vault = current_app.extensions["phone_vault"]
    assert b"".join(list_import.stored_file_chunks(session, stored.id, vault)) == CONTENT


def test_chunks_cannot_be_moved_or_dropped(session, world):
    """Is a chunk swapped with another, or a file cut short, refused on reading back?"""
    lines = [f"客户{i},{13800000000 + i * 7},户籍办理" for i in range(40000)]
    content = ("姓名,联系电话,办理事项\n" + "\n".join(lines) + "\n").encode()
    assert 1 << 20 < len(content) < 2 << 20  # two chunks
    client_list = _upload(session, world, content)
    vault = current_app.extensions["phone_vault"]
    file_id = client_list.file_id
    assert b"".join(list_import.stored_file_chunks(session, file_id, vault)) == content

    def swap():
        with transaction(session):
            for old, new in ((0, 5), (1, 0), (5, 1)):
                session.execute(
                    update(StoredFileChunk)
                    .where(StoredFileChunk.file_id == file_id, StoredFileChunk.seq == old)
                    .values(seq=new)
                )

    swap()
    with pytest.raises(InvalidTag):
        b"".join(list_import.stored_file_chunks(session, file_id, vault))
    swap()
    with transaction(session):
        session.execute(
            StoredFileChunk.__table__.delete().where(
                StoredFileChunk.file_id == file_id, StoredFileChunk.seq == 1
            )
        )
    with pytest.raises(ValueError, match="lacks chunk"):
        b"".join(list_import.stored_file_chunks(session, file_id, vault))
    with transaction(session):  # the last chunk given as the only one: the count differs
        session.execute(update(StoredFile).where(StoredFile.id == file_id).values(size=100))
    with pytest.raises(InvalidTag):
        b"".join(list_import.stored_file_chunks(session, file_id, vault))


def test_a_file_stored_in_clear_still_reads_back(session, world):
    """Does a file stored before encryption (encryption None) come back as it was?"""
    client_list = _upload(session, world)
    with transaction(session):
        session.execute(
            update(StoredFile).where(StoredFile.id == client_list.file_id).values(encryption=None)
        )
        session.execute(
            update(StoredFileChunk)
            .where(StoredFileChunk.file_id == client_list.file_id)
            .values(data=CONTENT)
        )
    vault = current_app.extensions["phone_vault"]
    assert b"".join(list_import.stored_file_chunks(session, client_list.file_id, vault)) == CONTENT


def test_names_and_rejected_values_are_encrypted(session, world):
    """Are names and rejected raw values ciphertext in the rows, masked where shown?"""
    client_list = _upload(session, world)
    assert (client_list.n_accepted, client_list.n_rejected) == (3, 2)
    names = session.execute(
        text("SELECT name FROM client WHERE list_id = :id ORDER BY row_number"),
        {"id": client_list.id},
    ).scalars()
    tokens = list(names)
    assert all(t.startswith("t1:") for t in tokens)
    vault = current_app.extensions["phone_vault"]
    assert [vault.decrypt_text(t, NAME) for t in tokens] == NAMES
    issues = session.execute(
        text(
            "SELECT row_number, raw_value, raw_masked, reason FROM list_row_issue "
            "WHERE list_id = :id ORDER BY row_number"
        ),
        {"id": client_list.id},
    ).all()
    assert [(r, m, why) for r, _raw, m, why in issues] == [
        (5, "138****5678", "duplicate_in_file"),
        (6, "138***4567", "invalid_phone"),
    ]
    assert [vault.decrypt_text(raw, RAW_VALUE) for _r, raw, _m, _why in issues] == [
        PHONES[0],
        "1381234567",
    ]
    with pytest.raises(InvalidTag):  # a raw value's token is no name's token
        vault.decrypt_text(issues[0][1], NAME)
    # The rejected rows' names: encrypted under their own purpose, masked; services as given.
    named = session.execute(
        text(
            "SELECT name, name_masked, service FROM list_row_issue "
            "WHERE list_id = :id ORDER BY row_number"
        ),
        {"id": client_list.id},
    ).all()
    assert [(m, service) for _n, m, service in named] == [
        ("王*复", "户籍办理"),
        ("赵*号", "户籍办理"),
    ]
    assert [vault.decrypt_text(n, ISSUE_NAME) for n, _m, _s in named] == ["王重复", "赵错号"]
    with pytest.raises(InvalidTag):  # a rejected row's name token is no client name's token
        vault.decrypt_text(named[0][0], NAME)
    # Nowhere in any column of any table: not a name, not a full number.
    assert found_in_dump(session, [*NAMES, *PHONES, "1381234567", "王重复", "赵错号"]) == []


def test_names_signal_is_counted_before_encryption(session, world):
    """Is "one name with three numbers or more" still found, the names being ciphertext?"""
    rows = [f"张三,{13500000000 + i * 11}" for i in range(4)] + ["李四,13600000000"]
    client_list = _upload(session, world, ("姓名,电话\n" + "\n".join(rows) + "\n").encode())
    assert client_list.signals["names_with_many_numbers"] == 1


def _temp_files(folder) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir())


def test_temp_copy_lives_in_the_instance_folder_owner_only(session, world, monkeypatch):
    """Is the parser's temporary copy in instance/tmp with mode 0600, and gone after?"""
    vault = current_app.extensions["phone_vault"]
    folder = Path(vault.temp_dir)
    assert folder == Path(current_app.instance_path) / "tmp"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    system_tmp = tempfile.mkdtemp()
    monkeypatch.setattr(tempfile, "tempdir", system_tmp)
    seen = []
    original = list_import.client_rows

    def spy(list_id, columns, vault):
        for path in folder.iterdir():
            seen.append((path.name.split("-")[:4], stat.S_IMODE(path.stat().st_mode)))
        return original(list_id, columns, vault)

    monkeypatch.setattr(list_import, "client_rows", spy)
    _upload(session, world)
    assert seen == [(["survey", "tmp", str(os.getpid()), "list"], 0o600)]
    assert _temp_files(folder) == []
    assert os.listdir(system_tmp) == []  # nothing went to the system's /tmp


def test_temp_copy_is_removed_when_the_import_fails(session, world, monkeypatch):
    """Does an import that fails half-way (after parsing began) leave no copy behind?"""

    def broken(list_id, columns, vault):
        raise RuntimeError("disk full")

    monkeypatch.setattr(list_import, "client_rows", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        _upload(session, world)
    with pytest.raises(ServiceError):
        _upload(session, world, "姓名,地址\n张三,蔡甸街\n".encode())  # refused file
    assert _temp_files(current_app.extensions["phone_vault"].temp_dir) == []
    assert session.exec(select(ClientList)).all() == []
    assert session.exec(select(Client)).all() == []
    assert session.exec(select(ListRowIssue)).all() == []


def test_staff_upload_temp_copy_is_removed(session, world):
    unit, _staff, wave = world
    vault = current_app.extensions["phone_vault"]
    with transaction(session):
        list_import.import_staff_numbers(
            session=session,
            unit=unit,
            wave=wave,
            content=f"电话\n{PHONES[0]}\n".encode(),
            filename="staff.csv",
            vault=vault,
        )
    assert _temp_files(vault.temp_dir) == []


def test_a_crashed_process_leftover_is_swept_at_start(app, tmp_path):
    """Is the copy left by a killed process removed when the next app starts?"""
    from tests.conftest import make_test_app

    folder = Path(app.extensions["phone_vault"].temp_dir)
    script = (
        "import os, signal\n"
        "from survey_service.privacy import files\n"
        f"with files.temp_file({str(folder)!r}, 'list') as f:\n"
        f"    f.write(b'{PHONES[0]}'); f.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", script], cwd=root, check=False)
    assert result.returncode == -9
    left = _temp_files(folder)
    assert len(left) == 1 and left[0].startswith("survey-tmp-")
    # A live process's file (this one's, made after it started) is left alone.
    with files.temp_file(folder, "list") as mine:
        again = make_test_app(app.config["DATABASE_URL"], Path(app.instance_path))
        assert _temp_files(folder) == [Path(mine.name).name]
    again.extensions["engine"].dispose()
    assert _temp_files(folder) == []
