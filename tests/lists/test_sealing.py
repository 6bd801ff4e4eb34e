"""Sealing parsed rows, in bulk and in a helper process: the same rows as one by one."""

from __future__ import annotations

import base64
import os
import pickle
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from flask import current_app
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from survey_service.db import transaction
from survey_service.errors import ServiceError
from survey_service.lists import pipeline
from survey_service.lists import sealing as list_sealing
from survey_service.lists.columns import as_rows
from survey_service.lists.columns import pack_column as _pack
from survey_service.lists.columns import unpack_column as _unpack
from survey_service.lists.parsing import ClientFileError, PhoneRows, parse_client_file
from survey_service.lists.pipeline import sealed_list
from survey_service.lists.sealing import (
    CLIENT_COLUMNS,
    AcceptedNumbers,
    ImportOptions,
    NameCounts,
    SealTotals,
    client_columns,
)
from survey_service.models import Client, ClientList, ListRowIssue, StoredFile
from survey_service.privacy.vault import NAME, RAW_VALUE, PhoneVault, new_data_key
from tests.factories import make_unit, make_user, make_wave, upload_list

VAULT = PhoneVault(new_data_key())
GARBLED = "\ufffd"

# One data row: (phone index into a small pool, or a bad phone), and whether the name is garbled.
row_strategy = st.tuples(
    st.one_of(st.integers(0, 7), st.sampled_from(["", "12345", "1.38E+10", "无"])),
    st.booleans(),
    st.sampled_from(["", " ", "-"]),  # how the phone is dressed
)


def _csv(rows) -> bytes:
    lines = ["姓名,联系电话,办理事项"]
    for i, (phone, garbled, dress) in enumerate(rows):
        if isinstance(phone, int):
            digits = f"1391234567{phone}"
            phone = digits[:3] + dress + digits[3:7] + dress + digits[7:]
        name = f"客户{i}{GARBLED if garbled else ''}"
        lines.append(f"{name},{phone},户籍")
    return ("\n".join(lines) + "\n").encode()


def _row_by_row(content: bytes) -> tuple[list[int], list[tuple[int, str]]]:
    with parse_client_file(content, filename="x.csv") as parsed:
        rows = list(parsed.rows)
    accepted = [r.row for r in rows if r.status == "accepted"]
    rejected = [(r.row, r.reason) for r in rows if r.status == "rejected"]
    return accepted, rejected


def _in_batches(content: bytes, size: int) -> tuple[list[int], list[tuple[int, str]], SealTotals]:
    totals = SealTotals()
    accepted: list[int] = []
    rejected: list[tuple[int, str]] = []
    with parse_client_file(content, filename="x.csv", accepted_batch=size) as parsed:
        for columns, issues in list_sealing.seal_rows(parsed.rows, totals, batch=size):
            accepted += list(columns[0])
            rejected += [(row, reason) for row, _field, _raw, reason, _name, _service in issues]
    return sorted(accepted), sorted(rejected), totals


@settings(max_examples=150)
@given(st.lists(row_strategy, min_size=1, max_size=40), st.integers(1, 7))
def test_bulk_duplicates_match_the_row_by_row_parser(rows, size):
    """Do batches find the same duplicates and garbled rows, with the same precedence?"""
    content = _csv(rows)
    expected_accepted, expected_rejected = _row_by_row(content)
    accepted, rejected, totals = _in_batches(content, size)
    assert accepted == expected_accepted
    assert rejected == sorted(expected_rejected)
    assert (totals.accepted, totals.rejected) == (len(accepted), len(rejected))


def test_garbled_row_precedence():
    """A garbled row is a duplicate if its number was accepted before, else garbled text."""
    rows = [(1, True, ""), (1, False, ""), (1, True, ""), (2, False, ""), (2, False, " ")]
    accepted, rejected, _ = _in_batches(_csv(rows), size=2)
    # rows are numbered from 2 (the header is row 1)
    assert accepted == [3, 5]
    assert rejected == [
        (2, "garbled_text"),
        (4, "duplicate_in_file"),
        (6, "duplicate_in_file"),
    ]


def test_batch_columns_hold_no_encryption_client_columns_seal_them():
    """A batch holds the phone in clear, its mask and (with a hasher) its
    lookup hash, never anything encrypted; client_columns encrypts it, and
    hashes it when the batch came without."""
    content = _csv([(3, False, "-")])
    for hasher in (VAULT.hasher, None):
        with parse_client_file(content, filename="x.csv", accepted_batch=10) as parsed:
            (columns, issues), *_ = list_sealing.seal_rows(parsed.rows, SealTotals(), hasher=hasher)
        rownum, names, phones, masks, hashes, services, dates, kinds = columns
        assert (list(rownum), list(names), list(phones)) == ([2], ["客户0"], ["+8613912345673"])
        assert list(masks) == ["139****5673"]
        assert hashes == (None if hasher is None else [VAULT.lookup_hash("+8613912345673")])
        assert (list(services), list(dates), list(kinds), issues) == (["户籍"], [None], [None], [])
        [row] = as_rows(client_columns(7, columns, VAULT))
        list_id, row_number, name, phone_enc, phone_hash, phone_masked, *rest = row
        assert (list_id, row_number, name, phone_masked, rest) == (
            7,
            2,
            "客户0",
            "139****5673",
            ["户籍", None, None],
        )
        assert phone_hash == VAULT.lookup_hash("+8613912345673")
        assert phone_enc.startswith("v1:") and VAULT.decrypt(phone_enc) == "+8613912345673"
        assert len(row) == len(CLIENT_COLUMNS)


def test_accepted_rows_come_in_columns():
    """Does accepted_batch mode give PhoneRows of at most N rows, other rows one by one?"""
    content = _csv([(0, False, ""), (1, False, ""), ("12345", False, ""), (2, False, "")])
    with parse_client_file(content, filename="x.csv", accepted_batch=2) as parsed:
        items = list(parsed.rows)
    kinds = [type(i).__name__ if isinstance(i, PhoneRows) else i.status for i in items]
    assert kinds == ["skipped", "PhoneRows", "rejected", "PhoneRows"]
    assert [list(i.rows) for i in items if isinstance(i, PhoneRows)] == [[2, 3], [5]]


@given(
    st.lists(st.lists(st.integers(0, 60), max_size=12), max_size=30),
    st.sampled_from([2, 24]),
)
def test_accepted_numbers_is_a_set(batches, bits):
    """Does the store answer membership like a set, across its merges, whether
    its hash slots are nearly all distinct (24 bits) or shared (2 bits)?"""
    store, seen = AcceptedNumbers(bits=bits), set()
    for batch in batches:
        keys = np.array(batch, dtype=np.int64)
        assert store.contains(keys).tolist() == [k in seen for k in batch]
        fresh = np.array(sorted(set(batch) - seen), dtype=np.int64)
        store.add(fresh)
        seen |= set(fresh.tolist())
    assert sorted(store._sorted.tolist() + [k for p in store._recent for k in p.tolist()]) == (
        sorted(seen)
    )


def test_name_counts_by_hand():
    counts = NameCounts()
    assert counts.with_at_least(3) == 0  # nothing counted yet
    counts.add(["张伟", "李娜", None, "", "张伟"])
    counts.add(["张伟", "王芳", "李娜"])
    counts.add([])
    assert [counts.with_at_least(n) for n in (1, 2, 3, 4)] == [3, 2, 1, 0]


@given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=20), max_size=8))
def test_name_counts_agree_with_a_counter(batches):
    """Do the hashed counts give what a Counter of the names gives, None and "" left out?"""
    counts, reference = NameCounts(), Counter()
    for batch in batches:
        counts.add(batch)
        reference.update(filter(None, batch))
    for least in (1, 2, 3):
        assert counts.with_at_least(least) == sum(1 for c in reference.values() if c >= least)


def test_mobiles_are_national_numbers_of_mobiles_only():
    store = AcceptedNumbers()
    store.add(np.array([8613812345678, 862788886666, 861012345678, 8619912345678]))
    assert store.mobiles().tolist() == [13812345678, 19912345678]


@pytest.mark.parametrize(
    "column",
    [
        ["a", "b", "c"],
        ["a", None, "c"],
        [None, None],
        ["a\x1fb", "c"],  # the separator itself: sent as it is
        ["", "x"],  # an empty string is not None
        ["", None],
        [1, 2, 3],
        ["a", 2],
        [],
        ["户籍", None, "户籍", "户籍", "户籍", "社保", "户籍", None] * 2,  # few values: coded
        ["a", ["unhashable"], "b", "a", "a", "a", "a", "a"],
        [str(i % 256) for i in range(2000)],  # 256 values: coded
        [str(i % 257) for i in range(2000)],  # 257: joined
    ],
)
def test_columns_cross_the_pipe_unchanged(column):
    assert list(_unpack(_pack(column))) == column


def test_a_column_of_few_values_crosses_as_those_values_and_a_byte_a_row():
    column = ["户籍", "社保", None, "户籍"] * 3
    kind, (values, codes) = _pack(column)
    assert (kind, values, codes) == ("coded", ["户籍", "社保", None], bytes([0, 1, 2, 0] * 3))
    unpacked = _unpack(pickle.loads(pickle.dumps(_pack(column))))
    assert unpacked == column
    assert unpacked[0] is unpacked[3]  # the same object: its UTF-8 is made once
    assert _pack(["a", "b", "c"])[0] == "joined"  # too few rows for its values
    assert _pack([str(i) for i in range(100)] + ["x"] * 900)[0] == "joined"  # its sample: distinct


def _bundle(rows: int, seed: int) -> bytes:
    """A GBK list with every kind of row the importer meets."""
    rng = random.Random(seed)
    lines = ["蔡甸区某单位服务对象名单,,,,", "序号,姓名,联系电话,办理事项,办理日期,类型"]
    pool = [f"13{rng.randrange(10**9):09d}" for _ in range(rows // 3)]
    for i in range(rows):
        pick = rng.random()
        if pick < 0.05:
            phone = rng.choice(["", "1.38E+10", "12345", "无"])
        elif pick < 0.5:
            phone = rng.choice(pool)  # duplicates across batches
        elif pick < 0.6:
            phone = f"027-{rng.randrange(2, 9)}{rng.randrange(10**7):07d}"
        else:
            phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        name = rng.choice(["张伟", '=HYPERLINK("x")', "李娜", "", "武汉某某有限公司"])
        kind = rng.choice(["群众", "企业", ""])
        lines.append(
            f"{i + 1},{name},{phone},户籍办理,2017-0{rng.randrange(1, 10)}-1{i % 10},{kind}"
        )
    lines.append("合计,,,,,")
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def _stored(session, client_list):
    vault = current_app.extensions["phone_vault"]
    clients = session.exec(
        select(Client).where(Client.list_id == client_list.id).order_by(Client.row_number)
    ).all()
    issues = session.exec(
        select(ListRowIssue)
        .where(ListRowIssue.list_id == client_list.id)
        .order_by(ListRowIssue.row_number)
    ).all()
    return (
        [
            (
                c.row_number,
                vault.decrypt_text(c.name, NAME),
                vault.decrypt(c.phone_enc),
                c.phone_hash,
                c.phone_masked,
                c.service,
                c.service_date,
                c.kind,
            )
            for c in clients
        ],
        [
            (i.row_number, i.field, vault.decrypt_text(i.raw_value, RAW_VALUE), i.reason)
            for i in issues
        ],
        (client_list.n_accepted, client_list.n_rejected, client_list.n_skipped),
        client_list.signals,
        (client_list.encoding, client_list.delimiter),
    )


@pytest.fixture
def units(session):
    with transaction(session):
        first = make_unit(session)
        second = make_unit(session, code="U002", name="区排水中心")
        staff = make_user(session, username="staff", role="unit", unit=first)
        wave = make_wave(session)
    return first, second, staff, wave


def _import(session, unit, wave, content, parallel, actor=None):
    with transaction(session):
        return upload_list(
            session, unit, wave, content, actor=actor, options=ImportOptions(parallel=parallel)
        )


def test_helper_process_stores_what_the_importer_alone_stores(session, units, monkeypatch):
    """Does a list parsed in the helper process store the same rows, issues and
    signals? And does the helper get the lookup-hash sub-key, never the data key?"""
    first, second, staff, wave = units
    started, requests = [], []
    popen = pipeline.subprocess.Popen

    class Recorder:
        def __init__(self, stream):
            self._stream = stream

        def write(self, data: bytes) -> int:
            requests.append(data)
            return self._stream.write(data)

        def close(self) -> None:
            self._stream.close()

    def spy(*args, **kwargs):
        started.append(args[0])
        process = popen(*args, **kwargs)
        process.stdin = Recorder(process.stdin)
        return process

    monkeypatch.setattr(pipeline.subprocess, "Popen", spy)
    content = _bundle(12_000, seed=7)  # several batches, duplicates across them
    alone = _stored(session, _import(session, first, wave, content, parallel=False, actor=staff))
    assert started == []
    helped = _stored(session, _import(session, second, wave, content, parallel=True))
    assert len(started) == 1 and started[0][1:] == ["-m", "survey_service.lists.pipeline"]
    assert helped == alone
    (request,) = requests
    vault = current_app.extensions["phone_vault"]
    path, temp_key, filename, _options, lookup_key = pickle.loads(request)
    assert lookup_key == vault.hasher.key
    assert (Path(path).parent, filename, len(temp_key)) == (Path(vault.temp_dir), "名单.csv", 32)
    assert temp_key != lookup_key
    data_key = base64.urlsafe_b64decode(current_app.config["SURVEY_DATA_KEY"])
    assert data_key not in request and current_app.config["SURVEY_DATA_KEY"].encode() not in request
    rows, issues, counts, signals, found = alone
    assert counts[0] == len(rows) and counts[1] == len(issues) and counts[2] == 3
    # Counted where the rows are sealed (the helper, for ``helped``): every
    # name given (4 of the 5 choices) has far more than 3 numbers here.
    per_name = Counter(row[1] for row in rows if row[1])
    assert len(per_name) == 4 and min(per_name.values()) >= 3
    assert signals["names_with_many_numbers"] == 4
    assert {reason for *_, reason in issues} >= {"duplicate_in_file", "invalid_phone"}
    assert found == ("gb18030", ",")
    assert '=HYPERLINK("x")' in {row[1] for row in rows}  # stored as given
    assert {row[7] for row in rows} == {"群众", "企业", None}


def test_helper_process_refusal_stores_nothing(session, units):
    """Is a file the helper refuses refused with the parser's message, nothing stored?"""
    first, _second, _staff, wave = units
    header_only = "姓名,联系电话\n".encode()
    with pytest.raises(ServiceError) as in_helper:
        _import(session, first, wave, header_only, parallel=True)
    with pytest.raises(ServiceError) as alone:
        _import(session, first, wave, header_only, parallel=False)
    assert str(in_helper.value) == str(alone.value)
    assert "只有表头" in str(in_helper.value)
    for model in (ClientList, Client, StoredFile):
        assert session.exec(select(func.count()).select_from(model)).one() == 0


def test_helper_process_failure_is_an_error_not_a_hang(tmp_path):
    """Does a helper that dies on an unexpected error raise, with its traceback?"""
    missing = tmp_path / "gone.csv"
    options = ImportOptions(parallel=True)
    with (
        pytest.raises(RuntimeError, match="helper process failed"),
        sealed_list(missing, filename="gone.csv", options=options) as sealed,
    ):
        sealed.encoding  # noqa: B018 - reading the header waits for the helper


def test_helper_process_malformed_csv_midway(tmp_path):
    """Is a CSV error found deep in the file raised from the batches, as a refusal?"""
    path = tmp_path / "bad.csv"
    good = "".join(f"张三,139{i:08d}\n" for i in range(20_000))
    runaway = '李四,"13900000001' + "x" * 200_000  # a quote never closed: a field too long
    path.write_bytes(("姓名,电话\n" + good + runaway + "\n").encode())
    options = ImportOptions(parallel=True)
    with (
        pytest.raises(ClientFileError, match="CSV") as refused,
        sealed_list(path, filename="bad.csv", options=options) as sealed,
    ):
        for _batch in sealed.batches:
            pass
    assert refused.value.code == "malformed_csv"
    assert refused.value.where == "第20002行附近"


def test_masks_and_hashes_left_to_the_writer_give_the_same_rows():
    """When the helper is behind it leaves masks and hashes to client_columns:
    the same rows either way."""
    content = _csv([(i % 8, False, "-") for i in range(6)] + [("12345", False, "")])
    asked = []

    def every_other() -> bool:
        asked.append(True)
        return len(asked) % 2 == 0  # every other batch left to the writer

    stored = []
    for help_writer in (None, every_other):
        with parse_client_file(content, filename="x.csv", accepted_batch=2) as parsed:
            batches = list(
                list_sealing.seal_rows(
                    parsed.rows, SealTotals(), hasher=VAULT.hasher, help_writer=help_writer
                )
            )
        made = [(c[3] is not None, c[4] is not None) for c, _ in batches if c[0]]
        rows = [r for columns, _ in batches for r in as_rows(client_columns(1, columns, VAULT))]
        stored.append([(r[1], r[2], VAULT.decrypt(r[3]), r[4], r[5], *r[6:]) for r in rows])
        if help_writer is None:
            assert made == [(True, True)] * 3
        else:
            assert made == [(False, False), (True, True), (False, False)]
    assert stored[0] == stored[1]
    assert [r[4] for r in stored[0]] == ["139****5670", "139****5671", "139****5672",
                                         "139****5673", "139****5674", "139****5675"]  # fmt: skip
    assert [r[3] for r in stored[0]] == VAULT.lookup_hashes([r[2] for r in stored[0]])


def test_unread_bytes_of_a_pipe():
    """Does the helper see how much of what it sent the writer has not read yet?"""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb", buffering=0) as reader, os.fdopen(write_end, "wb") as writer:
        assert pipeline._unread_bytes(writer) == 0
        writer.write(b"12345")
        writer.flush()
        assert pipeline._unread_bytes(writer) == 5
        assert reader.read(3) == b"123"
        assert pipeline._unread_bytes(writer) == 2
