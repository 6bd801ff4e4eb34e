"""Hostile spreadsheets and text files: refused or read cheaply, never taking the server down."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from flask import current_app
from sqlmodel import select

from survey_service.db import transaction
from survey_service.errors import ServiceError
from survey_service.lists import importing as list_import
from survey_service.lists.parsing import REASONS, ClientFileError, check_file, parse_client_file
from survey_service.lists.parsing.headers import _classify_header
from survey_service.lists.parsing.workbook import SheetLimits
from survey_service.lists.pipeline import PARALLEL_MIN_BYTES, could_be_large, sealed_list
from survey_service.lists.sealing import ImportOptions
from survey_service.models import Client, ClientList, ListRowIssue, StoredFile
from survey_service.privacy import files
from survey_service.privacy.vault import RAW_VALUE
from tests.factories import make_unit, make_user, make_wave, upload_list
from tests.lists.handmade import small_list, xlsx_bytes

PREFIX = "表格过大或结构异常："


def refused(data: bytes, filename: str = "list.xlsx", **kw) -> ClientFileError:
    with pytest.raises(ClientFileError) as info:
        parse_client_file(data, filename=filename, **kw)
    return info.value


def nul_csv(n: int = 300, at: int = 5000) -> bytes:
    lines = ["姓名,联系电话"] + [f"客户{i},138{i:08d}" for i in range(n)]
    data = ("\n".join(lines) + "\n").encode()
    return data[:at] + b"\x00" + data[at:]


# --------------------------------------------------------------------------- sizes and ranges


@pytest.mark.parametrize(
    ("corner", "limit"),
    [("XFD1048576", "超过上限 500000 行"), ("CV1048576", "超过上限 500000 行"),
     ("XFD2", "用到第 16384 列，超过上限 64 列"), ("CV3", "用到第 100 列，超过上限 64 列")],
)  # fmt: skip
def test_far_corner_cell_is_refused_before_reading(corner, limit):
    """A 2 KB workbook with one far cell: refused in a blink, naming the limit."""
    data = xlsx_bytes({"名单": small_list(**{corner: "x"})})
    assert len(data) < 2000
    started = time.perf_counter()
    err = refused(data)
    assert time.perf_counter() - started < 2
    assert err.code == "too_complex" and err.where == "工作表 名单"
    assert err.message.startswith(PREFIX) and limit in err.message


def test_sparse_sheet_within_the_limits_is_read_cell_by_cell():
    """400,000 rows x 64 columns used by 8 cells: calamine would build 25.6 M empty cells;
    the sheet is read sparsely instead, rows numbered as in the sheet."""
    data = xlsx_bytes({"名单": small_list(BL1="备注", B400000="13800000003")})
    started = time.perf_counter()
    pf = parse_client_file(data, filename="list.xlsx")
    rows = list(pf.rows)
    assert time.perf_counter() - started < 20
    assert pf.sheet == "名单" and pf.header_row == 1
    data_rows = [r for r in rows if r.reason != "blank"]
    assert [(r.row, r.status, r.phone_e164, r.name) for r in data_rows] == [
        (1, "skipped", None, None),
        (2, "accepted", "+8613800000001", "张三"),
        (3, "accepted", "+8613800000002", "李四"),
        (400000, "accepted", "+8613800000003", None),
    ]
    assert len(rows) == 400000
    assert pf.summary()["accepted"] == 3 and pf.summary()["skipped"] == 399997


def test_declared_range_over_the_limits_is_refused():
    err = refused(xlsx_bytes({"名单": small_list()}, dimension="A1:XFD1048576"))
    assert err.code == "too_complex" and err.where == "工作表 名单"
    assert "声明的已用区域 A1:XFD1048576 超过上限（500000 行、64 列）" in err.message


def test_a_part_that_inflates_past_the_limit_is_refused():
    """A zip part declaring 2 MiB against a 1 MiB limit; the file itself is small."""
    data = xlsx_bytes({"名单": small_list()}, padding=2 << 20)
    assert len(data) < 8000
    err = refused(data, limits=SheetLimits(max_xml_bytes=1 << 20))
    assert err.code == "too_complex" and err.where == "文件"
    assert err.message.startswith(PREFIX + "解压后超过 1 MB（部件 xl/media/padding.bin）")
    assert parse_client_file(data, filename="x.xlsx").sheet == "名单"  # under the default


def test_rows_and_columns_limits_come_from_the_settings():
    cells = small_list(**{f"A{r}": f"客户{r}" for r in range(4, 12)})
    err = refused(xlsx_bytes({"名单": cells}), limits=SheetLimits(max_rows=10))
    assert "用到第 11 行，超过上限 10 行" in err.message
    err = refused(xlsx_bytes({"名单": small_list(D2="x")}), limits=SheetLimits(max_columns=3))
    assert "用到第 4 列，超过上限 3 列" in err.message
    pf = parse_client_file(xlsx_bytes({"名单": cells}), filename="x.xlsx")
    assert sum(1 for r in pf.rows if r.status == "rejected") == 8  # names without a phone


def test_rows_without_cells_do_not_count_and_cells_without_references_do():
    """An empty formatted row far down is no data (the reader builds nothing for it);
    cells written without a reference stand one after another, and count."""
    far_row = '<row r="1048576" ht="20" customHeight="1"/>'
    pf = parse_client_file(xlsx_bytes({"名单": small_list()}, raw_rows=far_row), filename="x.xlsx")
    assert [r.status for r in pf.rows] == ["skipped", "accepted", "accepted"]
    unreferenced = '<row><c t="inlineStr"><is><t>王五</t></is></c></row>' * 8
    data = xlsx_bytes({"名单": small_list()}, raw_rows=unreferenced)
    err = refused(data, limits=SheetLimits(max_rows=10))
    assert "用到第 11 行，超过上限 10 行" in err.message
    wide = "<row>" + '<c t="inlineStr"><is><t>x</t></is></c>' * 5 + "</row>"
    err = refused(
        xlsx_bytes({"名单": small_list()}, raw_rows=wide), limits=SheetLimits(max_columns=4)
    )
    assert "用到第 5 列，超过上限 4 列" in err.message


@pytest.mark.parametrize("shared", [False, True])
def test_a_cell_over_the_length_limit_is_refused(shared):
    """Over 3 bytes a character the XML is refused before reading; just over, after."""
    limits = SheetLimits(max_cell_chars=100)
    just_over = xlsx_bytes({"名单": small_list(A2="x" * 101)}, shared=shared)
    err = refused(just_over, limits=limits)
    assert err.code == "too_complex" and err.where == "第2行"
    assert "有单元格超过 100 个字符" in err.message
    far_over = xlsx_bytes({"名单": small_list(A3="x" * 400)}, shared=shared)
    err = refused(far_over, limits=limits)
    assert err.code == "too_complex" and "有单元格超过 100 个字符" in err.message
    pf = parse_client_file(far_over, filename="x.xlsx")  # the default limit is 32,767
    assert [r.name for r in pf.rows if r.status == "accepted"] == ["张三", "x" * 400]


def test_limits_are_read_from_the_settings(app):
    """Is every LIST_ setting of the configuration table what the importer uses?"""
    defaults = list_import.import_options(app.config)
    assert defaults.limits == SheetLimits(500_000, 64, 200 << 20, 32_767)
    assert (defaults.helper_memory_mb, defaults.max_bytes) == (2048, 64 << 20)
    app.config.update(
        LIST_MAX_ROWS=7,
        LIST_MAX_COLUMNS=5,
        LIST_MAX_XML_MB=3,
        LIST_MAX_CELL_CHARS=9,
        LIST_HELPER_MEMORY_MB=300,
        MAX_UPLOAD_MB=2,
    )
    options = list_import.import_options(app.config, sheet="二月")
    assert options.limits == SheetLimits(7, 5, 3 << 20, 9)
    assert (options.helper_memory_mb, options.max_bytes, options.sheet) == (300, 2 << 20, "二月")


# --------------------------------------------------------------------------- the helper process


def test_spreadsheets_that_could_be_large_go_to_the_helper(tmp_path):
    small = tmp_path / "small.xlsx"
    small.write_bytes(xlsx_bytes({"名单": small_list()}))
    inflating = tmp_path / "inflating.xlsx"
    inflating.write_bytes(xlsx_bytes({"名单": small_list()}, padding=5 << 20))
    old_excel = tmp_path / "old.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    text = tmp_path / "list.csv"
    text.write_bytes("姓名,联系电话\n张三,13800000001\n".encode())
    assert inflating.stat().st_size < 20_000
    assert [could_be_large(p) for p in (small, inflating, old_excel, text)] == [
        False,
        True,
        True,
        False,
    ]
    # The same judged from the upload's encrypted temporary copies (their plaintext).
    sealed = []
    for path in (small, inflating, old_excel, text):
        with files.sealed_temp_file(tmp_path, "list") as spool:
            spool.write(path.read_bytes())
            spool.finish()
            sealed.append(could_be_large(spool.name, spool.key))
    assert sealed == [False, True, True, False]
    # The plaintext's size counts, not the copy's (a tag of 16 bytes per 64 KiB more).
    for size, large in ((PARALLEL_MIN_BYTES - 100, False), (PARALLEL_MIN_BYTES, True)):
        with files.sealed_temp_file(tmp_path, "list") as spool:
            spool.write(b"a" * size)
            spool.finish()
            assert Path(spool.name).stat().st_size > PARALLEL_MIN_BYTES
            assert could_be_large(spool.name, spool.key) is large


def test_helper_out_of_memory_is_a_clear_refusal(tmp_path):
    """A helper that runs out of its address space fails alone, with a clear message."""
    path = tmp_path / "list.xlsx"
    cells = small_list(**{f"B{r}": f"139{r:08d}" for r in range(4, 3000)})
    path.write_bytes(xlsx_bytes({"名单": cells}))
    starved = ImportOptions(parallel=True, helper_memory_mb=64)
    with (
        pytest.raises(ClientFileError) as info,
        sealed_list(path, filename="list.xlsx", options=starved) as sealed,
    ):
        for _batch in sealed.batches:
            pass
    assert info.value.code == "too_complex" and info.value.message.startswith(PREFIX)
    assert "内存上限" in info.value.message
    enough = ImportOptions(parallel=True, helper_memory_mb=2048)
    with sealed_list(path, filename="list.xlsx", options=enough) as sealed:
        assert sealed.sheet == "名单"
        for _batch in sealed.batches:
            pass
    assert (sealed.totals.accepted, sealed.totals.rejected) == (2998, 0)


@pytest.fixture
def unit_and_wave(session):
    with transaction(session):
        unit = make_unit(session)
        staff = make_user(session, username="staff", role="unit", unit=unit)
        wave = make_wave(session)
    return unit, staff, wave


def test_upload_whose_helper_runs_out_of_memory_stores_nothing(session, unit_and_wave):
    unit, _staff, wave = unit_and_wave
    content = xlsx_bytes({"名单": small_list()})
    options = ImportOptions(parallel=True, helper_memory_mb=64)
    with pytest.raises(ServiceError) as info, transaction(session):
        upload_list(session, unit, wave, content, filename="名单.xlsx", options=options)
    assert str(info.value).startswith("文件 名单.xlsx：表格过大或结构异常")
    for model in (ClientList, Client, StoredFile):
        assert session.exec(select(model)).all() == []


# --------------------------------------------------------------------------- control characters


def test_nul_after_the_sample_rejects_its_row():
    """A NUL past the first 4 KiB: that row rejected with a reason, the others read."""
    data = nul_csv()
    report = check_file(data, filename="nul.csv")
    assert (report["accepted"], report["rejected"]) == (299, 1)
    (bad,) = [r for r in report["rows"] if r["status"] == "rejected"]
    assert bad == {
        "row": 233,
        "status": "rejected",
        "reason": "control_chars",
        "message": REASONS["control_chars"],
        "raw": "13800000231",
        "phone_e164": None,
    }


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f"])
def test_control_characters_in_the_first_rows_reject_the_row(char):
    text = f"姓名,联系电话\n张{char}三,13800000001\n李四,13800000002\n"
    pf = parse_client_file(text.encode(), filename="x.csv")
    rows = [(r.row, r.status, r.reason, r.fields.get("姓名")) for r in pf.rows]
    assert rows == [
        (1, "skipped", "header", "姓名"),
        (2, "rejected", "control_chars", "张\ufffd三"),
        (3, "accepted", None, "李四"),
    ]


def test_control_characters_in_a_spreadsheet_reject_the_row():
    data = xlsx_bytes({"名单": small_list(A3="李_x0001_四")})
    pf = parse_client_file(data, filename="x.xlsx")
    assert [(r.row, r.status, r.reason) for r in pf.rows if r.status != "skipped"] == [
        (2, "accepted", None),
        (3, "rejected", "control_chars"),
    ]


def test_nul_row_stored_as_an_issue_on_every_database(session, unit_and_wave):
    """The same outcome on SQLite and PostgreSQL (which cannot store a NUL in text)."""
    unit, staff, wave = unit_and_wave
    with transaction(session):
        stored = upload_list(session, unit, wave, nul_csv(), actor=staff)
    assert (stored.n_accepted, stored.n_rejected) == (299, 1)
    issue = session.exec(select(ListRowIssue)).one()
    raw = current_app.extensions["phone_vault"].decrypt_text(issue.raw_value, RAW_VALUE)
    assert (issue.row_number, issue.field, raw, issue.raw_masked, issue.reason) == (
        233,
        "phone",
        "13800000231",
        "138****0231",
        "control_chars",
    )


# --------------------------------------------------------------------------- several sheets


def test_a_sentence_naming_a_field_is_not_a_header():
    for sentence in (
        "请在第二张工作表填写服务对象的姓名和联系电话，谢谢。",
        "填表说明：联系电话一律填写手机号码",
        "各单位请认真核对联系电话",
        "请在下一张表填写姓名和联系电话",
        "联系电话13800000000",
    ):
        assert _classify_header(sentence) is None, sentence
    assert _classify_header("群众联系电话") == ("phone", 5)


def two_sheets() -> bytes:
    notes = {(1, 0): "填表说明", (2, 0): "请在下一张表填写姓名和联系电话"}  # 15 characters
    second = small_list()
    second[(2, 1)] = "13900000009"
    return xlsx_bytes({"说明": notes, "一月": small_list(), "二月": second})


def test_the_list_is_found_on_whichever_sheet_holds_it():
    data = two_sheets()
    pf = parse_client_file(data, filename="x.xlsx")
    assert pf.sheet == "一月"
    assert [r.phone_e164 for r in pf.rows if r.status == "accepted"] == [
        "+8613800000001",
        "+8613800000002",
    ]
    picked = parse_client_file(data, filename="x.xlsx", sheet="二月")
    assert picked.sheet == "二月"
    assert [r.phone_e164 for r in picked.rows if r.status == "accepted"] == [
        "+8613900000009",
        "+8613800000002",
    ]
    err = refused(data, sheet="三月")
    assert err.code == "sheet_not_found" and "说明、一月、二月" in err.message


def test_clients_check_names_the_sheet_and_takes_another(runner, tmp_path):
    path = tmp_path / "two.xlsx"
    path.write_bytes(two_sheets())
    result = runner.invoke(args=["clients", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "encoding xlsx, sheet 一月: 2 accepted, 0 rejected"
    result = runner.invoke(args=["clients", "check", str(path), "--sheet", "二月"])
    assert result.output.splitlines()[0] == "encoding xlsx, sheet 二月: 2 accepted, 0 rejected"
    result = runner.invoke(args=["clients", "check", str(path), "--sheet", "三月"])
    assert result.exit_code == 2 and "说明、一月、二月" in result.output


def test_clients_import_and_upload_report_the_sheet(app, runner, client, auth, session, tmp_path):
    with transaction(session):
        unit = make_unit(session)
        make_user(session, username="unit1", role="unit", unit=unit)
        make_wave(session)
    path = tmp_path / "two.xlsx"
    path.write_bytes(two_sheets())
    result = runner.invoke(args=["clients", "import", str(path), "--unit", "U001"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("2 accepted, 0 rejected, 1 skipped (xlsx, sheet 一月)")
    auth.login("unit1")
    response = client.post(
        "/unit/lists",
        data={"file": (io.BytesIO(two_sheets()), "两表.xlsx"), "sheet": "二月"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "已导入第 2 版（工作表“二月”）：有效 2 行" in page
    lists = session.exec(select(ClientList).order_by(ClientList.version)).all()
    assert [cl.signals.get("sheet") for cl in lists] == ["一月", "二月"]


# --------------------------------------------------------------------------- clients check


def test_clients_check_honours_the_upload_limit(app, runner, tmp_path):
    path = tmp_path / "big.csv"
    rows = "".join(f"客户{i},138{i:08d}\n" for i in range(60_000))
    path.write_bytes(("姓名,联系电话\n" + rows).encode())
    assert 1 << 20 < path.stat().st_size < 2 << 20
    app.config["MAX_UPLOAD_MB"] = 1
    result = runner.invoke(args=["clients", "check", str(path)])
    assert result.exit_code == 2 and "文件太大" in result.output and "上限 1.0 MB" in result.output
    app.config["MAX_UPLOAD_MB"] = 2
    result = runner.invoke(args=["clients", "check", str(path)])
    assert result.exit_code == 0 and "60000 accepted" in result.output


def test_clients_check_rejects_a_nul_row_without_a_traceback(runner, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(nul_csv())
    result = runner.invoke(args=["clients", "check", str(path)])
    assert result.exit_code == 0 and result.exception is None
    assert result.output.splitlines() == [
        "encoding utf-8, delimiter ',': 299 accepted, 1 rejected",
        "  row 233: control_chars ('138****0231')",  # masked unless --full
    ]
