"""The sparse xlsx reader: the rows calamine gives, without building the empty grid."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from survey_service.lists.parsing import ClientFileError, parse_client_file
from survey_service.lists.parsing.sources import _sheet_rows
from survey_service.lists.parsing.sparse import sparse_rows
from survey_service.lists.parsing.workbook import SheetLimits, scan_sheet
from survey_service.lists.pipeline import sealed_list
from survey_service.lists.sealing import ImportOptions
from survey_service.privacy import files
from tests.lists.handmade import column_letters, small_list, xlsx_bytes

ROOT = Path(__file__).resolve().parents[2]
PART = "xl/worksheets/sheet1.xml"


def calamine_rows(data: bytes) -> list[list[str]]:
    """What the parser gets from calamine, an empty row as [] (the sparse reader's way)."""
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    return [row if any(row) else [] for row in _sheet_rows(sheet)]


def read_sparse(data: bytes, part: str = PART, limits: SheetLimits | None = None):
    limits = limits or SheetLimits()
    with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open(part) as f:
        width = scan_sheet(f, SheetLimits(), 1 << 30).columns  # (limits: the reader's own)
    rows, close = sparse_rows(io.BytesIO(data), part, width, limits)
    try:
        return list(rows)
    finally:
        close()


def openpyxl_bytes(cells: dict[tuple[int, int], object], number_format: str | None = None):
    wb = openpyxl.Workbook()
    ws = wb.active
    for (r, c), v in cells.items():
        cell = ws.cell(row=r, column=c + 1, value=v)
        if number_format and type(v) in (dt.date, dt.datetime):
            cell.number_format = number_format
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def openpyxl_part(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return next(n for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))


def test_ordinary_workbook_reads_the_same_as_calamine():
    cells = {
        (1, 0): "姓名",
        (1, 1): "联系电话",
        (1, 2): "服务日期",
        (1, 3): "金额",
        (1, 4): "已回访",
        (2, 0): "张三",
        (2, 1): 13800000001,  # a phone as a number
        (2, 2): dt.datetime(2026, 3, 5),
        (2, 3): 12.5,
        (2, 4): True,
        (4, 0): "李四",
        (4, 1): "027-87654321",  # a phone as text
        (4, 2): dt.datetime(2026, 3, 6, 14, 30),
        (4, 3): -3,
        (4, 4): False,
        (5, 1): " 13900000002 ",
    }
    data = openpyxl_bytes(cells)
    expected = [
        ["姓名", "联系电话", "服务日期", "金额", "已回访"],
        ["张三", "13800000001", "2026-03-05", "12.5", "TRUE"],
        [],
        ["李四", "027-87654321", "2026-03-06 14:30:00", "-3", "FALSE"],
        ["", " 13900000002 ", "", "", ""],
    ]
    assert calamine_rows(data) == expected
    assert read_sparse(data, openpyxl_part(data)) == expected


@pytest.mark.parametrize("shared", [False, True])
def test_inline_and_shared_strings_read_the_same_as_calamine(shared):
    data = xlsx_bytes({"名单": small_list(D5="备注 & <说明>", C7="")}, shared=shared)
    expected = [
        ["姓名", "联系电话", "", ""],
        ["张三", "13800000001", "", ""],
        ["李四", "13800000002", "", ""],
        [],
        ["", "", "", "备注 & <说明>"],
        [],
        [],  # C7 holds empty text: calamine's range reaches it
    ]
    assert read_sparse(data) == expected
    assert calamine_rows(data) == expected


_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12
).filter(lambda s: s.strip() == s)  # openpyxl and calamine agree on kept spaces only with this
_value = st.one_of(
    _text,
    st.integers(min_value=-(10**15), max_value=10**15),
    st.integers(min_value=13_000_000_000, max_value=19_999_999_999),  # phones as numbers
    st.integers(min_value=13_000_000_000, max_value=19_999_999_999).map(str),  # and as text
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)).map(
        lambda d: dt.datetime(d.year, d.month, d.day)
    ),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.times().map(lambda t: t.replace(microsecond=0)),
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3)).map(
        lambda d: dt.timedelta(seconds=int(d.total_seconds()))
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.tuples(st.integers(1, 40), st.integers(0, 9)), _value, min_size=1, max_size=40
    ),
    st.sampled_from([None, "yyyy/m/d", "yyyy-mm-dd hh:mm"]),
)
def test_sparse_reader_gives_calamines_rows_for_generated_workbooks(cells, number_format):
    """The same text cell by cell. A row may be padded wider: a cell without a value
    (openpyxl writes one for "") widens the sparse rows, not calamine's (the parser
    pads every row to the widest anyway)."""
    data = openpyxl_bytes(cells, number_format)
    assert trimmed(read_sparse(data, openpyxl_part(data))) == trimmed(calamine_rows(data))


def trimmed(rows: list[list[str]]) -> list[list[str]]:
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    return out


def test_a_long_cell_the_column_limit_and_the_xml_limit_hold_in_the_sparse_reader():
    limits = SheetLimits(max_cell_chars=12, max_columns=5)
    with pytest.raises(ClientFileError) as info:
        read_sparse(xlsx_bytes({"名单": small_list(B7="1" * 13)}), limits=limits)
    assert info.value.code == "too_complex" and info.value.where == "第7行"
    assert "有单元格超过 12 个字符" in info.value.message
    with pytest.raises(ClientFileError) as info:
        read_sparse(xlsx_bytes({"名单": small_list(F9="x")}), limits=limits)
    assert "用到第 6 列，超过上限 5 列" in info.value.message and info.value.where == "第9行"
    with pytest.raises(ClientFileError) as info:
        read_sparse(xlsx_bytes({"名单": small_list()}), limits=SheetLimits(max_xml_bytes=100))
    assert "解压后超过 0 MB" in info.value.message


def test_merged_ranges_for_the_header_come_from_the_scan_as_calamine_gives_them():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["C10"] = "客户信息", "x"
    ws.merge_cells("A1:B2")
    ws.merge_cells("C3:D4")
    out = io.BytesIO()
    wb.save(out)
    data = out.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open(openpyxl_part(data)) as f:
        merged = scan_sheet(f, SheetLimits(), 1 << 30).merged
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    assert merged == sheet.merged_cell_ranges == [((0, 0), (1, 1)), ((2, 2), (3, 3))]


def test_rows_and_cells_without_some_references_are_placed_as_calamine_places_them():
    """A row element without ``r`` follows the element before (not a cell's reference)."""
    unreferenced = '<c t="inlineStr"><is><t>y</t></is></c><c t="inlineStr"><is><t>z</t></is></c>'
    raw = f'<row><c r="B6" t="inlineStr"><is><t>x</t></is></c></row><row r="8">{unreferenced}</row>'
    data = xlsx_bytes({"名单": small_list()}, raw_rows=raw)
    expected = [["姓名", "联系电话"], ["张三", "13800000001"], ["李四", "13800000002"]]
    expected += [[], [], ["", "x"], [], ["y", "z"]]
    assert read_sparse(data) == calamine_rows(data) == expected
    # Here calamine puts y, z in row 5, before x: a stream cannot go back, so it refuses.
    raw = f'<row><c r="B6" t="inlineStr"><is><t>x</t></is></c></row><row>{unreferenced}</row>'
    data = xlsx_bytes({"名单": small_list()}, raw_rows=raw)
    assert calamine_rows(data)[4:] == [["y", "z"], ["", "x"]]
    with pytest.raises(ClientFileError) as info:
        read_sparse(data)
    assert info.value.code == "too_complex" and info.value.where == "第5行"
    assert "第5行出现在第6行之后，行的顺序异常" in info.value.message


def test_a_doctype_in_the_sheet_is_refused():
    data = xlsx_bytes({"名单": small_list()})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == PART:
                body = body.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
            dst.writestr(info, body)
    with pytest.raises(ClientFileError) as info:
        read_sparse(out.getvalue())
    assert "文档类型声明" in info.value.message


def sparse_list() -> bytes:
    """A header and 49 clients in A1:C50, a note in BL1 and one client at B400000:
    25.6 M cells of range for 152 cells."""
    cells = small_list(BL1="备注", B400000="13800000400", C1="服务事项")
    for r in range(4, 51):
        cells[(r, 0)] = f"客户{r}"
        cells[(r, 1)] = f"139{r:08d}"
        cells[(r, 2)] = f"服务{r}"
    return xlsx_bytes({"名单": cells}, shared=True)


_MEASURE = """
import json, sys, tracemalloc
from survey_service.lists.parsing import parse_client_file
data = open(sys.argv[1], "rb").read()
tracemalloc.start()
pf = parse_client_file(data, filename="list.xlsx")
rows = [(r.row, r.raw_phone, r.name, r.service) for r in pf.rows if r.reason != "blank"]
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"peak": peak, "rows": rows, "summary": pf.summary()["accepted"]}))
"""


@pytest.mark.slow
def test_sparse_sheet_reads_its_rows_in_bounded_memory(tmp_path):
    path = tmp_path / "sparse.xlsx"
    path.write_bytes(sparse_list())
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        check=True,
        cwd=ROOT,
        timeout=300,
    )
    out = json.loads(done.stdout)
    expected = [[1, None, None, None], [2, "13800000001", "张三", None]]
    expected += [[3, "13800000002", "李四", None]]
    expected += [[r, f"139{r:08d}", f"客户{r}", f"服务{r}"] for r in range(4, 51)]
    expected += [[400000, "13800000400", None, None]]
    assert out["rows"] == expected and out["summary"] == 50
    # calamine's grid alone would be 400,000 x 64 x 32 bytes = 820 MB
    assert out["peak"] < 4 << 20, out["peak"]  # measured: 0.2 MB


def test_sparse_sheet_through_the_helper_from_a_sealed_copy(tmp_path):
    """The helper gets the plaintext as bytes in memory; 500 MB of address space is enough."""
    options = ImportOptions(parallel=True, helper_memory_mb=500)
    with files.sealed_temp_file(tmp_path, "list") as spool:
        spool.write(sparse_list())
        spool.finish()
        with sealed_list(spool.name, filename="list.xlsx", options=options, key=spool.key) as s:
            assert s.sheet == "名单"
            for _batch in s.batches:
                pass
    assert (s.totals.accepted, s.totals.rejected) == (50, 0)
    assert s.totals.skipped == 1 + (400000 - 51)


def test_column_letters_of_the_far_cells():
    assert [column_letters(i) for i in (0, 63, 16383)] == ["A", "BL", "XFD"]
    data = sparse_list()
    assert len(data) < 10_000
    pf = parse_client_file(data, filename="list.xlsx")
    assert pf.columns["phone"] == "联系电话" and pf.columns["service"] == "服务事项"


def test_helper_out_of_memory_on_a_whole_range_format_says_to_save_as_xlsx(tmp_path):
    """xls, xlsb and ods are read as their whole range (no sparse path): the refusal says so."""
    path = tmp_path / "list.ods"
    path.write_bytes(xlsx_bytes({"名单": small_list()}))
    starved = ImportOptions(parallel=True, helper_memory_mb=64)
    for name, hint in (("list.ods", True), ("list.xlsx", False)):
        with (
            pytest.raises(ClientFileError) as info,
            sealed_list(path, filename=name, options=starved) as sealed,
        ):
            for _batch in sealed.batches:
                pass
        assert info.value.code == "too_complex" and "解析时超出内存上限 64 MB" in info.value.message
        assert ("空白很多时请另存为 xlsx" in info.value.message) is hint
