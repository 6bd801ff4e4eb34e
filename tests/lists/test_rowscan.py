"""The C row scanner (``parsing._rowscan``): the same items as the Python loop, row for row.

In ``accepted_batch`` mode the scanner takes the common rows (an ASCII mobile or a
landline of the area code, plain or dressed, with a prefix known valid, a date and a
kind already seen) and hands every other row back to the loop in
rows.py. Nothing may change with it: every test here parses the same rows with
the scanner and with the loop alone (``rows.native = None``) and compares all
that comes out, the batches' columns, every other row, the counts, and where
a broken CSV is reported.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import runpy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.lists.parsing import ClientFileError, PhoneRows, parse_client_file, phones
from survey_service.lists.parsing import rows as parsing_rows
from survey_service.lists.parsing.headers import _Layout
from survey_service.lists.parsing.rows import _Parser

NATIVE = parsing_rows._native_module
needs_native = pytest.mark.skipif(NATIVE is None, reason="_rowscan is not built (make setup)")
BENCH = Path(__file__).resolve().parents[2] / "bench"
HEADER = ["序号", "姓名", "手机", "服务事项", "办理日期", "类型", "座机"]  # 座机: the fallback
BATCHES = [1, 2, 7, 5000]


def test_native_module_is_built_under_ci():
    """Under CI the scanner must import: a missing build would pass, slowly."""
    if os.environ.get("CI") == "true":
        assert NATIVE is not None, "survey_service.lists.parsing._rowscan did not import under CI"
    elif NATIVE is None:
        pytest.skip("_rowscan is not built (make setup)")


def _items(rows) -> list:
    """What the parser gave, a batch marked as one (a PhoneRows is a tuple too)."""
    return [("batch", tuple(item)) if isinstance(item, PhoneRows) else item for item in rows]


def _with(scanner, parse):
    """``parse()`` with ``rows.native`` set to ``scanner``; a refusal as (code, where)."""
    parsing_rows.native = scanner
    try:
        return parse()
    except ClientFileError as refused:
        return ("refused", refused.code, refused.where)
    finally:
        parsing_rows.native = NATIVE


def _file_both_ways(content: bytes, batch: int) -> tuple:
    def parse():
        with parse_client_file(content, filename="x.csv", accepted_batch=batch) as parsed:
            return _items(parsed.rows), parsed.summary()

    return _with(NATIVE, parse), _with(None, parse)


class _Counting:
    """A stand-in for the module that counts the calls of ``scan`` and notes the rows
    it put in the columns itself (their numbers)."""

    def __init__(self):
        self.calls = 0
        self.read = []

    def scan(self, rows, state, columns, nk, setup):
        self.calls += 1
        before = len(columns[0])
        try:
            return NATIVE.scan(rows, state, columns, nk, setup)
        finally:
            self.read += columns[0][before:]


# --------------------------------------------------------------------------- the generator's files


@functools.cache
def _generated(mix: str, rows: int = 20_000) -> bytes:
    generate = runpy.run_path(str(BENCH / "gen_clientlist.py"))["generate"]
    out = io.BytesIO()
    generate(out, rows, "gbk", 7, mix)
    return out.getvalue()


@needs_native
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("mix", ["mixed", "plain", "spaced"])
def test_generated_lists_give_the_same_items(mix, batch):
    """The bench's three mixes, 20,000 GBK rows: the same items with and without the scanner."""
    content = _generated(mix)
    native, python = _file_both_ways(content, batch)
    assert native == python
    _rows, summary = native
    assert summary["complete"] and summary["accepted"] > 19_000


@needs_native
@pytest.mark.parametrize(
    ("mix", "for_python"),
    # Rows Python still reads (3.2%, 6.3% and 3.4% of these files; 3%, 16% and 24% when
    # the scanner read mobiles only, 8% of the mixed file before it read full-width digits):
    # bad numbers, undecided prefixes, the first landline of each prefix (in a file of
    # 20,000 rows, hundreds).
    [("plain", 0.05), ("spaced", 0.1), ("mixed", 0.05)],
)
def test_the_scanner_reads_the_mobiles_itself(mix, for_python):
    """Mobiles and landlines, plain or dressed, never come back to Python once their
    prefix is known: one call per batch or other row."""
    counting = _Counting()
    content = _generated(mix)

    def parse():
        with parse_client_file(content, filename="x.csv", accepted_batch=5000) as parsed:
            return _items(parsed.rows)

    assert _with(counting, parse) == _with(None, parse)
    assert 0 < counting.calls < for_python * 20_000


# --------------------------------------------------------------------------- hypothesis rows

PLAIN = [f"1391234567{i}" for i in range(6)] + ["18912345678", "13800000000"]
# 8-digit local numbers: valid ones of a few prefixes, and ones starting 0 or 1 (no local number).
LOCALS = st.sampled_from(["88886666", "88886667", "28880000", "59876543", "08886666", "18886666"])
# How a landline is written, for an area code (the normaliser's fast path reads the first
# nine for its own area code) and its local number; then others (wrong area code, wrong
# lengths, calling codes) that Python decides.
LANDLINE_DRESSES = [
    lambda n, a="027": f"{a}-{n}",
    lambda n, a="027": f"({a}){n}",
    lambda n, a="027": f"({a}) {n[:4]}-{n[4:]}",
    lambda n, a="027": f"{a}{n}",
    lambda n, a="027": f"{a} {n[:4]} {n[4:]}",
    lambda n, a="027": f"[{a}]/{n}",
    lambda n, a="027": n,
    lambda n, a="027": f"{n[:4]}-{n[4:]}",
    lambda n, a="027": f" {n}\t",
    lambda n, a="027": f"{a}-{n[:-1]}",
    lambda n, a="027": f"{a}-{n}6",
    lambda n, a="027": n[:-1],
    lambda n, a="027": f"{n}6",
    lambda n, a="027": f"{a[1:]}-{n}",
    lambda n, a="027": f"0{a}-{n}",
    lambda n, a="027": f"+86{a[1:]}{n}",
    lambda n, a="027": f"86-{a[1:]}-{n}",
    lambda n, a="027": f"0086{a[1:]}{n}",
    lambda n, a="027": f"021-{n}",
    lambda n, a="027": f"{a}-{n[:4]}.{n[4:]}",
    lambda n, a="027": f"{a}\u3000{n}",
]
CALLING_CODES = st.sampled_from(
    ["", "", "86", "+86", "0086", "+", "8", "00860", "+0086", "00", "87", "+87", "0087", "0"]
)
# What the normaliser deletes, and some it does not (an ideographic space). No control
# character: one in a file sends every row of it to Python (the reader's controls[0]).
SEPARATORS = st.sampled_from(["", "", "", *" \t-_()[]/\\", "\u3000", ".", "x", "+"])


@st.composite
def _dressed(draw) -> str:
    """A number with a calling code or none, and separators (or worse) between its digits."""
    number = draw(CALLING_CODES) + draw(st.sampled_from([*PLAIN, "12345678901", "02788886666"]))
    return "".join(ch + draw(SEPARATORS) for ch in number)


PHONES = st.one_of(
    _dressed(),
    st.sampled_from(PLAIN),  # plain valid mobiles, repeated: duplicates
    st.sampled_from(["12345678901", "10012345678", "14012345678", "1391234567", "139123456789"]),
    st.sampled_from(["23912345678", "03912345678", "0391234567x", "1391234567x"]),
    st.sampled_from(PLAIN).map(lambda m: f"{m[:3]} {m[3:7]} {m[7:]}"),
    st.sampled_from(PLAIN).map(lambda m: f"{m[:3]}-{m[3:7]}-{m[7:]}"),
    st.sampled_from(PLAIN).map(lambda m: f" {m}\t"),
    st.sampled_from(PLAIN).map(lambda m: f"\u3000{m}"),
    st.sampled_from(PLAIN).map(lambda m: "+86" + m),
    st.sampled_from(PLAIN).map(lambda m: f"+86 {m}"),
    st.sampled_from(PLAIN).map(lambda m: f"0086{m}"),
    st.sampled_from(PLAIN).map(lambda m: f"86-{m[:3]}-{m[3:]}"),
    st.sampled_from(PLAIN).map(lambda m: f"({m[:3]}){m[3:]}"),
    st.sampled_from(PLAIN).map(lambda m: f"(+86){m}"),
    st.sampled_from([code + PLAIN[2] for code in ("87", "00", "0087", "+87", "0", "+")]),
    st.sampled_from([f"{PLAIN[3][:3]}.{PLAIN[3][3:]}", f"{PLAIN[3]}.0", f"{PLAIN[3]}x"]),
    st.sampled_from(["+86139123456789", "+861391234567", "00861391234567", "+8612345678901"]),
    st.sampled_from(["+861391234567x", "+86139123456+8", "861391234567x", "0086139123456x8"]),
    st.sampled_from(
        ["", " ", "无", "1.38E+10", "027-88886666", "88886666", "１３９１２３４５６７０"]
    ),
    st.builds(lambda dress, local: dress(local), st.sampled_from(LANDLINE_DRESSES), LOCALS),
)
NAMES = st.sampled_from(["张三", " 李四 ", "", "王\ufffd五", "合计", "制表人：张三", "a\u3000"])
SERVICES = st.sampled_from(["户籍", "", " 社保 ", "\ufffd"])
DATES = st.sampled_from(["2017-01-02", "2017/3/4", "", "bad", "2017-02-30", "2017-01-02 "])
KINDS = st.sampled_from(["群众", "企业", "", "个人", " 企业"])
FALLBACK = st.sampled_from(["", "", "027-88886666", "13912345670"])


@st.composite
def _row(draw) -> list[str]:
    cells = [
        str(draw(st.integers(1, 99))),
        draw(NAMES),
        draw(PHONES),
        draw(SERVICES),
        draw(DATES),
        draw(KINDS),
        draw(FALLBACK),
    ]
    shape = draw(st.sampled_from(["full"] * 6 + ["short", "long", "blank", "empty"]))
    if shape == "short":
        return cells[: draw(st.integers(1, 6))]
    if shape == "long":
        return cells + ["x"] * draw(st.integers(1, 3))
    if shape == "blank":
        return [""] * len(cells)
    if shape == "empty":
        return []
    return cells


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([HEADER, *rows])
    return out.getvalue().encode()


@needs_native
@settings(max_examples=150)
@given(
    st.lists(_row(), min_size=1, max_size=40),
    st.sampled_from(BATCHES),
    st.none() | st.integers(0, 40),
)
def test_mixed_rows_give_the_same_items(rows, batch, control_at):
    """Plain and dressed mobiles, bad prefixes, blanks, footers, short and long rows,
    garbled text, duplicates, dates and kinds seen and unseen, the fallback column, and
    (in some lists) a control character: the same items either way."""
    if control_at is not None:
        rows = [*rows[:control_at], ["1", "张\x01三", PLAIN[0], "", "", "", ""], *rows[control_at:]]
    native, python = _file_both_ways(_csv(rows), batch)
    assert native == python


LAYOUT = _Layout(
    header_idx=(),
    keys=["姓名", "电话", "事项", "日期", "类型"],
    texts=[],
    cols={"name": 0, "phone": 1, "service": 2, "date": 3, "kind": 4},
)
# Characters str.strip() removes or keeps that a CSV rarely brings: the scanner must agree.
SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u3000\u200b\ufeff"
TEXT = st.text(alphabet=st.sampled_from([*SPACES, "张", "a", "1", "\ufffd"]), max_size=6)


def _run_both_ways(
    records: list, batch: int, switch_at: int | None = None, area: str = "027", scanner=NATIVE
) -> tuple:
    """The parser on Python lists, controls False until row ``switch_at`` is read; the
    scanner (``NATIVE`` or a stand-in for it) first, then the loop alone."""

    def parse():
        controls = [False]
        parser = _Parser(LAYOUT, area, False, batch, controls)

        def rows():
            for i, cells in enumerate(records):
                if i == switch_at:
                    controls[0] = True  # as the reader does on a block with a control byte
                yield cells

        return _items(parser.run(rows(), 0)), parser.counts

    return _with(scanner, parse), _with(None, parse)


PADDED = st.builds(lambda a, m, b: a + m + b, TEXT, st.sampled_from(PLAIN), TEXT)
RECORD = st.tuples(TEXT, st.sampled_from(PLAIN) | PADDED | PHONES, TEXT, DATES, KINDS).map(list)


@needs_native
@settings(max_examples=200)
@given(
    st.lists(RECORD, min_size=1, max_size=30),
    st.sampled_from(BATCHES),
    st.none() | st.integers(0, 30),
)
def test_stripping_and_the_control_switch_match_python(records, batch, switch_at):
    """Names, services and phones padded with every kind of space str.strip() knows (and
    some it does not), and controls[0] turning True midway: the same items either way."""
    native, python = _run_both_ways(records, batch, switch_at)
    assert native == python


def _dresses() -> list[str]:
    """Every calling code before a few numbers, their digits split by each separator."""
    codes = ["", "86", "+86", "0086", "+", "8", "87", "+87", "00", "0087", "00860", "+0086"]
    numbers = [PLAIN[1], "12345678901", "10012345678", "02788886666", PLAIN[2][:10]]
    separators = ["", " ", "-", "\t", "()", "/", "\\", "_", "[", ".", "x", "+", "\u3000"]
    return [
        f"{code}{sep}{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
        for code in codes
        for number in numbers
        for sep in separators
    ]


@needs_native
@pytest.mark.parametrize("batch", [1, 7])
def test_every_dress_of_a_number_matches_python(batch):
    """Each dress once, after a row that puts the date and kind in their caches."""
    records = [["张三", PLAIN[0], "", "", ""]]
    records += [["李四", phone, "", "", ""] for phone in _dresses()]
    records += [["王五", f"{phone}.0", "", "", ""] for phone in PLAIN]
    native, python = _run_both_ways(records, batch)
    assert native == python
    assert native[1]["accepted"] > 100


AREAS = ["027", "0755", "010"]


def _landline_dresses(area: str) -> list[str]:
    """Every dress of a few local numbers with ``area``, each twice: the second of a new
    prefix comes after Python has learned it."""
    numbers = ["88886666", "28880000", "59876543", "08886666", "18886666", "1888666", "8888666"]
    return [dress(n, area) for n in numbers for dress in LANDLINE_DRESSES for _ in range(2)]


@needs_native
@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("area", AREAS)
def test_every_dress_of_a_landline_matches_python(area, batch):
    """Each landline dress (twice), after a row that puts the date and kind in their caches,
    for area codes of two and three digits after the 0: the same items either way, and the
    landlines of a 10-digit national number read in C, once their prefix is known."""
    counting = _Counting()
    records = [["张三", PLAIN[0], "", "", ""]]
    records += [["李四", phone, "", "", ""] for phone in _landline_dresses(area)]
    native, python = _run_both_ways(records, batch, area=area, scanner=counting)
    assert native == python
    assert native[1]["accepted"] > 100
    landlines_in_c = [records[r - 1][1] for r in counting.read if r > 1]
    if len(area) == 3:  # 027 and 010: 10-digit national numbers
        assert f"{area}-88886666" in landlines_in_c and "88886666" in landlines_in_c
        assert f"({area}) 2888-0000" in landlines_in_c
    else:  # 0755: 11 digits not starting with 1, not in the scanner's table
        assert landlines_in_c == []
    assert not any(phone.startswith(("0888", "1888", "021")) for phone in landlines_in_c)


@needs_native
@pytest.mark.parametrize("area", ["027", "010"])
def test_a_prefix_learned_midway_is_read_in_c_afterwards(area, monkeypatch):
    """The first row of a new landline prefix goes to Python, which learns its state;
    the scanner's tables are remade, and the later rows of that prefix stay in C."""
    monkeypatch.setitem(phones._PREFIX_STATE, 10, {})  # no 10-digit prefix learned yet
    local = "88886666"
    phones_in_file = [f"{area}-{local}", local, f"({area}){local[:4]}-{local[4:]}", local]
    records = [["张三", PLAIN[0], "", "", ""]]
    records += [[f"李{i}", phone, "", "", ""] for i, phone in enumerate(phones_in_file)]
    records.append(["王五", PLAIN[1], "", "", ""])
    counting = _Counting()
    native, python = _run_both_ways(records, 5000, area=area, scanner=counting)
    assert native == python
    assert native[1]["accepted"] == len(records)
    assert counting.read == [3, 4, 5, 6]  # rows 1 (caches) and 2 (the prefix): Python's


def test_the_prefix_tables_follow_the_learned_states():
    """valid_prefixes, brought up to date from the new states only, is the whole table."""
    phones._make_phone_normalizer("028")("028-66661111")  # learns a prefix, if not known
    for n, size in ((11, 10_000), (10, 90_000)):
        states = phones._PREFIX_STATE[n]
        table = phones.valid_prefixes(n)
        assert len(table) == size
        assert table == bytes(states.get(str(p)) == 1 for p in range(10_000, 10_000 + size))


@needs_native
@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(
            TEXT,
            st.builds(lambda dress, local: dress(local), st.sampled_from(LANDLINE_DRESSES), LOCALS)
            | st.sampled_from(PLAIN)
            | PHONES,
            TEXT,
            DATES,
            KINDS,
        ).map(list),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(BATCHES),
    st.sampled_from(AREAS),
)
def test_landlines_and_mobiles_mixed_match_python(records, batch, area):
    """Landlines in every dress (for 027: other area codes read them as strangers), mobiles
    and the rest, under three area codes: the same items either way."""
    native, python = _run_both_ways(records, batch, area=area)
    assert native == python


# --------------------------------------------------------------------------- malformed CSV


def _runaway_after(good: int) -> bytes:
    """``good`` plain rows, then a quote never closed: a field over the csv limit."""
    rows = "".join(f"张三,139{i:08d}\r\n" for i in range(good))
    return ("姓名,电话\r\n" + rows + '李四,"13900000001' + "x" * 200_000 + "\r\n").encode()


@needs_native
@pytest.mark.parametrize("good", [200, 4999, 5000, 5001, 20_000])
@pytest.mark.parametrize("batch", [7, 5000])
def test_malformed_csv_reports_the_same_row(good, batch):
    """A csv.Error raised inside the scanner: the same refusal and row as the Python loop."""
    native, python = _file_both_ways(_runaway_after(good), batch)
    assert native == python
    assert native[0] == "refused" and native[1] == "malformed_csv"
    assert native[2] == f"第{good + 2}行附近"


@needs_native
@pytest.mark.parametrize("good", [0, 1, 7, 8])
def test_an_iterator_error_leaves_the_row_count_right(good):
    """Any iterator's csv.Error, after ``good`` common rows and one for Python."""
    records = [["张三", PLAIN[0], "", "", ""]] * good + [["李四", "139 1234 5670", "", "", ""]]

    def parse():
        parser = _Parser(LAYOUT, "027", False, 7, [False])

        def rows():
            yield from records
            raise csv.Error("broken")

        return _items(parser.run(rows(), 0))

    where = f"第{good + 2}行附近"
    assert _with(NATIVE, parse) == _with(None, parse) == ("refused", "malformed_csv", where)


# --------------------------------------------------------------------------- the call itself


@needs_native
def test_scan_counts_rows_and_keeps_the_iterators_error():
    """state = [rownum, accepted] is current when the iterator raises, and the error is its own."""

    def rows():
        yield ["张三", PLAIN[0], "户籍", "d", "k"]
        yield ["李四", PLAIN[1], "", "d", "k"]
        raise csv.Error("broken")

    it = rows()
    state = [10, 0]
    columns = [[] for _ in PhoneRows._fields]
    setup = (1, 0, 2, 3, 4, [False], "027", bytes([1]) * 10000, bytes(90000), {"d": None},
             {"k": "群众"}, 100)  # fmt: skip
    with pytest.raises(csv.Error, match="broken"):
        NATIVE.scan(it, state, columns, 5, setup)
    assert state == [12, 2]
    assert columns == [
        [11, 12],
        [PLAIN[0], PLAIN[1]],
        ["+86" + PLAIN[0], "+86" + PLAIN[1]],
        ["张三", "李四"],
        ["户籍", None],
        [None, None],
        ["群众", "群众"],
        [],
    ]


@needs_native
def test_scan_refuses_a_bad_setup():
    """Wrong shapes raise, never read out of bounds."""
    columns = [[] for _ in PhoneRows._fields]
    good = (1, 0, 2, 3, 4, [False], "027", bytes(10000), bytes(90000), {}, {}, 100)
    with pytest.raises(ValueError, match="outside"):
        NATIVE.scan(iter([]), [0, 0], columns, 2, good)
    with pytest.raises(TypeError):
        NATIVE.scan(iter([]), [0, 0], columns, 5, (*good[:11], b"short"))
    with pytest.raises(TypeError):
        NATIVE.scan(iter([]), [0, 0], columns, 5, good[:11])
    with pytest.raises(TypeError, match="area"):
        NATIVE.scan(iter([]), [0, 0], columns, 5, (*good[:6], b"027", *good[7:]))
    with pytest.raises(TypeError, match="10000 bytes"):
        NATIVE.scan(iter([]), [0, 0], columns, 5, (*good[:7], bytes(10), *good[8:]))
    with pytest.raises(TypeError, match="90000 bytes"):
        NATIVE.scan(iter([]), [0, 0], columns, 5, (*good[:8], bytes(10000), *good[9:]))
    with pytest.raises(TypeError):
        NATIVE.scan(iter([]), [0, 0], columns, 5, (*good[:9], [], *good[10:]))
    with pytest.raises(TypeError):
        NATIVE.scan(iter([]), [0, 0], columns[:7], 5, good)
    with pytest.raises(ValueError, match="batch"):
        NATIVE.scan(iter([]), [0, 0], columns, 5, (*good[:11], 0))
    assert NATIVE.scan(iter([]), [0, 0], columns, 5, good) is None
    # An area code the scanner cannot read (too long, not ASCII digits): landlines are Python's.
    for area in ("0" + "1" * 9, "0\u0662\u0667", ""):
        assert NATIVE.scan(iter([]), [0, 0], columns, 5, (*good[:6], area, *good[7:])) is None


@needs_native
def test_scan_reads_landlines_of_its_area_code():
    """A 10-digit landline with a valid prefix in C; the same with the prefix unknown, an
    11-digit national number not starting with 1, or the area code unreadable: back to Python."""
    columns = [[] for _ in PhoneRows._fields]
    valid10 = bytearray(90000)
    valid10[27888 - 10000] = 1
    setup = (1, 0, 2, 3, 4, [False], "027", bytes([1]) * 10000, bytes(valid10), {"": None},
             {"": None}, 100)  # fmt: skip
    rows = [["a", p, "", "", ""] for p in ("027-88886666", "88886666", "(027)8888-6666")]
    assert NATIVE.scan(iter(rows), [0, 0], columns, 5, setup) is None
    assert columns[2] == ["+862788886666"] * 3
    for phone, area in [("027-98886666", "027"), ("0755-88886666", "0755"),
                        ("88886666", "0" + "2" * 9), ("010-88886666", "027")]:  # fmt: skip
        cells = ["a", phone, "", "", ""]
        got = NATIVE.scan(iter([cells]), [0, 0], columns, 5, (*setup[:6], area, *setup[7:]))
        assert got is cells


def test_without_the_module_the_loop_reads_every_row(monkeypatch):
    """rows.native = None: the Python loop alone, the same result as ever."""
    monkeypatch.setattr(parsing_rows, "native", None)
    content = _csv([["1", "张三", PLAIN[0], "户籍", "2017-01-02", "群众", ""]] * 3)
    with parse_client_file(content, filename="x.csv", accepted_batch=2) as parsed:
        items = _items(parsed.rows)
        assert parsed.summary()["accepted"] == 3
    assert [len(item[1][0]) for item in items if item[0] == "batch"] == [2, 1]


def _full_width(text: str) -> str:
    """``text`` in full-width forms (ASCII ! to ~ at U+FF01..U+FF5E), spaces ideographic."""
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text
    )


@needs_native
def test_full_width_numbers_are_read_in_c_as_nfkc_reads_them():
    """Full-width digits, ＋, －, （） and ideographic spaces, whole or mixed with ASCII, are
    read in C with the results NFKC gives the loop; another character NFKC changes (a
    no-break space, a circled or superscript digit, a full-width letter) stays Python's."""
    counting = _Counting()
    mobile, landline = PLAIN[1], "027-88886666"
    dresses = [mobile, f"+86 {mobile}", f"0086-{mobile}", f"({mobile[:3]}){mobile[3:]}",
               landline, "(027)8888-6666", "88886666",
               f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"]  # fmt: skip
    in_c = [_full_width(d) for d in dresses] + [_full_width(mobile[:5]) + mobile[5:]]
    to_python = [mobile[:3] + "\u00a0" + mobile[3:], "\u2460" + mobile[1:], mobile[:10] + "\u00b9",
                 _full_width(mobile[:10]) + "ｘ", _full_width(mobile + "０")]  # fmt: skip
    records = [["张三", PLAIN[0], "", "", ""]]
    records += [["李四", phone, "", "", ""] for phone in in_c + to_python for _ in range(2)]
    native, python = _run_both_ways(records, 7, scanner=counting)
    assert native == python
    read = {records[r - 1][1] for r in counting.read if r > 1}
    assert read == set(in_c)
    # Valid too, read by Python: the no-break space, the circled and the superscript digit.
    assert native[1]["accepted"] == 1 + len(in_c) * 2 + 3 * 2
