"""Client-list parser: shared samples, formats, headers, phones, refusals."""

from __future__ import annotations

import codecs
import io
import json
import random
from pathlib import Path

import openpyxl
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.lists import parsing as lp
from survey_service.lists.parsing import (
    REASONS,
    SKIP_REASONS,
    ClientFileError,
    check_file,
    headers,
    normalize_phone,
    normalize_phone_slow,
    parse_client_file,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "clientlists"
if not SAMPLES.is_dir():  # pragma: no cover - checkout elsewhere
    SAMPLES = Path("/work/shared/samples/clientlists")
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))

HEADER = "序号,姓名,联系电话,服务事项,办理日期,类型"


# --------------------------------------------------------------------------- helpers


def outcomes(pf) -> list[list]:
    out = []
    for r in pf.rows:
        if r.status == "accepted":
            out.append(["ok", r.phone_e164])
        elif r.status == "rejected":
            out.append(["reject", r.reason])
    return out


def all_rows(source, **kw):
    kw.setdefault("filename", "list.csv")
    pf = parse_client_file(source, **kw)
    return pf, list(pf.rows)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def csv_text(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def by_row(rows):
    return {r.row: r for r in rows}


def save_xlsx(
    path: Path, sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None
):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, data in sheets.items():
        ws = wb.create_sheet(title)
        for row in data:
            ws.append(row)
        for rng in (merges or {}).get(title, []):
            ws.merge_cells(rng)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- shared samples


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_samples_match_expected(name):
    pf = parse_client_file(SAMPLES / name, filename=name)
    assert outcomes(pf) == EXPECTED[name]
    s = pf.summary()
    assert s["complete"] is True
    assert s["accepted"] == sum(1 for o in EXPECTED[name] if o[0] == "ok")
    assert s["rejected"] == sum(1 for o in EXPECTED[name] if o[0] == "reject")


def test_shared_gbk_sample_details():
    pf, rows = all_rows(SAMPLES / "a_paichusuo_gbk.csv", filename="a.csv")
    assert (pf.encoding, pf.delimiter, pf.header_row, pf.format) == ("gb18030", ",", 2, "csv")
    assert pf.columns == {
        "name": "姓名",
        "phone": "联系电话",
        "service": "服务事项",
        "date": "办理日期",
        "kind": "类型",
    }
    rows = by_row(rows)
    assert (rows[1].status, rows[1].reason) == ("skipped", "title")
    assert (rows[2].status, rows[2].reason) == ("skipped", "header")
    assert (rows[204].status, rows[204].reason) == ("skipped", "footer")  # 合计,201人
    r3 = rows[3]
    assert r3.status == "accepted" and r3.phone_e164 == "+8619137343373"
    assert (r3.name, r3.service, r3.service_date, r3.kind) == (
        "吴岚明",
        "食品经营许可",
        "2017-08-15",
        "群众",
    )
    assert r3.raw_phone == "+86 19137343373"
    assert r3.fields["联系电话"] == "+86 19137343373"
    assert rows[8].reason == "missing_phone" and rows[8].raw_phone == "电话未留"
    assert max(rows) == 204


def test_shared_utf8bom_and_xlsx_encodings():
    pf = parse_client_file(SAMPLES / "b_shenpiju_utf8bom.csv", filename="b.csv")
    assert (pf.encoding, pf.delimiter, pf.header_row) == ("utf-8-sig", ",", 1)
    assert pf.columns == {"name": "客户名称", "phone": "手机号码", "service": "业务类型"}
    pf.close()
    pf = parse_client_file(SAMPLES / "e_zhufang_numeric.xlsx", filename="e.xlsx")
    assert (pf.encoding, pf.delimiter, pf.header_row, pf.sheet) == ("xlsx", None, 2, "服务对象")
    rows = by_row(pf.rows)
    assert rows[73].reason == "blank"
    assert rows[8].raw_phone == "2786023549" and rows[8].phone_e164 == "+862786023549"


def test_shared_sample_from_file_object():
    with open(SAMPLES / "a_paichusuo_gbk.csv", "rb") as f:
        pf = parse_client_file(f, filename="a.csv")
        assert outcomes(pf) == EXPECTED["a_paichusuo_gbk.csv"]
        assert not f.closed  # the caller's file is left open


def test_check_file_report():
    rep = check_file(SAMPLES / "b_shenpiju_utf8bom.csv", filename="b.csv")
    assert rep["encoding"] == "utf-8-sig" and rep["delimiter"] == ","
    assert (rep["accepted"], rep["rejected"], rep["skipped"]) == (120, 8, 1)
    assert rep["reasons"] == {"missing_phone": 2, "invalid_phone": 3, "duplicate_in_file": 3}
    assert len(rep["rows"]) == 128
    assert rep["rows"][0] == {
        "row": 2,
        "status": "accepted",
        "reason": None,
        "message": None,
        "raw": "189-8556-5270",
        "phone_e164": "+8618985565270",
    }
    rej = [r for r in rep["rows"] if r["status"] == "rejected"]
    assert all(r["message"] == REASONS[r["reason"]] for r in rej)
    assert {"row": 23, "status": "rejected", "reason": "missing_phone"}.items() <= rej[0].items()
    assert rej[0]["raw"] == "-" and rej[0]["phone_e164"] is None
    json.dumps(rep, ensure_ascii=False)


# --------------------------------------------------------------------------- encodings


def test_utf16_le_bom_tab_separated(tmp_path):
    text = csv_text(
        "姓名\t联系电话\t服务事项",
        "张三\t13812345678\t户籍办理",
        "李四\t027-88886666\t社保转移",
    )
    p = tmp_path / "unicode.txt"
    p.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    pf, rows = all_rows(p, filename="unicode.txt")
    assert (pf.encoding, pf.delimiter, pf.header_row) == ("utf-16", "\t", 1)
    assert [(r.row, r.status, r.phone_e164, r.name) for r in rows] == [
        (1, "skipped", None, None),
        (2, "accepted", "+8613812345678", "张三"),
        (3, "accepted", "+862788886666", "李四"),
    ]


def test_utf16_without_bom_detected(tmp_path):
    text = csv_text("姓名\t手机", "王五\t13912345678")
    p = tmp_path / "u.txt"
    p.write_bytes(text.encode("utf-16-le"))
    pf, rows = all_rows(p)
    assert pf.encoding == "utf-16-le"
    assert rows[1].phone_e164 == "+8613912345678"


@pytest.mark.parametrize("rare", ["𠀀", "䶮"])
def test_gb18030_rare_character_survives(tmp_path, rare):
    with pytest.raises(UnicodeEncodeError):
        rare.encode("gbk")
    name = f"王{rare}"
    p = write(tmp_path, "g.csv", csv_text(HEADER, f"1,{name},13812345678,户籍办理,2017-03-01,群众"),
              "gb18030")  # fmt: skip
    pf, rows = all_rows(p)
    assert pf.encoding == "gb18030"
    assert rows[1].name == name and rows[1].status == "accepted"


def test_gbk_file_reported_as_gb18030(tmp_path):
    p = write(
        tmp_path, "g.csv", csv_text(HEADER, "1,张三,13812345678,户籍办理,2017-03-01,群众"), "gbk"
    )
    pf, rows = all_rows(p)
    assert pf.encoding == "gb18030" and rows[1].name == "张三"


def test_utf8_without_bom(tmp_path):
    p = write(tmp_path, "u.csv", csv_text(HEADER, "1,张三,13812345678,户籍办理,2017-03-01,企业"))
    pf, rows = all_rows(p)
    assert pf.encoding == "utf-8"
    assert (rows[1].name, rows[1].kind) == ("张三", "企业")


def test_undecodable_bytes_after_sample_reject_the_row(tmp_path):
    filler = [f"{i},张三,1{3 + i % 7}{i:09d},户籍办理,2017-03-01,群众" for i in range(1, 25000)]
    body = csv_text(HEADER, *filler).encode("utf-8")
    assert len(body) > lp.SAMPLE_BYTES
    bad = b"25000," + "李四".encode("gbk") + b",13912345678,x,2017-03-01,\xc8\xba\xd6\xda\r\n"
    p = tmp_path / "mixed.csv"
    p.write_bytes(body + bad)
    pf = parse_client_file(p, filename="mixed.csv")
    assert pf.encoding == "utf-8"
    last = list(pf.rows)[-1]
    assert (last.row, last.status, last.reason) == (25001, "rejected", "garbled_text")


# --------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delim", [",", ";", "|", "\t"])
def test_delimiters_detected(tmp_path, delim):
    lines = [
        delim.join(["姓名", "手机号码", "办理事项"]),
        delim.join(["张三", "138 1234 5678", "a"]),
    ]
    p = write(tmp_path, "d.csv", csv_text(*lines))
    pf, rows = all_rows(p)
    assert pf.delimiter == delim
    assert rows[1].phone_e164 == "+8613812345678"


def test_explicit_delimiter_overrides(tmp_path):
    # Commas inside values would fool a guess; the caller knows it is ';'.
    p = write(tmp_path, "d.csv", csv_text("姓名;电话;事项", "张三,李四;13812345678;a,b,c"))
    pf, rows = all_rows(p, delimiter=";")
    assert pf.delimiter == ";"
    assert (rows[1].name, rows[1].service) == ("张三,李四", "a,b,c")


def test_quoted_newline_keeps_excel_row_numbers(tmp_path):
    p = write(
        tmp_path,
        "q.csv",
        csv_text('姓名,"联系\n电话",事项', '"张\n三",13812345678,a', "李四,13912345678,b"),
    )
    pf, rows = all_rows(p)
    assert pf.columns["phone"] == "联系\n电话"
    assert [(r.row, r.status) for r in rows] == [(1, "skipped"), (2, "accepted"), (3, "accepted")]


# --------------------------------------------------------------------------- layout rows


def test_title_blank_and_totals_rows_are_skipped(tmp_path):
    text = csv_text(
        "蔡甸区某单位2017年服务对象名单,,,,,",
        "填报单位：某某所,,,,,",
        "",
        HEADER,
        "1,张三,13812345678,户籍办理,2017-03-01,群众",
        ",,,,,",
        "2,,,,,",
        "3,李四,,户籍办理,2017-03-02,群众",
        "4,王五,1.38E+10,户籍办理,2017-03-02,群众",
        "合计,2人,,,,",
        "小计：2,,,,,",
        "制表人：赵六,,审核人：钱七,,制表日期：2018-01-05,",
        "注：本表由单位填写,,,,,",
    )
    p = write(tmp_path, "t.csv", text, "gbk")
    pf, rows = all_rows(p)
    assert pf.header_row == 4 and pf.header_rows == (4,)
    got = [(r.row, r.status, r.reason) for r in rows]
    assert got == [
        (1, "skipped", "title"),
        (2, "skipped", "title"),
        (3, "skipped", "title"),
        (4, "skipped", "header"),
        (5, "accepted", None),
        (6, "skipped", "blank"),
        (7, "skipped", "blank"),  # only a 序号
        (8, "rejected", "missing_phone"),
        (9, "rejected", "excel_mangled"),
        (10, "skipped", "footer"),
        (11, "skipped", "footer"),
        (12, "skipped", "footer"),
        (13, "skipped", "footer"),
    ]
    assert pf.summary() == {
        "accepted": 1,
        "rejected": 2,
        "skipped": 10,
        "reasons": {"missing_phone": 1, "excel_mangled": 1},
        "complete": True,
    }
    assert set(SKIP_REASONS) == {"title", "header", "blank", "footer"}


def test_repeated_header_row_is_skipped(tmp_path):
    p = write(
        tmp_path,
        "r.csv",
        csv_text(HEADER, "1,张三,13812345678,a,,", HEADER, "2,李四,13912345678,b,,"),
    )
    _, rows = all_rows(p)
    assert [(r.row, r.reason) for r in rows] == [(1, "header"), (2, None), (3, "header"), (4, None)]


def test_many_blank_rows_before_first_data_row(tmp_path):
    p = write(tmp_path, "b.csv", "姓名,电话\r\n" + "\r\n" * 5000 + "张三,13812345678\r\n")
    _, rows = all_rows(p)
    assert len(rows) == 5002
    assert all(r.reason == "blank" for r in rows[1:-1])
    assert [r.row for r in rows[1:-1]] == list(range(2, 5002))
    assert (rows[-1].row, rows[-1].status) == (5002, "accepted")


# --------------------------------------------------------------------------- phones


PHONE_CASES = [
    ("13812345678", "+8613812345678"),
    (" 13812345678\t", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("１３８１２３４５６７８", "+8613812345678"),
    ("１３８－１２３４－５６７８", "+8613812345678"),
    ("+8613812345678", "+8613812345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    ("＋８６ １３８１２３４５６７８", "+8613812345678"),
    ("0086 13812345678", "+8613812345678"),
    ("008613812345678", "+8613812345678"),
    ("8613812345678", "+8613812345678"),
    ("86-138-1234-5678", "+8613812345678"),
    ("13812345678.0", "+8613812345678"),
    ("027-88886666", "+862788886666"),
    ("027-8888 6666", "+862788886666"),
    ("(027)88886666", "+862788886666"),
    ("（027）88886666", "+862788886666"),
    ("02788886666", "+862788886666"),
    ("027－８８８８６６６６", "+862788886666"),
    ("86-27-88886666", "+862788886666"),
    ("+86 27 8888 6666", "+862788886666"),
    ("+86 (027) 88886666", "+862788886666"),
    ("88886666", "+862788886666"),
    ("8888 6666", "+862788886666"),
    ("010-62345678", "+861062345678"),
    ("2788886666", "+862788886666"),  # XLSX number that lost its leading 0
    ("1.38E+10", "excel_mangled"),
    ("1.38123E+10", "excel_mangled"),
    ("1.38e10", "excel_mangled"),
    ("１.３８Ｅ＋１０", "excel_mangled"),
    ("", "missing_phone"),
    ("   ", "missing_phone"),
    ("无", "missing_phone"),
    ("-", "missing_phone"),
    ("电话未留", "missing_phone"),
    ("2784912", "invalid_phone"),  # 7 digits + 027: Wuhan numbers have 8
    ("0000000", "invalid_phone"),
    ("95588", "invalid_phone"),
    ("12345678901", "invalid_phone"),
    ("1381234567", "invalid_phone"),
    ("138123456789", "invalid_phone"),
    ("99999999999", "invalid_phone"),
    ("13812345678/13912345678", "invalid_phone"),
    ("13812345678 本人", "invalid_phone"),
    ("+1 650 253 0000", "invalid_phone"),  # valid, but not a mainland number
]


@pytest.mark.parametrize(("raw", "expected"), PHONE_CASES)
def test_phone_dresses(raw, expected):
    assert normalize_phone(raw) == expected
    assert normalize_phone_slow(raw) == expected


def test_phone_area_code_setting():
    assert normalize_phone("62345678", area_code="010") == "+861062345678"
    assert normalize_phone("62345678", area_code="10") == "+861062345678"
    assert normalize_phone("62345678") == "+862762345678"


def test_every_reason_documented():
    assert set(REASONS) == {
        "missing_phone",
        "invalid_phone",
        "excel_mangled",
        "duplicate_in_file",
        "garbled_text",
        "control_chars",
    }
    assert all(isinstance(v, str) and v for v in REASONS.values())


def test_duplicates_across_dresses_first_stays(tmp_path):
    text = csv_text(
        "姓名,电话",
        "甲,13812345678",
        "乙,138-1234-5678",
        "丙,+86 138 1234 5678",
        "丁,027-88886666",
        "戊,88886666",
        "己,1.38E+10",
        "庚,1.38E+10",
    )
    _, rows = all_rows(write(tmp_path, "d.csv", text))
    assert [(r.row, r.status, r.reason, r.phone_e164) for r in rows[1:]] == [
        (2, "accepted", None, "+8613812345678"),
        (3, "rejected", "duplicate_in_file", None),
        (4, "rejected", "duplicate_in_file", None),
        (5, "accepted", None, "+862788886666"),
        (6, "rejected", "duplicate_in_file", None),
        (7, "rejected", "excel_mangled", None),
        (8, "rejected", "excel_mangled", None),
    ]


def _cases_by_dress():
    dresses = st.sampled_from(
        [
            "",
            "+86",
            "+86 ",
            "0086",
            "0086 ",
            "86",
            "86-",
            "027",
            "027-",
            "(027)",
            "+86 27 ",
            "0",
            "00",
        ]
    )
    body = st.text("0123456789", min_size=0, max_size=14)
    seps = st.sampled_from(["", " ", "-", "\t", "  "])

    @st.composite
    def dressed(draw):
        pre = draw(dresses)
        digits = draw(body)
        sep = draw(seps)
        cut = draw(st.integers(0, max(0, len(digits))))
        s = pre + digits[:cut] + sep + digits[cut:]
        if draw(st.booleans()):
            s = s.translate(str.maketrans("0123456789-+()", "０１２３４５６７８９－＋（）"))
        return s

    return dressed()


@settings(max_examples=1500, deadline=None)
@given(raw=st.one_of(_cases_by_dress(), st.text(max_size=20)))
def test_fast_path_equals_slow_path(raw):
    assert normalize_phone(raw) == normalize_phone_slow(raw)


@settings(max_examples=300, deadline=None)
@given(raw=_cases_by_dress(), area=st.sampled_from(["027", "010", "0755", "0710"]))
def test_fast_path_equals_slow_path_other_areas(raw, area):
    assert normalize_phone(raw, area_code=area) == normalize_phone_slow(raw, area_code=area)


def test_fast_path_every_mobile_prefix_against_phonenumbers():
    rng = random.Random(7)
    for p in range(10000, 20000):
        for _ in range(2):
            nsn = f"{p}{rng.randrange(10**6):06d}"
            num = phonenumbers.parse("+86" + nsn)
            want = "+86" + nsn if phonenumbers.is_valid_number(num) else "invalid_phone"
            assert normalize_phone(nsn) == want, nsn
            assert normalize_phone(f"{nsn[:3]} {nsn[3:7]} {nsn[7:]}") == want, nsn


def test_fast_path_every_wuhan_landline_block_against_phonenumbers():
    rng = random.Random(8)
    for p in range(1000):
        local = f"{p:03d}{rng.randrange(10**5):05d}"
        num = phonenumbers.parse("+8627" + local)
        want = "+8627" + local if phonenumbers.is_valid_number(num) else "invalid_phone"
        assert normalize_phone("027-" + local) == want, local
        if local[0] not in "01":
            assert normalize_phone(local) == want, local


# --------------------------------------------------------------------------- XLSX


def test_xlsx_int_and_float_cells_and_mangled_text(tmp_path):
    p = save_xlsx(
        tmp_path / "n.xlsx",
        {
            "名单": [
                ["某单位服务对象名单"],
                ["姓名", "联系电话", "办理日期", "类型"],
                ["张三", 13812345678, "2017-03-01", "个人"],
                ["李四", 13912345678.0, 42795, "公司"],
                ["王五", "1.38E+10", None, "居民"],
                ["赵六", 2788886666, "2017年3月5日", "单位"],
                ["钱七", 13812345678.5, "2017/3/6", "其他"],
                [None, None, None, None],
                ["合计", "5人", None, None],
            ]
        },
    )
    pf, rows = all_rows(p, filename="n.xlsx")
    assert (pf.encoding, pf.format, pf.delimiter, pf.sheet, pf.header_row) == (
        "xlsx",
        "xlsx",
        None,
        "名单",
        2,
    )
    got = [(r.row, r.status, r.reason, r.phone_e164, r.service_date, r.kind) for r in rows]
    assert got == [
        (1, "skipped", "title", None, None, None),
        (2, "skipped", "header", None, None, None),
        (3, "accepted", None, "+8613812345678", "2017-03-01", "群众"),
        (4, "accepted", None, "+8613912345678", "2017-03-01", "企业"),  # serial 42795
        (5, "rejected", "excel_mangled", None, None, "群众"),
        (6, "accepted", None, "+862788886666", "2017-03-05", "企业"),
        (7, "rejected", "invalid_phone", None, "2017-03-06", None),
        (8, "skipped", "blank", None, None, None),
        (9, "skipped", "footer", None, None, None),
    ]
    assert rows[2].raw_phone == "13812345678" and rows[3].raw_phone == "13912345678"
    assert rows[6].fields["类型"] == "其他"


def test_xlsx_named_sheet_and_auto_sheet(tmp_path):
    p = save_xlsx(
        tmp_path / "s.xlsx",
        {
            "说明": [["请在第二个工作表填写"]],
            "一月": [["姓名", "手机"], ["张三", 13812345678]],
            "二月": [["姓名", "手机"], ["李四", 13912345678]],
        },
    )
    pf, rows = all_rows(p, filename="s.xlsx", sheet="二月")
    assert pf.sheet == "二月" and rows[1].phone_e164 == "+8613912345678"
    pf, rows = all_rows(p, filename="s.xlsx", sheet=1)
    assert pf.sheet == "一月" and rows[1].phone_e164 == "+8613812345678"
    pf, rows = all_rows(p, filename="s.xlsx")  # first sheet has no header: next one
    assert pf.sheet == "一月"
    with pytest.raises(ClientFileError) as ei:
        parse_client_file(p, filename="s.xlsx", sheet="三月")
    assert ei.value.code == "sheet_not_found" and "一月" in ei.value.message


def test_xlsx_merged_two_row_header(tmp_path):
    p = save_xlsx(
        tmp_path / "m.xlsx",
        {
            "Sheet1": [
                ["蔡甸区某站服务对象名单", None, None, None, None],
                ["序号", "姓名", "联系方式", None, "服务事项"],
                [None, None, "手机", "固定电话", None],
                [1, "张三", 13812345678, None, "户籍办理"],
                [2, "李四", None, "027-88886666", "户籍办理"],
                [3, "王五", None, None, "户籍办理"],
            ]
        },
        {"Sheet1": ["A1:E1", "A2:A3", "B2:B3", "C2:D2", "E2:E3"]},
    )
    pf, rows = all_rows(p, filename="m.xlsx")
    assert pf.header_row == 2 and pf.header_rows == (2, 3)
    assert pf.columns == {"name": "姓名", "phone": "联系方式/手机", "service": "服务事项"}
    assert pf.phone_fallback_columns == ("联系方式/固定电话",)
    got = [(r.row, r.status, r.reason, r.phone_e164) for r in rows]
    assert got == [
        (1, "skipped", "title", None),
        (2, "skipped", "header", None),
        (3, "skipped", "header", None),
        (4, "accepted", None, "+8613812345678"),
        (5, "accepted", None, "+862788886666"),
        (6, "rejected", "missing_phone", None),
    ]


def test_xlsx_data_not_starting_at_a1(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"] = "姓名"
    ws["D3"] = "电话"
    ws["C4"] = "张三"
    ws["D4"] = 13812345678
    wb.save(tmp_path / "o.xlsx")
    pf, rows = all_rows(tmp_path / "o.xlsx", filename="o.xlsx", column_map={"service": "E"})
    assert pf.header_row == 3
    assert [(r.row, r.status) for r in rows] == [(1, "skipped"), (2, "skipped"), (3, "skipped"),
                                                  (4, "accepted")]  # fmt: skip
    assert rows[3].name == "张三"


def test_xlsx_from_file_object(tmp_path):
    p = save_xlsx(tmp_path / "f.xlsx", {"S": [["姓名", "电话"], ["张三", 13812345678]]})
    pf, rows = all_rows(io.BytesIO(p.read_bytes()), filename="upload.xlsx")
    assert pf.encoding == "xlsx" and rows[1].phone_e164 == "+8613812345678"


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("姓名", "name"),
        ("客户名称", "name"),
        ("服务对象", "name"),
        ("群众姓名", "name"),
        ("企业名称", "name"),
        ("姓 名", "name"),
        ("姓名（必填）", "name"),
        ("联系电话", "phone"),
        ("手机号码", "phone"),
        ("联系方式", "phone"),
        ("联系\n电话", "phone"),
        ("联系电话(必填)", "phone"),
        ("*手机号", "phone"),
        ("联系人电话", "phone"),
        ("ＴＥＬ", "phone"),
        ("服务事项", "service"),
        ("业务类型", "service"),
        ("办理事项名称", "service"),
        ("办理日期", "date"),
        ("办理时间（年/月/日）", "date"),
        ("服务对象类型", "kind"),
        ("类别", "kind"),
        ("序号", None),
        ("身份证号码", None),
        ("备注", None),
    ],
)
def test_header_synonyms(header, field):
    got = headers._classify_header(header)
    assert (got[0] if got else None) == field


def test_header_found_by_words_not_position(tmp_path):
    text = csv_text(
        "说明：请如实填写",
        "单位：某某所,,日期：2017年",
        "群众姓名,事项,手机 号码（必填）,服务 日期,对象类型",
        "张三,户籍,１３８１２３４５６７８,2017.3.1,居民",
    )
    pf, rows = all_rows(write(tmp_path, "h.csv", text))
    assert pf.header_row == 3
    assert pf.columns == {
        "name": "群众姓名",
        "service": "事项",
        "phone": "手机 号码（必填）",
        "date": "服务 日期",
        "kind": "对象类型",
    }
    r = rows[3]
    assert (r.name, r.service, r.phone_e164, r.service_date, r.kind) == (
        "张三",
        "户籍",
        "+8613812345678",
        "2017-03-01",
        "群众",
    )


def test_unknown_header_with_column_map(tmp_path):
    text = csv_text("客户,号,做了啥", "张三,13812345678,户籍")
    p = write(tmp_path, "c.csv", text)
    with pytest.raises(ClientFileError) as ei:
        parse_client_file(p, filename="c.csv")
    assert ei.value.code == "no_phone_column"
    for cmap in (
        {"phone": "号", "name": "客户", "service": "做了啥"},
        {"phone": 2, "name": "1", "service": "C"},
    ):
        pf, rows = all_rows(p, column_map=cmap)
        assert pf.header_row == 1
        assert pf.columns == {"phone": "号", "name": "客户", "service": "做了啥"}
        assert (rows[1].name, rows[1].phone_e164, rows[1].service) == (
            "张三",
            "+8613812345678",
            "户籍",
        )


def test_column_map_without_any_header(tmp_path):
    p = write(tmp_path, "n.csv", csv_text("张三,13812345678", "李四,13912345678"))
    pf, rows = all_rows(p, column_map={"name": 1, "phone": 2})
    assert pf.header_row is None
    assert [(r.row, r.status, r.name) for r in rows] == [
        (1, "accepted", "张三"),
        (2, "accepted", "李四"),
    ]


def test_column_map_overrides_detected_column(tmp_path):
    p = write(tmp_path, "o.csv", csv_text("姓名,电话,备用电话", "张三,无,13812345678"))
    _, rows = all_rows(p, column_map={"phone": "备用电话"})
    assert rows[1].phone_e164 == "+8613812345678"


def test_bad_column_map(tmp_path):
    p = write(tmp_path, "o.csv", csv_text("姓名,电话", "张三,13812345678"))
    for cmap in ({"mobile": 2}, {"phone": "不存在"}, {"phone": 0}):
        with pytest.raises(ClientFileError) as ei:
            parse_client_file(p, filename="o.csv", column_map=cmap)
        assert ei.value.code == "bad_column_map"


# --------------------------------------------------------------------------- data kept as given


def test_formula_like_names_are_stored_as_given(tmp_path):
    names = ['=HYPERLINK("http://x.cn","点我")', "@SUM(A1:A9)", "<script>alert(1)</script>", "+cmd"]
    lines = ["姓名,电话"] + [
        '"{}",1381234567{}'.format(n.replace('"', '""'), i) for i, n in enumerate(names)
    ]
    _, rows = all_rows(write(tmp_path, "f.csv", csv_text(*lines)))
    assert [r.name for r in rows[1:]] == names
    assert all(r.status == "accepted" for r in rows[1:])


def test_dates_and_kinds(tmp_path):
    text = csv_text(
        "姓名,电话,办理日期,类型",
        "a,13800000001,2017-08-15,群众",
        "b,13800000002,2017/8/5,个人",
        "c,13800000003,2017年8月5日,企业",
        "d,13800000004,20170805,公司",
        "e,13800000005,2017-08-05 10:30,单位",
        "f,13800000006,2017-02-30,什么",
        "g,13800000007,8月5日,",
    )
    _, rows = all_rows(write(tmp_path, "d.csv", text))
    assert [(r.service_date, r.kind) for r in rows[1:]] == [
        ("2017-08-15", "群众"),
        ("2017-08-05", "群众"),
        ("2017-08-05", "企业"),
        ("2017-08-05", "企业"),
        ("2017-08-05", "企业"),
        (None, None),
        (None, None),
    ]
    assert all(r.status == "accepted" for r in rows[1:])  # a bad date never rejects
    assert rows[6].fields["办理日期"] == "2017-02-30"


def test_phone_fallback_column_in_csv(tmp_path):
    p = write(
        tmp_path, "f.csv", csv_text("姓名,手机,座机", "张三,,027-88886666", "李四,13812345678,")
    )
    pf, rows = all_rows(p)
    assert pf.columns["phone"] == "手机" and pf.phone_fallback_columns == ("座机",)
    assert [r.phone_e164 for r in rows[1:]] == ["+862788886666", "+8613812345678"]


def test_no_name_column_is_fine(tmp_path):
    _, rows = all_rows(write(tmp_path, "p.csv", csv_text("手机号码", "13812345678")))
    assert (rows[1].status, rows[1].name, rows[1].fields) == (
        "accepted",
        None,
        {"手机号码": "13812345678"},
    )


# --------------------------------------------------------------------------- refused files


def _refused(source, **kw) -> ClientFileError:
    kw.setdefault("filename", "x.csv")
    with pytest.raises(ClientFileError) as ei:
        parse_client_file(source, **kw)
    err = ei.value
    assert err.message and err.where
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.message)  # Chinese
    assert any("a" <= ch <= "z" for ch in err.message)  # and English
    return err


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \r\n", b"\xff\xfe"])
def test_refuse_empty(tmp_path, content):
    p = tmp_path / "e.csv"
    p.write_bytes(content)
    assert _refused(p).code == "empty"


@pytest.mark.parametrize(
    "text",
    [
        csv_text(HEADER),
        csv_text("标题,,,,,", HEADER, ",,,,,", "合计,0人,,,,", "制表人：张三,,,,,"),
        "姓名,电话",
    ],
)
def test_refuse_header_only(tmp_path, text):
    err = _refused(write(tmp_path, "h.csv", text, "gbk"))
    assert err.code == "header_only"


def test_refuse_header_only_xlsx(tmp_path):
    p = save_xlsx(
        tmp_path / "h.xlsx", {"S": [["名单"], ["姓名", "电话"], [None, None], ["合计", None]]}
    )
    assert _refused(p, filename="h.xlsx").code == "header_only"


def test_refuse_no_phone_column(tmp_path):
    err = _refused(write(tmp_path, "n.csv", csv_text("姓名,地址,事项", "张三,武汉,户籍")))
    assert err.code == "no_phone_column"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_refuse_random_bytes(tmp_path, seed):
    p = tmp_path / "r.csv"
    p.write_bytes(random.Random(seed).randbytes(5000))
    assert _refused(p).code == "binary"


def test_refuse_zip_that_is_not_a_workbook(tmp_path):
    p = tmp_path / "z.xlsx"
    p.write_bytes(b"PK\x03\x04" + random.Random(1).randbytes(3000))
    assert _refused(p, filename="z.xlsx").code == "unreadable_spreadsheet"


def test_refuse_html_disguised_as_xls(tmp_path):
    p = write(tmp_path, "x.xls", "<html><body><table><tr><td>姓名</td></tr></table></body></html>")
    assert _refused(p, filename="x.xls").code == "html_disguised"


def test_refuse_over_max_bytes(tmp_path):
    p = write(tmp_path, "big.csv", csv_text("姓名,电话", *["张三,13812345678"] * 100))
    size = p.stat().st_size
    assert _refused(p, max_bytes=size - 1).code == "too_large"
    with open(p, "rb") as f:
        assert _refused(f, max_bytes=1000).code == "too_large"

    class Pipe(io.RawIOBase):  # not seekable, like a socket
        def __init__(self, data):
            self.b = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buf):
            chunk = self.b.read(min(len(buf), 100))
            buf[: len(chunk)] = chunk
            return len(chunk)

    assert _refused(Pipe(p.read_bytes()), max_bytes=1000).code == "too_large"
    _, rows = all_rows(Pipe(p.read_bytes()), max_bytes=size)
    assert len(rows) == 101
    _, rows = all_rows(p, max_bytes=size)
    assert len(rows) == 101


def test_text_file_object_is_a_type_error():
    with pytest.raises(TypeError):
        parse_client_file(io.StringIO("姓名,电话\n张三,13812345678\n"), filename="x.csv")


# --------------------------------------------------------------------------- streaming


class CountingReader(io.RawIOBase):
    def __init__(self, path):
        self.f = open(path, "rb")  # noqa: SIM115
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buf):
        n = self.f.readinto(buf)
        self.read_bytes += n
        return n

    def close(self):
        self.f.close()
        super().close()


def test_rows_stream_lazily(tmp_path):
    p = tmp_path / "big.csv"
    with open(p, "wb") as f:
        f.write("标题\r\n序号,姓名,联系电话,服务事项\r\n".encode("gbk"))
        service = "食品经营许可证新办变更延续注销" * 3
        for i in range(40_000):
            f.write(f"{i},张三,138{i:08d},{service}\r\n".encode("gbk"))
    size = p.stat().st_size
    assert size > 2 * lp.SAMPLE_BYTES
    src = CountingReader(p)
    pf = parse_client_file(src, filename="big.csv")
    assert not isinstance(pf.rows, list | tuple)
    assert src.read_bytes <= lp.SAMPLE_BYTES + (1 << 19)  # sample + one read buffer
    first = next(pf.rows)
    assert first.row == 1
    n = 1 + sum(1 for _ in pf.rows)
    assert n == 40_002
    assert src.read_bytes == size
    assert pf.summary()["accepted"] == 40_000
    src.close()


def test_summary_before_iteration_raises(tmp_path):
    pf = parse_client_file(
        write(tmp_path, "s.csv", csv_text("姓名,电话", "张三,13812345678")), filename="s.csv"
    )
    with pytest.raises(RuntimeError):
        pf.summary()
    pf.close()


def test_close_early_releases_file(tmp_path):
    p = write(tmp_path, "c.csv", csv_text("姓名,电话", *["张三,13812345678"] * 10))
    with parse_client_file(p, filename="c.csv") as pf:
        next(pf.rows)
    assert pf.summary()["complete"] is False


def test_xlsx_wps_wrong_declared_dimension(tmp_path):
    """WPS writes <dimension ref="A1"/> for a full sheet; calamine reads it all."""
    import re
    import zipfile

    src = save_xlsx(
        tmp_path / "w.xlsx",
        {"Sheet1": [["姓名", "电话"], ["张三", 13812345678], ["李四", "139 1234 5678"]]},
    )
    out = tmp_path / "wps.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', data)
                assert n == 1
            zout.writestr(item, data)
    _, rows = all_rows(out, filename="wps.xlsx")
    assert [(r.row, r.status, r.phone_e164) for r in rows] == [
        (1, "skipped", None),
        (2, "accepted", "+8613812345678"),
        (3, "accepted", "+8613912345678"),
    ]


def test_xlsx_datetime_cells(tmp_path):
    import datetime as dt

    p = save_xlsx(
        tmp_path / "d.xlsx",
        {
            "S": [
                ["姓名", "电话", "办理时间"],
                ["张三", 13812345678, dt.datetime(2017, 3, 1, 9, 30)],
            ]
        },
    )
    _, rows = all_rows(p, filename="d.xlsx")
    assert rows[1].service_date == "2017-03-01"
    assert rows[1].fields["办理时间"] == "2017-03-01 09:30:00"


def test_non_seekable_stream_without_limit():
    data = csv_text("姓名,电话", *[f"张三,1381234{i:04d}" for i in range(3000)]).encode("gbk")

    class Pipe(io.RawIOBase):
        def __init__(self):
            self.b = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buf):
            chunk = self.b.read(min(len(buf), 4096))
            buf[: len(chunk)] = chunk
            return len(chunk)

    pf, rows = all_rows(Pipe())
    assert pf.encoding == "gb18030"
    assert len(rows) == 3001 and rows[-1].phone_e164 == "+8613812342999"


def test_client_file_error_to_dict(tmp_path):
    p = tmp_path / "e.csv"
    p.write_bytes(b"")
    with pytest.raises(ClientFileError) as ei:
        parse_client_file(p, filename="e.csv")
    d = ei.value.to_dict()
    assert d["code"] == "empty" and d["where"] and "empty" in d["message"]


# --------------------------------------------------------------------------- old .xls


def test_old_xls_excel97(tmp_path):
    """Does an Excel 97 .xls (as WPS and old Excel save) import, numbers and all?"""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("名单")
    sheet.write(0, 0, "蔡甸区某单位服务对象名单")
    for col, text in enumerate(["姓名", "联系电话", "办理事项", "类型"]):
        sheet.write(1, col, text)
    rows = [
        ("张三", 13812345678, "户籍办理", "群众"),  # a number cell
        ("李四", 13912345678.0, "社保", "群众"),  # a float cell
        ("王五", "1.38123E+10", "登记", "企业"),  # text Excel mangled
        ("赵六", "027-8888 6666", "排水许可", "企业"),
        ("合计", "4人", "", ""),
    ]
    for r, values in enumerate(rows, start=2):
        for col, value in enumerate(values):
            sheet.write(r, col, value)
    path = tmp_path / "名单.xls"
    book.save(str(path))
    pf = parse_client_file(path, filename="名单.xls")
    with pf:
        got = [
            (r.row, r.status, r.reason, r.phone_e164, r.kind)
            for r in pf.rows
            if r.status != "skipped"
        ]
    assert pf.encoding == "xls" and pf.delimiter is None
    assert got == [
        (3, "accepted", None, "+8613812345678", "群众"),
        (4, "accepted", None, "+8613912345678", "群众"),
        (5, "rejected", "excel_mangled", None, "企业"),
        (6, "accepted", None, "+862788886666", "企业"),
    ]


def test_shipped_mobile_prefix_table_is_current():
    """Is the table worked out ahead what the installed phonenumbers gives?

    If not, regenerate it: ``python -m survey_service.lists.parsing.cn_mobile_prefixes``.
    """
    from survey_service.lists import parsing as list_parser
    from survey_service.lists.parsing import cn_mobile_prefixes

    assert phonenumbers.__version__ == cn_mobile_prefixes.PHONENUMBERS_VERSION
    source = Path(cn_mobile_prefixes.__file__).read_text(encoding="utf-8")
    assert source == list_parser.mobile_prefix_module()
    assert len(cn_mobile_prefixes.STATES) == 10000
