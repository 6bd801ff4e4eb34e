"""No personal data in clear at rest: stored files, names, rejected rows, temp copies."""

from __future__ import annotations

import base64
import io
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
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
from tests.lists.handmade import xlsx_bytes
from tests.privacy.at_rest import found_in_dump, found_in_files

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
    original = list_import.client_columns

    def spy(list_id, columns, vault):
        for path in folder.iterdir():
            seen.append((path.name.split("-")[:4], stat.S_IMODE(path.stat().st_mode)))
        return original(list_id, columns, vault)

    monkeypatch.setattr(list_import, "client_columns", spy)
    _upload(session, world)
    assert seen == [(["survey", "tmp", str(os.getpid()), "list"], 0o600)]
    assert _temp_files(folder) == []
    assert os.listdir(system_tmp) == []  # nothing went to the system's /tmp


def test_temp_copy_is_removed_when_the_import_fails(session, world, monkeypatch):
    """Does an import that fails half-way (after parsing began) leave no copy behind?"""

    def broken(list_id, columns, vault):
        raise RuntimeError("disk full")

    monkeypatch.setattr(list_import, "client_columns", broken)
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


def _stored_zip(data: bytes) -> bytes:
    """The same workbook with its parts stored, not deflated: its text readable in the bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), zipfile.ZIP_STORED)
    return out.getvalue()


def _big_csv() -> tuple[bytes, list[str]]:
    """Three known clients among 2,000 others (two temp-copy chunks and more)."""
    lines = [f"{n},{p},户籍办理" for n, p in zip(NAMES, PHONES, strict=True)]
    lines += [f"客户{i:04d},{13700000000 + i * 13},户籍办理" for i in range(2000)]
    return ("姓名,联系电话,办理事项\n" + "\n".join(lines) + "\n").encode(), [*NAMES, *PHONES]


def _xlsx() -> tuple[bytes, list[str]]:
    cells = {(1, 0): "姓名", (1, 1): "联系电话"}
    for row, (name, phone) in enumerate(zip(NAMES, PHONES, strict=True), start=2):
        cells[(row, 0)], cells[(row, 1)] = name, phone
    return _stored_zip(xlsx_bytes({"名单": cells})), [*NAMES, *PHONES]


@pytest.mark.parametrize(
    ("kind", "parallel"),
    [("csv", False), ("csv", True), ("xlsx", False), ("xlsx", True)],
)
def test_temp_copy_is_ciphertext_while_the_import_runs(session, world, monkeypatch, kind, parallel):
    """While a list is parsed (here or in the helper), is no name or number in the instance folder?

    The importing process stops in the middle of storing the rows (the
    helper, if any, still running) and looks at every file of the instance
    folder, the temporary copy among them; the key travels on the helper's
    pipe, never in its arguments or environment.
    """
    from survey_service.lists import pipeline

    content, needles = _big_csv() if kind == "csv" else _xlsx()
    assert all(n.encode() in content for n in needles)  # the upload holds them in clear
    instance = Path(current_app.instance_path)
    folder = Path(current_app.extensions["phone_vault"].temp_dir)
    looks = []
    original = list_import.client_columns

    def look(list_id, columns, vault):
        copies = [p for p in folder.iterdir() if p.name.startswith(files.TEMP_PREFIX)]
        looks.append(([p.stat().st_size for p in copies], found_in_files(instance, needles)))
        return original(list_id, columns, vault)

    helpers = []
    real_popen = subprocess.Popen

    def popen(args, **kw):
        helpers.append((list(args), dict(kw.get("env") or {})))
        return real_popen(args, **kw)

    monkeypatch.setattr(list_import, "client_columns", look)
    monkeypatch.setattr(pipeline.subprocess, "Popen", popen)
    keys = []
    real_sealed_list = pipeline.sealed_list

    def sealed_list(*args, **kw):
        keys.append(kw.get("key"))
        return real_sealed_list(*args, **kw)

    monkeypatch.setattr(list_import, "sealed_list", sealed_list)
    filename = f"名单.{kind}"
    options = list_import.ImportOptions(parallel=parallel)
    client_list = _upload(session, world, content, filename=filename, options=options)
    accepted = 2003 if kind == "csv" else 3
    assert client_list.n_accepted == accepted
    assert looks, "the rows were stored"
    for sizes, hits in looks:
        assert len(sizes) == 1 and sizes[0] >= len(content)  # the copy is there, whole
        assert hits == []
    assert len(helpers) == (1 if parallel else 0)
    (key,) = keys
    assert len(key) == 32
    for args, env in helpers:
        spelled = [key.hex(), base64.b64encode(key).decode(), key.decode("latin-1")]
        passed = " ".join([*args, *env.keys(), *env.values()])
        assert not any(s in passed for s in spelled)
        assert current_app.config["SURVEY_DATA_KEY"] not in passed
    assert _temp_files(folder) == []


def test_staff_upload_temp_copy_is_ciphertext(session, world, monkeypatch):
    """Is the staff list's temporary copy sealed too while it is parsed?"""
    unit, _staff, wave = world
    vault = current_app.extensions["phone_vault"]
    folder = Path(vault.temp_dir)
    seen = []
    real_parse_with = list_import.parse_with

    def parse_with(source, *args, **kw):
        copies = [p.read_bytes() for p in folder.iterdir()]
        seen.append([PHONES[0].encode() in data for data in copies])
        return real_parse_with(source, *args, **kw)

    monkeypatch.setattr(list_import, "parse_with", parse_with)
    with transaction(session):
        count = list_import.import_staff_numbers(
            session=session,
            unit=unit,
            wave=wave,
            content=f"电话\n{PHONES[0]}\n{PHONES[1]}\n".encode(),
            filename="staff.csv",
            vault=vault,
        )
    assert count == 2
    assert seen == [[False]]
    assert _temp_files(folder) == []


def _open_files_under(*folders) -> dict[int, str]:
    """This process's open files (named or unlinked) under ``folders``: fd -> path."""
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if any(target.startswith(str(folder) + os.sep) for folder in folders):
            found[int(fd)] = target
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_web_upload_is_never_in_clear_on_disk(client, auth, session, world, monkeypatch):
    """Is a 700 KB upload received and parsed without a plaintext copy anywhere on disk?

    werkzeug spools a file part over 500 KB to the system's /tmp; while the
    rows are stored, every file this process holds open (unlinked ones too)
    in the system's temp folder or the instance folder is read through
    /proc and must not hold a name or a number of the upload.
    """
    lines = [f"{n},{p},户籍办理" for n, p in zip(NAMES, PHONES, strict=True)]
    lines += [f"客户{i:05d},{13700000000 + i * 13},户籍办理" for i in range(20000)]
    content = ("姓名,联系电话,办理事项\n" + "\n".join(lines) + "\n").encode()
    assert len(content) > 600_000
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="list.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--b--\r\n"
    )
    system_tmp = tempfile.mkdtemp()
    monkeypatch.setattr(tempfile, "tempdir", system_tmp)
    instance = Path(current_app.instance_path)
    looks = []
    original = list_import.client_columns

    needles = [*NAMES, *PHONES]

    def look(list_id, columns, vault):
        opened = _open_files_under(system_tmp, instance)
        held = {fd: Path(f"/proc/self/fd/{fd}").read_bytes() for fd in opened}
        clear = [
            (opened[fd], n) for fd, data in held.items() for n in needles if n.encode() in data
        ]
        looks.append(
            (
                sorted({Path(p).name.split("-")[3] for p in opened.values() if "survey-tmp-" in p}),
                clear,
                found_in_files(instance, needles),
            )
        )
        return original(list_id, columns, vault)

    monkeypatch.setattr(list_import, "client_columns", look)
    auth.login("staff")
    response = client.post("/unit/lists", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 302
    (client_list,) = session.exec(select(ClientList)).all()
    assert client_list.n_accepted == 20003
    assert looks
    for copies, in_open_files, in_folder in looks:
        assert copies == ["list", "upload"]  # the received file and the parser's copy, both sealed
        assert in_open_files == []
        assert in_folder == []
    assert os.listdir(system_tmp) == []
    assert _temp_files(current_app.extensions["phone_vault"].temp_dir) == []
