"""Parse the client lists (服务对象名单) that units upload.

Pure: no Flask, no database. Standard library + ``phonenumbers`` +
``python_calamine``.

Entry points
------------
``parse_client_file(source, *, filename, ...) -> ParsedFile``
    ``source`` is a path (``str``/``os.PathLike``), a binary file object, or
    ``bytes``. Everything that makes the *whole file* unusable is raised as
    :class:`ClientFileError` **from this call itself**, before it returns:
    empty file, binary garbage, over ``max_bytes``, unreadable spreadsheet,
    unknown sheet, bad ``column_map``, no phone column in the first
    ``HEADER_SCAN_ROWS`` rows, header without any data row (the parser reads
    ahead until the first data row and buffers what it read). ``rows`` is a
    lazy iterator: the file is read in blocks while you iterate, so memory does
    not grow with the file (except the set of accepted numbers kept to find
    duplicates: about 70 bytes per distinct accepted number). The only error
    that can still appear *during* iteration is a :class:`ClientFileError`
    with ``code == "malformed_csv"`` for a text file that stops being CSV
    after its first data rows (Python's csv module refuses it); rows already
    yielded stay valid.

``check_file(source, *, filename, ...) -> dict``
    Runs the parser to the end and returns a JSON-ready report.

Row numbers are what Excel shows: for text files the 1-based record number
(header and title lines included; a quoted cell containing a line break does
not shift later rows, as in Excel), for spreadsheets the sheet row number.

Statuses: ``accepted``, ``rejected`` (``reason`` is a key of :data:`REASONS`)
and ``skipped`` (``reason`` is a key of :data:`SKIP_REASONS`: title rows above
the header, the header itself, blank rows, totals/signature rows).

Encodings (text files): a BOM decides (``utf-8-sig``, ``utf-16`` for Excel's
"Unicode text", ``utf-32``); without BOM, NUL bytes in a regular pattern mean
BOM-less UTF-16 (``utf-16-le``/``utf-16-be``), other NUL bytes mean binary;
then the first ``SAMPLE_BYTES`` bytes are decoded strictly as UTF-8
(``utf-8``), else strictly as GB18030 (``gb18030``, a superset of GBK and
GB2312 so rare name characters survive), else the file is refused as not
text. Spreadsheets report ``xlsx``/``xls``/``xlsb``/``ods`` (chosen by the
file's magic bytes, not its name). Bytes after the sample that do not decode
become U+FFFD; a row whose name or service holds one is rejected as
``garbled_text`` instead of being accepted with a broken name.

Everything the parser needs beyond the row itself is O(1) memory except the
duplicate check (one int per distinct accepted number).

Phones: see :func:`normalize_phone`. The fast path handles the common dresses
without calling ``phonenumbers.parse`` and is tested to give exactly the same
result as the reference :func:`normalize_phone_slow`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as _dt
import io
import itertools
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

__all__ = [
    "REASONS",
    "SKIP_REASONS",
    "ClientFileError",
    "ParsedFile",
    "ParsedRow",
    "check_file",
    "normalize_phone",
    "normalize_phone_slow",
    "parse_client_file",
]

# --------------------------------------------------------------------------- #
# Reasons
# --------------------------------------------------------------------------- #

#: Reject reasons: code -> plain Chinese message shown to the unit for the row.
REASONS: dict[str, str] = {
    "missing_phone": "没有填写电话号码（空白、“无”、“-”、“电话未留”等）。请补填电话。",
    "invalid_phone": (
        "电话号码无效：不是有效的中国大陆手机或固定电话号码"
        "（位数不对、号段不存在、一格里填了多个号码或夹杂文字）。请核对后改正。"
    ),
    "excel_mangled": (
        "电话号码被 Excel 显示成了科学计数法（如 1.38E+10），后几位已经丢失，无法还原。"
        "请把电话列设为“文本”格式，重新填写号码后再上传。"
    ),
    "duplicate_in_file": (
        "这个电话号码在本名单前面已经出现过（以第一次出现的那一行为准），本行不再计入。"
    ),
    "garbled_text": (
        "本行有无法识别的乱码字符（文件里混用了不同的文字编码）。请检查姓名等内容，另存后重新上传。"
    ),
}

#: Why a row was skipped (not an error; shown only for transparency).
SKIP_REASONS: dict[str, str] = {
    "title": "表头上方的标题或说明行",
    "header": "表头行",
    "blank": "空行（或只有序号）",
    "footer": "合计、制表人、审核人等表尾行",
}

#: Error codes of :class:`ClientFileError`.
FILE_ERRORS: dict[str, str] = {
    "empty": "文件是空的。/ The file is empty.",
    "header_only": "文件只有表头，没有任何数据行。/ The file has a header but no data rows.",
    "no_phone_column": (
        "在文件前 20 行里找不到电话列（例如“联系电话”“手机号码”“联系方式”）。"
        "请检查表头，或手动指定电话所在的列。/ No phone column found in the first 20 rows; "
        "check the header or map the columns by hand."
    ),
    "binary": (
        "无法识别的文件：既不是 Excel 表格，也不是 CSV/文本文件（可能已损坏）。"
        "/ Not a spreadsheet or a text file (it may be damaged)."
    ),
    "html_disguised": (
        "这个文件其实是网页（HTML）格式，只是扩展名为 .xls。"
        "请用 Excel 打开后另存为 .xlsx 或 CSV 再上传。"
        "/ This .xls file is really an HTML page; save it as .xlsx or CSV first."
    ),
    "too_large": "文件太大。/ The file is too large.",
    "unreadable_spreadsheet": (
        "Excel 文件无法打开（可能已损坏或设置了密码）。/ The spreadsheet cannot be read "
        "(damaged or password-protected)."
    ),
    "sheet_not_found": "找不到指定的工作表。/ The requested sheet does not exist.",
    "bad_column_map": "手动指定的列有误。/ The column mapping is invalid.",
    "malformed_csv": "文件中有无法解析的内容，不是规范的 CSV。/ The file is not valid CSV.",
}

FIELDS = ("name", "phone", "service", "date", "kind")

#: Rows scanned for the header.
HEADER_SCAN_ROWS = 20
#: Bytes sampled for encoding and delimiter detection.
SAMPLE_BYTES = 1 << 20

_GARBLED = "\ufffd"


class ClientFileError(ValueError):
    """The file as a whole cannot be a client list.

    ``message`` is Chinese + English for the unit; ``code`` is a key of
    :data:`FILE_ERRORS`; ``where`` says where the problem was found
    (e.g. ``"文件 / file"``, ``"第1-20行 / rows 1-20"``, ``"工作表 Sheet1"``).
    """

    def __init__(self, message: str, where: str | None = None, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.where = where
        self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "where": self.where}


def _fail(code: str, where: str | None = None, detail: str | None = None) -> ClientFileError:
    msg = FILE_ERRORS[code]
    if detail:
        msg = f"{msg}（{detail}）"
    return ClientFileError(msg, where=where, code=code)


# --------------------------------------------------------------------------- #
# Phones
# --------------------------------------------------------------------------- #

_CN = PhoneMetadata.metadata_for_region("CN")


def _desc(desc) -> tuple[re.Pattern[str], frozenset[int]] | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return re.compile(desc.national_number_pattern), frozenset(desc.possible_length or ())


_GENERAL = _desc(_CN.general_desc)
_TYPE_DESCS = tuple(
    d
    for d in (
        _desc(getattr(_CN, name, None))
        for name in (
            "premium_rate",
            "toll_free",
            "shared_cost",
            "voip",
            "personal_number",
            "pager",
            "uan",
            "voicemail",
            "fixed_line",
            "mobile",
        )
    )
    if d is not None
)
assert _GENERAL is not None


def _nsn_valid(nsn: str) -> bool:
    """Same answer as ``phonenumbers.is_valid_number`` for +86 ``nsn`` (the
    national significant number): the general pattern and one type's pattern
    (with its possible lengths) must match, as in ``_number_type_helper``."""
    n = len(nsn)
    rx, lengths = _GENERAL
    if (lengths and n not in lengths) or not rx.fullmatch(nsn):
        return False
    return any((not lengths or n in lengths) and rx.fullmatch(nsn) for rx, lengths in _TYPE_DESCS)


# Validity by 5-digit prefix, per NSN length, filled lazily. A prefix is
# cached as decided (1 valid / 0 invalid) only when ten probe numbers (the
# prefix followed by a run of one digit, 0…9) all agree; otherwise it is
# "undecided" (2) and every number with it goes through the regexes. The
# tests compare this with phonenumbers for every 5-digit mobile prefix.
_PREFIX_STATE: dict[int, dict[str, int]] = {}
_PROBE_DIGITS = "0123456789"


def _probe_state(prefix: str, n: int) -> int:
    answers = {_nsn_valid(prefix + d * (n - 5)) for d in _PROBE_DIGITS}
    return (1 if answers.pop() else 0) if len(answers) == 1 else 2


def _prefix_state(nsn: str) -> int:
    n = len(nsn)
    p = nsn[:5]
    state = _probe_state(p, n)
    _PREFIX_STATE.setdefault(n, {})[p] = state
    return state


def mobile_prefix_module() -> str:
    """The source of :mod:`cn_mobile_prefixes` for the installed phonenumbers."""
    states = "".join(str(_probe_state(str(p), 11)) for p in range(10000, 20000))
    lines = "\n".join(f'    "{states[i : i + 80]}"' for i in range(0, len(states), 80))
    return (
        '"""The states of the 11-digit +86 numbers by first five digits, 10000…19999\n'
        "(0 invalid, 1 valid, 2 undecided: see list_parser._prefix_state), worked out\n"
        "ahead because the first batch of a list would otherwise wait for them.\n\n"
        "Generated: after upgrading phonenumbers, regenerate it (a test says when) with\n"
        "    python -m survey_service.lists.parsing.cn_mobile_prefixes\n"
        '"""\n\n'
        f'PHONENUMBERS_VERSION = "{phonenumbers.__version__}"\n'
        f"STATES = (\n{lines}\n)\n\n"
        'if __name__ == "__main__":  # rewrite this file\n'
        "    from pathlib import Path\n\n"
        "    from survey_service.lists.parsing import mobile_prefix_module\n\n"
        '    Path(__file__).write_text(mobile_prefix_module(), encoding="utf-8")\n'
    )


def _preload_mobile_prefixes() -> None:
    from survey_service.lists.parsing import cn_mobile_prefixes as table

    if phonenumbers.__version__ == table.PHONENUMBERS_VERSION:  # else: worked out as met
        states = _PREFIX_STATE.setdefault(11, {})
        for i, state in enumerate(table.STATES):
            states.setdefault(str(10000 + i), int(state))


_preload_mobile_prefixes()


def _cached_valid(nsn: str) -> bool:
    """``_nsn_valid`` through the prefix cache (NSN of 10 or 11 digits)."""
    st = _PREFIX_STATE.get(len(nsn), {}).get(nsn[:5])
    if st is None:
        st = _prefix_state(nsn)
    return st == 1 or (st == 2 and _nsn_valid(nsn))


# Characters removed from a phone cell: spaces of any kind, dashes, brackets.
_SEP_TABLE = str.maketrans(
    "", "", " \t\r\n\f\v\u00a0\u3000-‐‑‒–—―−_()[]/\\"
)  # after NFKC: （）→() －→- ［］→[] ／→/
# The same, ASCII only, as bytes for the fast path (bytes.translate is quick).
_SEP_ASCII = b" \t\r\n\f\v-_()[]/\\"
_MANGLED_RX = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+")
_FLOAT0_RX = re.compile(r"(\+?\d+)\.0+")
_PLAIN_RX = re.compile(r"\+?\d+")
_HAS_DIGIT_RX = re.compile(r"[0-9]")


def _area_prefix(area_code: str) -> str:
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", str(area_code)) if ch.isdigit())
    digits = digits.lstrip("0")
    if not digits:
        raise ValueError(f"area_code must contain digits, got {area_code!r}")
    return "0" + digits


def normalize_phone_slow(raw: Any, area_code: str = "027") -> str:
    """Reference implementation (the definition of the phone rules).

    Returns the E.164 string (``"+86…"``) or a reject code of :data:`REASONS`.

    1. NFKC (full-width digits, ＋, －, （） become ASCII), trim.
    2. No ASCII digit at all (``""``, ``"无"``, ``"-"``, ``"电话未留"``) ->
       ``missing_phone``.
    3. Scientific notation (``1.38E+10``) -> ``excel_mangled`` (digits lost).
    4. ``13812345678.0`` (float written as text) -> ``13812345678``.
    5. Remove spaces, dashes, brackets, slashes; what is left must be
       ``+?digits`` else ``invalid_phone`` (letters, two numbers, …).
    6. ``86`` + 10/11 digits (``86-27-88888888``) -> ``+86…``; 7–8 digit
       local numbers not starting with 0/1 get the area code (``027``).
    7. ``phonenumbers.parse(…, "CN")`` (handles +86, 0086, 0 trunk prefix,
       IP-dial prefixes); must be a valid number of country 86, else
       ``invalid_phone``.
    """
    if raw is None:
        return "missing_phone"
    s = unicodedata.normalize("NFKC", str(raw)).strip()
    if not _HAS_DIGIT_RX.search(s):
        return "missing_phone"
    if _MANGLED_RX.fullmatch(s):
        return "excel_mangled"
    m = _FLOAT0_RX.fullmatch(s)
    if m:
        s = m.group(1)
    d = s.translate(_SEP_TABLE)
    if not d.isascii() or not _PLAIN_RX.fullmatch(d):
        return "invalid_phone"
    if d[0] != "+":
        n = len(d)
        if d.startswith("86") and n in (12, 13):
            d = "+" + d
        elif 7 <= n <= 8 and d[0] not in "01":
            d = _area_prefix(area_code) + d
    try:
        num = phonenumbers.parse(d, "CN")
    except phonenumbers.NumberParseException:
        return "invalid_phone"
    if num.country_code != 86 or not phonenumbers.is_valid_number(num):
        return "invalid_phone"
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _make_phone_normalizer(area_code: str = "027"):
    """Build the fast normaliser for one area code (see :func:`normalize_phone`)."""
    area0 = _area_prefix(area_code)
    area = area0[1:]
    len_full = len(area0) + 8
    slow = normalize_phone_slow
    nfkc = unicodedata.normalize
    sep = _SEP_ASCII
    st10 = _PREFIX_STATE.setdefault(10, {})
    st11 = _PREFIX_STATE.setdefault(11, {})
    prefix_state = _prefix_state
    nsn_valid = _nsn_valid

    def normalize(raw: str) -> str:
        s = raw.strip()
        if len(s) == 11 and s[0] == "1" and s.isdigit() and s.isascii():
            nsn = s
        else:
            if not s.isascii():
                s = nfkc("NFKC", s).strip()
                if not s.isascii():
                    return slow(raw, area_code)
            if s.isdigit() or (s[:1] == "+" and s[1:].isdigit()):
                d = s
            else:
                d = s.encode().translate(None, sep).decode()
            if d.isdigit():
                n = len(d)
                if n == 11 and d[0] == "1":
                    nsn = d
                elif n == 13 and d.startswith("861"):
                    nsn = d[2:]
                elif n == 15 and d.startswith("00861"):
                    nsn = d[4:]
                elif n == len_full and d.startswith(area0):
                    nsn = d[1:]
                elif n == 8 and d[0] not in "01":
                    nsn = area + d
                else:
                    return slow(raw, area_code)
            elif len(d) == 14 and d.startswith("+861") and d[1:].isdigit():
                nsn = d[3:]
            else:
                return slow(raw, area_code)
        n = len(nsn)
        if n == 11:
            st = st11.get(nsn[:5])
        elif n == 10:
            st = st10.get(nsn[:5])
        else:
            return "+86" + nsn if nsn_valid(nsn) else slow(raw, area_code)
        if st is None:
            st = prefix_state(nsn)
        if st == 1 or (st == 2 and nsn_valid(nsn)):
            return "+86" + nsn
        return slow(raw, area_code)

    return normalize


_DEFAULT_NORMALIZER = _make_phone_normalizer("027")


def normalize_phone(raw: Any, area_code: str = "027") -> str:
    """E.164 (``"+86…"``) or a reject code; same result as
    :func:`normalize_phone_slow`, much faster for the usual dresses (plain
    mobile, spaced/dashed mobile, +86/0086/86 + mobile, 027 + 8 digits,
    8-digit local number)."""
    if raw is None:
        return "missing_phone"
    if not isinstance(raw, str):
        raw = _cell_text(raw)
    if area_code == "027":
        return _DEFAULT_NORMALIZER(raw)
    return _make_phone_normalizer(area_code)(raw)


# --------------------------------------------------------------------------- #
# Dates and kinds
# --------------------------------------------------------------------------- #

_DATE_RX = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:(?:\s+|T|日).*)?", re.S
)
_DATE_COMPACT_RX = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL_RX = re.compile(r"\d{5}(?:\.\d+)?")
_EXCEL_EPOCH = _dt.date(1899, 12, 30)


def parse_date(raw: str, *, excel_serials: bool = False) -> str | None:
    """ISO date (``YYYY-MM-DD``) or None when the value is not a full date.

    Accepts 2017-08-15, 2017/8/15, 2017.8.15, 2017年8月15日, 20170815, a date
    followed by a time, and (spreadsheets only) Excel serial day numbers.
    """
    s = raw.strip()
    if not s:
        return None
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s)
    m = _DATE_RX.fullmatch(s) or _DATE_COMPACT_RX.fullmatch(s)
    if m:
        try:
            return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return None
    if excel_serials and _SERIAL_RX.fullmatch(s):
        days = float(s)
        if 20000 <= days < 80000:
            return (_EXCEL_EPOCH + _dt.timedelta(days=int(days))).isoformat()
    return None


_KINDS = {
    "群众": "群众",
    "个人": "群众",
    "居民": "群众",
    "市民": "群众",
    "村民": "群众",
    "自然人": "群众",
    "企业": "企业",
    "公司": "企业",
    "单位": "企业",
    "法人": "企业",
    "个体工商户": "企业",
    "个体户": "企业",
}


def parse_kind(raw: str) -> str | None:
    """群众 / 企业 / None (value kept raw in ``fields``)."""
    s = unicodedata.normalize("NFKC", raw)
    s = "".join(s.split())
    return _KINDS.get(s)


# --------------------------------------------------------------------------- #
# Headers
# --------------------------------------------------------------------------- #

SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "姓名",
        "客户名称",
        "服务对象",
        "联系人",
        "名称",
        "企业名称",
        "单位名称",
        "群众姓名",
        "客户姓名",
        "服务对象名称",
        "服务对象姓名",
        "name",
    ),
    "phone": (
        "联系电话",
        "手机号码",
        "手机号",
        "电话",
        "联系方式",
        "电话号码",
        "手机",
        "移动电话",
        "固定电话",
        "座机",
        "固话",
        "phone",
        "mobile",
        "tel",
        "telephone",
    ),
    "service": (
        "服务事项",
        "业务类型",
        "办理事项",
        "服务内容",
        "事项",
        "事项名称",
        "业务名称",
        "办理业务",
        "service",
    ),
    "date": (
        "办理日期",
        "办理时间",
        "服务日期",
        "服务时间",
        "日期",
        "时间",
        "date",
    ),
    "kind": (
        "类型",
        "对象类型",
        "服务对象类型",
        "类别",
        "客户类型",
        "对象类别",
        "kind",
        "type",
    ),
}
_EXACT = {syn: f for f, syns in SYNONYMS.items() for syn in syns}
_PRIORITY = {"phone": 5, "date": 4, "kind": 3, "service": 2, "name": 1}
_NOT_A_FIELD = ("身份证", "证件", "地址", "备注", "序号", "编号", "邮箱", "年龄", "性别")
_SEQ_NAMES = frozenset({"序号", "编号", "序", "no", "no.", "#"})
_PAREN_RX = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")
_DATA_LIKE_RX = re.compile(r"\d{5,}")


def _norm_header(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = "".join(s.split())
    s = _PAREN_RX.sub("", s)
    s = s.strip("*※★:").lower()
    return s


def _classify_header(text: str) -> tuple[str, int] | None:
    """(field, score) for one header cell; None if it names no field."""
    h = _norm_header(text)
    if not h or len(h) > 20:
        return None
    f = _EXACT.get(h)
    if f:
        return f, 100
    if "/" in h:  # "联系方式/手机" (two header rows) or "电话/手机": the last part decides
        for part in reversed(h.split("/")):
            got = _classify_header(part) if part else None
            if got:
                return got
    if any(w in h for w in _NOT_A_FIELD):
        return None
    best: tuple[int, int, str] | None = None
    for f, syns in SYNONYMS.items():
        for syn in syns:
            if syn.isascii():
                continue  # English words only as whole cells
            if syn in h:
                score = len(syn) + (1 if h.endswith(syn) else 0)
                key = (score, _PRIORITY[f], f)
                if best is None or key > best:
                    best = key
    if best is None:
        return None
    return best[2], best[0]


@dataclass
class _Layout:
    header_idx: tuple[int, ...]  # indices into the head rows (0-based), () when no header
    keys: list[str]  # per column: the name used in ``fields``
    texts: list[str]  # per column: original header text
    cols: dict[str, int]  # field -> column index
    phone_fallback: tuple[int, ...] = ()
    seq_cols: frozenset[int] = frozenset()
    score: tuple[int, int] = (0, 0)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _letter_col(s: str) -> int:
    n = 0
    for ch in s.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _row_fields(texts: list[str]) -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for i, t in enumerate(texts):
        if not t:
            continue
        c = _classify_header(t)
        if c:
            found.setdefault(c[0], []).append((c[1], i))
    return found


def _score(found: dict[str, list[tuple[int, int]]]) -> tuple[int, int]:
    return (len(found), sum(max(s for s, _ in v) for v in found.values()))


def _is_data_like(row: list[str]) -> bool:
    return any(_DATA_LIKE_RX.search(c.replace(" ", "").replace("-", "")) for c in row if c)


def _layout_from(
    head: list[list[str]],
    idx: tuple[int, ...],
    texts: list[str],
    found: dict[str, list[tuple[int, int]]],
) -> _Layout:
    cols: dict[str, int] = {}
    fallback: tuple[int, ...] = ()
    for f, hits in found.items():
        best = max(s for s, _ in hits)
        primary = min(i for s, i in hits if s == best)
        cols[f] = primary
        if f == "phone":
            fallback = tuple(sorted(i for _, i in hits if i != primary))
    return _build_layout(head, idx, texts, cols, fallback, _score(found))


def _build_layout(head, idx, texts, cols, fallback, score) -> _Layout:
    width = max([len(texts), *(len(r) for r in head), *(i + 1 for i in cols.values())])
    texts = list(texts) + [""] * (width - len(texts))
    keys: list[str] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        k = t.strip() or f"列{_col_letter(i)}"
        if k in seen:
            seen[k] += 1
            k = f"{k}#{seen[k]}"
        else:
            seen[k] = 1
        keys.append(k)
    seq = frozenset(i for i, t in enumerate(texts) if _norm_header(t) in _SEQ_NAMES)
    return _Layout(idx, keys, texts, cols, fallback, seq, score)


def _merge_fill(row: list[str], r: int, merged) -> list[str]:
    """Copy the top-left value of merged ranges starting on sheet row ``r``
    (0-based) into the other cells of that row the range covers."""
    out = list(row)
    for (r0, c0), (_r1, c1) in merged or ():
        if r0 == r and c0 < len(out) and out[c0]:
            for c in range(c0 + 1, min(c1 + 1, len(out))):
                if not out[c]:
                    out[c] = out[c0]
    return out


def _is_subheader(row: list[str]) -> bool:
    """A second header row: holds no data and mostly names fields."""
    cells = [c for c in row if c.strip()]
    if not cells or _is_data_like(row):
        return False
    named = sum(1 for c in cells if _classify_header(c))
    return named >= 1 and 2 * named >= len(cells)


def _find_header(head: list[list[str]], merged=None, row0: int = 0) -> _Layout | None:
    """Pick the header among the first rows: most fields named, phone required.

    A following row that is a sub-header (names a field, holds no data) is
    combined with it (merged multi-row headers: value in the top-left cell)."""
    best: tuple[tuple[int, int], int, dict] | None = None
    for i, row in enumerate(head):
        found = _row_fields(row)
        if "phone" not in found:
            continue
        sc = _score(found)
        if best is None or sc > best[0]:
            best = (sc, i, found)
    if best is None:
        return None
    _, i, found = best
    idx: tuple[int, ...] = (i,)
    texts = list(head[i])
    if i + 1 < len(head):
        nxt = head[i + 1]
        if _is_subheader(nxt):
            upper = _merge_fill(head[i], row0 + i, merged)
            width = max(len(upper), len(nxt))
            upper = upper + [""] * (width - len(upper))
            lower = list(nxt) + [""] * (width - len(nxt))
            texts = [
                "/".join(p for p in (u.strip(), lo.strip()) if p) if u.strip() != lo.strip() else u
                for u, lo in zip(upper, lower, strict=True)
            ]
            comb = _row_fields(texts)
            if "phone" in comb:
                idx = (i, i + 1)
                found = comb
            else:
                texts = list(head[i])
    return _layout_from(head, idx, texts, found)


def _resolve_column_map(
    column_map: Mapping[str, Any], head: list[list[str]], auto: _Layout | None
) -> _Layout:
    where = "手动列映射 / column_map"
    named: dict[str, str] = {}
    numbered: dict[str, int] = {}
    for f, v in column_map.items():
        if f not in FIELDS:
            raise _fail("bad_column_map", where, f"未知字段 {f!r}，可用：{', '.join(FIELDS)}")
        if isinstance(v, bool) or v is None:
            raise _fail("bad_column_map", where, f"{f}: {v!r}")
        if isinstance(v, int):
            if v < 1:
                raise _fail("bad_column_map", where, f"{f}: 列号从 1 开始")
            numbered[f] = v - 1
            continue
        s = str(v).strip()
        if s.isdigit():
            numbered[f] = int(s) - 1
        elif re.fullmatch(r"[A-Za-z]{1,3}", s) and _EXACT.get(s.lower()) is None:
            numbered[f] = _letter_col(s)
        else:
            named[f] = _norm_header(s)
    if "phone" not in column_map and (auto is None or "phone" not in auto.cols):
        raise _fail("no_phone_column", "前20行 / first 20 rows")
    idx: tuple[int, ...]
    if named:
        hit = None
        for i, row in enumerate(head):
            norm = [_norm_header(c) for c in row]
            if all(n in norm for n in named.values()):
                hit = (i, norm)
                break
        if hit is None:
            missing = "、".join(str(column_map[f]) for f in named)
            raise _fail("bad_column_map", where, f"前20行中找不到列：{missing}")
        i, norm = hit
        base = auto if auto is not None and auto.header_idx and auto.header_idx[-1] == i else None
        cols = dict(base.cols) if base else {}
        for f, n in named.items():
            cols[f] = norm.index(n)
        idx = base.header_idx if base else (i,)
        texts = base.texts if base else list(head[i])
        fallback = base.phone_fallback if base else ()
    elif auto is not None:
        idx, texts, cols, fallback = (
            auto.header_idx,
            auto.texts,
            dict(auto.cols),
            auto.phone_fallback,
        )
    else:
        # No recognisable header: it is the row just above the first row whose
        # phone column holds digits (none if that is the first row).
        pc = numbered["phone"]
        first = next(
            (
                j
                for j, r in enumerate(head)
                if pc < len(r) and _HAS_DIGIT_RX.search(unicodedata.normalize("NFKC", r[pc]))
            ),
            0,
        )
        idx = (first - 1,) if first > 0 else ()
        texts = list(head[first - 1]) if first > 0 else []
        cols, fallback = {}, ()
    cols.update(numbered)
    if "phone" in column_map:
        fallback = ()
    return _build_layout(head, idx, texts, cols, fallback, (len(cols), 0))


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


class ParsedRow(NamedTuple):
    row: int
    status: str  # "accepted" | "rejected" | "skipped"
    reason: str | None
    raw_phone: str | None
    phone_e164: str | None
    name: str | None
    service: str | None
    service_date: str | None  # ISO date or None
    kind: str | None  # "群众" | "企业" | None
    fields: dict[str, str]


_new_row = tuple.__new__


class PhoneRows(NamedTuple):
    """Rows with a valid phone, in columns, in file order (``accepted_batch`` mode).

    Not yet checked against each other: the reader decides which are
    ``duplicate_in_file`` (a number accepted earlier) and which are
    ``garbled_text`` (``garbled`` lists their positions in this batch), with
    the same precedence as the row-by-row parser.
    """

    rows: list[int]
    raw_phones: list[str]
    phones_e164: list[str]
    names: list[str | None]
    services: list[str | None]
    service_dates: list[str | None]
    kinds: list[str | None]
    garbled: list[int]

    @property
    def status(self) -> str:
        return "accepted"


@dataclass
class ParsedFile:
    """Result of :func:`parse_client_file`. Iterate ``rows`` once."""

    encoding: str
    delimiter: str | None
    header_row: int | None  # first header row (1-based), None without header
    columns: dict[str, str]  # field -> original header text
    rows: Iterator[ParsedRow]
    format: str = "csv"  # csv | xlsx | xls | xlsb | ods
    sheet: str | None = None
    header_rows: tuple[int, ...] = ()
    phone_fallback_columns: tuple[str, ...] = ()
    area_code: str = "027"
    _counts: dict[str, Any] = field(default_factory=dict, repr=False)
    _closers: list[Any] = field(default_factory=list, repr=False)
    _gen: Any = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """Counts after iterating ``rows``: accepted, rejected, skipped,
        ``reasons`` (reject code -> count), ``complete`` (False when the
        iteration stopped early)."""
        if not self._counts:
            raise RuntimeError("summary() is available after iterating rows")
        return dict(self._counts)

    def close(self) -> None:
        """Stop reading and release the file (also done when ``rows`` ends)."""
        gen, self._gen = self._gen, None
        if gen is not None and not gen.gi_running:
            gen.close()
        self._close_sources()

    def _close_sources(self) -> None:
        closers, self._closers = self._closers, []
        for c in reversed(closers):
            with contextlib.suppress(Exception):
                c()

    def __enter__(self) -> ParsedFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- #
# Reading the source
# --------------------------------------------------------------------------- #


class _Source(io.RawIOBase):
    """``prefix`` followed by the rest of ``f``; never closes ``f`` unless owned."""

    def __init__(self, prefix: bytes, f: IO[bytes] | None, owned: bool):
        super().__init__()
        self._prefix = memoryview(prefix)
        self._pos = 0
        self._f = f
        self._owned = owned

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        rest = len(self._prefix) - self._pos
        if rest > 0:
            n = min(rest, len(b))
            b[:n] = self._prefix[self._pos : self._pos + n]
            self._pos += n
            return n
        if self._f is None:
            return 0
        data = self._f.read(len(b))
        if not data:
            return 0
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        if self._owned and self._f is not None:
            self._f.close()
        self._f = None
        super().close()


_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _open(source, max_bytes: int | None) -> tuple[bytes, IO[bytes] | None, bool, str | None]:
    """-> (prefix, rest-stream, owned, path)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if max_bytes is not None and len(data) > max_bytes:
            raise _too_large(len(data), max_bytes)
        return data, None, False, None
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        size = os.path.getsize(path)
        if max_bytes is not None and size > max_bytes:
            raise _too_large(size, max_bytes)
        f = open(path, "rb")  # noqa: SIM115 - closed by the row iterator / ParsedFile.close
        try:
            prefix = f.read(SAMPLE_BYTES)
        except BaseException:
            f.close()
            raise
        return prefix, f, True, path
    if isinstance(source, io.TextIOBase):
        raise TypeError("source must be a path or a *binary* file object")
    f = source
    if max_bytes is not None:
        seekable = False
        try:
            seekable = f.seekable()
        except Exception:
            seekable = False
        if seekable:
            pos = f.tell()
            end = f.seek(0, io.SEEK_END)
            f.seek(pos)
            if end - pos > max_bytes:
                raise _too_large(end - pos, max_bytes)
        else:
            spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
            total = 0
            while chunk := f.read(1 << 20):
                total += len(chunk)
                if total > max_bytes:
                    spool.close()
                    raise _too_large(total, max_bytes, at_least=True)
                spool.write(chunk)
            spool.seek(0)
            prefix = spool.read(SAMPLE_BYTES)
            return prefix, spool, True, None
    prefix = f.read(SAMPLE_BYTES)
    if isinstance(prefix, str):
        raise TypeError("source must be a path or a *binary* file object")
    return prefix, f, False, None


def _too_large(size: int, limit: int, at_least: bool = False) -> ClientFileError:
    mb = size / 1e6
    over = "超过 " if at_least else ""
    lim = limit / 1e6
    detail = f"{over}{mb:.1f} MB，上限 {lim:.1f} MB / {mb:.1f} MB > {lim:.1f} MB"
    return _fail("too_large", "文件 / file", detail)


def _detect_encoding(prefix: bytes, at_eof: bool) -> tuple[str, int]:
    """-> (codec name to report and use, BOM length)."""
    if prefix.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", 3
    if prefix.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32", 4
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 2
    sample = prefix[:4096]
    if b"\x00" in sample:
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        half = len(sample) / 2
        if odd > 0.3 * half and even < 0.05 * half:
            return "utf-16-le", 0
        if even > 0.3 * half and odd < 0.05 * half:
            return "utf-16-be", 0
        raise _fail("binary", "文件 / file")
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)("strict").decode(prefix, final=at_eof)
        except UnicodeDecodeError:
            continue
        return enc, 0
    raise _fail("binary", "文件 / file", "无法识别的文字编码 / unknown text encoding")


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for ch in text[:20000] if (ch < " " and ch not in "\t\r\n") or ch == "\x7f")
    return bad > max(2, len(text[:20000]) // 200)


_DELIMS = (",", "\t", ";", "|")


def _choose_delimiter(sample: str, explicit: str | None) -> tuple[str, list[list[str]]]:
    """-> (delimiter, first rows parsed with it) judged by header words,
    then by a consistent number of cells per row."""
    cut = sample.rfind("\n")
    complete = sample[: cut + 1] if cut >= 0 else sample
    cands = (explicit,) if explicit else _DELIMS
    best = None
    for order, d in enumerate(cands):
        rows = []
        try:
            for k, r in enumerate(csv.reader(io.StringIO(complete), delimiter=d)):
                rows.append(r)
                if k >= HEADER_SCAN_ROWS + 5:
                    break
        except csv.Error:
            continue
        lay = _find_header(rows[:HEADER_SCAN_ROWS])
        hscore = lay.score if lay else (0, 0)
        widths = [len(r) for r in rows if any(c.strip() for c in r)]
        mode = max(set(widths), key=widths.count) if widths else 0
        consistency = widths.count(mode) if mode > 1 else 0
        key = (hscore, consistency, -order)
        if best is None or key > best[0]:
            best = (key, d, rows)
    if best is None:
        raise _fail("malformed_csv", "文件开头 / start of file")
    return best[1], best[2]


def _cell_text(v: Any) -> str:
    t = type(v)
    if t is str:
        return v
    if t is float:
        if v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return repr(v)
    if t is int:
        return str(v)
    if t is bool:
        return "TRUE" if v else "FALSE"
    if isinstance(v, _dt.datetime):
        if v.time() == _dt.time(0):
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if v is None:
        return ""
    return str(v)


def _sheet_rows(sheet) -> Iterator[list[str]]:
    off = sheet.start[1] if sheet.start else 0
    pad = [""] * off
    ct = _cell_text
    for row in sheet.iter_rows():
        cells = [c if c.__class__ is str else ct(c) for c in row]
        yield pad + cells if off else cells


# --------------------------------------------------------------------------- #
# Row classification
# --------------------------------------------------------------------------- #

_FOOTER_RX = re.compile(
    r"(?:合计|总计|小计|共计|累计|以下空白|以下无"
    r"|(?:制表|审核|填表|填报|经办|复核)人"
    r"|(?:制表|填表|填报|统计)(?:日期|时间|单位)"
    r"|(?:制表|审核|填表|填报|负责人|单位负责人|经办|复核|统计|备注|注|说明)(?::|$))"
)


class _Parser:
    def __init__(self, layout: _Layout, area_code: str, excel_serials: bool, accepted_batch=None):
        self.layout = layout
        self.accepted_batch = accepted_batch
        self.area_code = area_code
        self.excel_serials = excel_serials
        self.counts: dict[str, Any] = {}
        self.on_finish = None

    def skip_reason(self, cells: list[str]) -> str | None:
        lay = self.layout
        if all(not c.strip() for c in cells):
            return "blank"
        for c in cells:
            if c and _FOOTER_RX.match(_norm_footer(c)):
                return "footer"
        seq = lay.seq_cols
        if all(not c.strip() for i, c in enumerate(cells) if i not in seq):
            return "blank"
        pc = lay.cols["phone"]
        if lay.texts and pc < len(lay.texts) and pc < len(cells):
            h = _norm_header(lay.texts[pc].split("/")[-1])
            if h and _norm_header(cells[pc]) == h:
                return "header"
        return None

    def run(self, records: Iterable[list[str]], rownum: int, line_num=None) -> Iterator[ParsedRow]:
        """Classify rows; ``rownum`` is the number of the row before the first."""
        lay = self.layout
        cols = lay.cols
        pi = cols["phone"]
        fb = lay.phone_fallback
        ni = cols.get("name", -1)
        si = cols.get("service", -1)
        di = cols.get("date", -1)
        ki = cols.get("kind", -1)
        keys = list(lay.keys)
        need = max([len(keys), pi + 1, *(i + 1 for i in fb), ni + 1, si + 1, di + 1, ki + 1])
        while len(keys) < need:
            keys.append(f"列{_col_letter(len(keys))}")
        nk = len(keys)
        phone = _make_phone_normalizer(self.area_code)
        excel_serials = self.excel_serials
        date_cache: dict[str, str | None] = {}
        kind_cache: dict[str, str | None] = {}
        seen: set[int] = set()
        seen_add = seen.add
        skip_reason = self.skip_reason
        new = _new_row
        PR = ParsedRow
        garbled = _GARBLED
        acc = rej = skp = 0
        reasons: dict[str, int] = {}
        complete = False
        empty: dict[str, str] = {}
        batch = self.accepted_batch
        # Rows with a valid phone in columns (accepted_batch mode), see PhoneRows.
        c_row: list[int] = []
        c_raw: list[str] = []
        c_phone: list[str] = []
        c_name: list[str | None] = []
        c_service: list[str | None] = []
        c_date: list[str | None] = []
        c_kind: list[str | None] = []
        c_garbled: list[int] = []
        try:
            for cells in records:
                rownum += 1
                n = len(cells)
                if n != nk:
                    if n == 0:
                        skp += 1
                        yield new(
                            PR,
                            (rownum, "skipped", "blank", None, None, None, None, None, None, empty),
                        )
                        continue
                    if n < nk:
                        cells = cells + [""] * (nk - n)
                    if n > nk:
                        while len(keys) < n:
                            keys.append(f"列{_col_letter(len(keys))}")
                        nk = len(keys)
                raw = cells[pi].strip()
                if fb and not raw:
                    for j in fb:
                        if cells[j].strip():
                            raw = cells[j].strip()
                            break
                res = phone(raw)
                name = cells[ni].strip() if ni >= 0 else ""
                service = cells[si].strip() if si >= 0 else ""
                if res[0] == "+" and batch:
                    reason = None  # duplicates and garbled text: decided by the reader
                    e164 = res
                elif res[0] == "+":
                    key = int(res)
                    if key in seen:
                        reason = "duplicate_in_file"
                        e164 = None
                    elif garbled in name or garbled in service:
                        reason = "garbled_text"
                        e164 = None
                    else:
                        seen_add(key)
                        reason = None
                        e164 = res
                else:
                    sk = skip_reason(cells)
                    if sk is not None:
                        skp += 1
                        yield new(
                            PR,
                            (rownum, "skipped", sk, raw or None, None, None, None, None,
                             None, dict(zip(keys, cells))),  # noqa: B905
                        )  # fmt: skip
                        continue
                    reason = res
                    e164 = None
                if di >= 0:
                    dr = cells[di]
                    try:
                        sdate = date_cache[dr]
                    except KeyError:
                        sdate = parse_date(dr, excel_serials=excel_serials)
                        if len(date_cache) < 20000:
                            date_cache[dr] = sdate
                else:
                    sdate = None
                if ki >= 0:
                    kr = cells[ki]
                    try:
                        kind = kind_cache[kr]
                    except KeyError:
                        kind = parse_kind(kr)
                        if len(kind_cache) < 1000:
                            kind_cache[kr] = kind
                else:
                    kind = None
                if reason is None:
                    acc += 1
                    if batch:
                        if garbled in name or garbled in service:
                            c_garbled.append(len(c_row))
                        c_row.append(rownum)
                        c_raw.append(raw)
                        c_phone.append(e164)
                        c_name.append(name or None)
                        c_service.append(service or None)
                        c_date.append(sdate)
                        c_kind.append(kind)
                        if len(c_row) >= batch:
                            yield PhoneRows(
                                c_row, c_raw, c_phone, c_name, c_service, c_date, c_kind, c_garbled
                            )
                            c_row, c_raw, c_phone, c_name = [], [], [], []
                            c_service, c_date, c_kind, c_garbled = [], [], [], []
                        continue
                    yield new(
                        PR,
                        (rownum, "accepted", None, raw, e164, name or None,
                         service or None, sdate, kind, dict(zip(keys, cells))),  # noqa: B905
                    )  # fmt: skip
                else:
                    rej += 1
                    reasons[reason] = reasons.get(reason, 0) + 1
                    yield new(
                        PR,
                        (rownum, "rejected", reason, raw or None, None, name or None,
                         service or None, sdate, kind, dict(zip(keys, cells))),  # noqa: B905
                    )  # fmt: skip
            if c_row:
                yield PhoneRows(c_row, c_raw, c_phone, c_name, c_service, c_date, c_kind, c_garbled)
            complete = True
        except csv.Error as exc:
            where = f"第{rownum + 1}行附近 / near row {rownum + 1}"
            raise _fail("malformed_csv", where, str(exc)) from exc
        finally:
            self.counts = {
                "accepted": acc,
                "rejected": rej,
                "skipped": skp,
                "reasons": reasons,
                "complete": complete,
            }
            if self.on_finish is not None:
                self.on_finish(self.counts)


def _norm_footer(c: str) -> str:
    s = c if c.isascii() else unicodedata.normalize("NFKC", c)
    return "".join(s.split())


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def parse_client_file(
    source: str | os.PathLike[str] | IO[bytes] | bytes,
    *,
    filename: str,
    area_code: str = "027",
    sheet: str | int | None = None,
    delimiter: str | None = None,
    column_map: Mapping[str, Any] | None = None,
    max_bytes: int | None = None,
    accepted_batch: int | None = None,
) -> ParsedFile:
    """Open and check a client list; rows stream from ``ParsedFile.rows``.

    ``sheet``: name or 0-based index (spreadsheets); default: the first sheet
    with a recognisable header (normally the first sheet).
    ``delimiter``: force the text delimiter (default: detected among
    ``, \\t ; |``). ``column_map``: ``{"phone": "手机", "name": 2, "date": "E"}``
    (header text, 1-based column number, or Excel column letter); fields not
    given are still detected from the header. ``max_bytes``: refuse bigger
    files. ``accepted_batch=N``: rows with a valid phone come as
    :class:`PhoneRows`, N at a time, in columns and without ``fields``, and
    the reader tells duplicates and garbled text apart (the importer's way:
    it saves a tuple and a dict per row, and checks duplicates in bulk with
    flat memory); other rejected rows and skipped rows still come one by
    one, and ``summary()`` counts the rows with a valid phone as accepted.
    Raises :class:`ClientFileError` (see module docstring).
    """
    _area_prefix(area_code)  # validate early
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\r\n\"'"):
        raise ValueError(f"bad delimiter {delimiter!r}")
    prefix, rest, owned, path = _open(source, max_bytes)
    closers: list[Any] = []
    if owned and rest is not None:
        closers.append(rest.close)
    try:
        if not prefix.strip(b" \t\r\n\x00") or prefix in (
            codecs.BOM_UTF8,
            codecs.BOM_UTF16_LE,
            codecs.BOM_UTF16_BE,
        ):
            more = rest.read(1) if rest is not None and len(prefix) >= SAMPLE_BYTES else b""
            if not more:
                raise _fail("empty", "文件 / file")
            prefix += more  # 1 MB of blank space, then content: keep the byte read
        if prefix.startswith(_ZIP) or prefix.startswith(_OLE):
            parsed = _parse_spreadsheet(
                prefix, rest, path, filename, sheet, column_map, area_code, accepted_batch
            )
        else:
            parsed = _parse_text(
                prefix, rest, owned, filename, delimiter, column_map, area_code, accepted_batch
            )
    except BaseException:
        for c in closers:
            c()
        raise
    parsed._closers[:0] = closers
    return parsed


def _sniff_html(prefix: bytes) -> bool:
    head = prefix[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<", b"mime-version")) and (
        b"<table" in prefix[:65536].lower() or b"<html" in head or b"mime-version" in head
    )


def _parse_text(
    prefix, rest, owned, filename, delimiter, column_map, area_code, accepted_batch=None
) -> ParsedFile:
    if _sniff_html(prefix):
        raise _fail("html_disguised", "文件 / file")
    at_eof = len(prefix) < SAMPLE_BYTES
    encoding, _bom = _detect_encoding(prefix, at_eof)
    sample = codecs.getincrementaldecoder(encoding)("replace").decode(prefix, final=at_eof)
    if encoding == "utf-8-sig" and sample.startswith("\ufeff"):
        sample = sample[1:]
    if _looks_binary(sample):
        raise _fail("binary", "文件 / file")
    if not sample.strip():
        raise _fail("empty", "文件 / file")
    delim, _ = _choose_delimiter(sample, delimiter)
    raw = _Source(prefix, rest, owned)
    text = io.TextIOWrapper(
        io.BufferedReader(raw, buffer_size=1 << 18), encoding=encoding, errors="replace", newline=""
    )
    records = csv.reader(text, delimiter=delim)
    try:
        pf = _assemble(
            records,
            fmt="csv",
            encoding=encoding,
            delimiter=delim,
            sheet_name=None,
            merged=None,
            column_map=column_map,
            area_code=area_code,
            excel_serials=False,
            accepted_batch=accepted_batch,
            where_file="文件 / file",
        )
    except BaseException:
        text.close()
        raise
    pf._closers.append(text.close)
    return pf


def _spreadsheet_format(prefix: bytes, filename: str) -> str:
    ext = os.path.splitext(filename or "")[1].lower().lstrip(".")
    if prefix.startswith(_OLE):
        return "xls"
    if ext in ("xlsb", "ods"):
        return ext
    return "xlsx"


def _parse_spreadsheet(
    prefix, rest, path, filename, sheet, column_map, area_code, accepted_batch=None
) -> ParsedFile:
    from python_calamine import CalamineWorkbook

    fmt = _spreadsheet_format(prefix, filename)
    try:
        if path is not None:
            wb = CalamineWorkbook.from_path(path)
        else:
            data = prefix + (rest.read() if rest is not None else b"")
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:
        raise _fail("unreadable_spreadsheet", "文件 / file", type(exc).__name__) from exc
    names = list(wb.sheet_names)
    if not names:
        raise _fail("empty", "文件 / file")

    def load(i: int):
        try:
            return wb.get_sheet_by_index(i)
        except Exception as exc:
            raise _fail("unreadable_spreadsheet", f"工作表 {names[i]}", type(exc).__name__) from exc

    if sheet is not None:
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 0 <= sheet < len(names):
                raise _fail("sheet_not_found", f"工作表 #{sheet}", "、".join(names))
            order = [sheet]
        else:
            if sheet not in names:
                raise _fail("sheet_not_found", f"工作表 {sheet}", "现有：" + "、".join(names))
            order = [names.index(sheet)]
    else:
        order = list(range(len(names)))
    errors: list[ClientFileError] = []
    for i in order:
        sh = load(i)
        merged = None
        try:
            merged = sh.merged_cell_ranges
        except Exception:
            merged = None
        try:
            return _assemble(
                _sheet_rows(sh),
                fmt=fmt,
                encoding=fmt,
                delimiter=None,
                sheet_name=names[i],
                merged=merged,
                column_map=column_map,
                area_code=area_code,
                excel_serials=True,
                accepted_batch=accepted_batch,
                where_file=f"工作表 {names[i]} / sheet {names[i]}",
            )
        except ClientFileError as exc:
            if exc.code not in ("no_phone_column", "empty"):
                raise
            errors.append(exc)
    raise next((e for e in errors if e.code != "empty"), errors[0])


def _assemble(
    records: Iterator[list[str]],
    *,
    fmt: str,
    encoding: str,
    delimiter: str | None,
    sheet_name: str | None,
    merged,
    column_map: Mapping[str, Any] | None,
    area_code: str,
    excel_serials: bool,
    where_file: str,
    accepted_batch: int | None = None,
) -> ParsedFile:
    head: list[list[str]] = []
    try:
        for r in records:
            head.append(r)
            if len(head) >= HEADER_SCAN_ROWS:
                break
    except csv.Error as exc:
        raise _fail("malformed_csv", f"{where_file}，第{len(head) + 1}行", str(exc)) from exc
    if not any(any(c.strip() for c in r) for r in head):
        raise _fail("empty", where_file)
    auto = _find_header(head, merged)
    if column_map:
        layout = _resolve_column_map(column_map, head, auto)
    elif auto is None:
        raise _fail("no_phone_column", f"{where_file}，前{len(head)}行 / first {len(head)} rows")
    else:
        layout = auto
    hdr = layout.header_idx
    first_data = (hdr[-1] + 1) if hdr else 0
    pre: list[ParsedRow] = []
    for i in range(first_data):
        reason = "header" if i in hdr else "title"
        pre.append(
            ParsedRow(
                i + 1,
                "skipped",
                reason,
                None,
                None,
                None,
                None,
                None,
                None,
                dict(zip(layout.keys, head[i], strict=False)),
            )
        )
    parser = _Parser(layout, area_code, excel_serials, accepted_batch)
    gen = parser.run(itertools.chain(head[first_data:], records), first_data)
    # Read ahead until the first data row: "header only" is refused here.
    # Runs of blank rows are kept as (first, last) pairs, not row objects.
    buffered: list[Any] = []
    blank_run: list[int] | None = None
    found = False
    for pr in gen:
        if pr.status != "skipped":
            if blank_run:
                buffered.append(tuple(blank_run))
            buffered.append(pr)
            found = True
            break
        if pr.reason == "blank" and not pr.fields:
            if blank_run is None:
                blank_run = [pr.row, pr.row]
            else:
                blank_run[1] = pr.row
            continue
        if blank_run:
            buffered.append(tuple(blank_run))
            blank_run = None
        buffered.append(pr)
    if not found:
        gen.close()
        where = (
            f"{where_file}，表头在第{hdr[0] + 1}行 / header at row {hdr[0] + 1}"
            if hdr
            else where_file
        )
        raise _fail("header_only", where)

    columns = {
        f: layout.texts[i] if i < len(layout.texts) and layout.texts[i] else layout.keys[i]
        for f, i in layout.cols.items()
    }
    pf = ParsedFile(
        encoding=encoding,
        delimiter=delimiter,
        header_row=(hdr[0] + 1) if hdr else None,
        columns=columns,
        rows=iter(()),
        format=fmt,
        sheet=sheet_name,
        header_rows=tuple(i + 1 for i in hdr),
        phone_fallback_columns=tuple(layout.keys[i] for i in layout.phone_fallback),
        area_code=area_code,
    )
    n_pre = len(pre)

    def finish(counts: dict[str, Any]) -> None:
        done = dict(counts)
        done["skipped"] += n_pre
        pf._counts = done
        pf._close_sources()

    parser.on_finish = finish
    pf.rows = itertools.chain(pre, _expand(buffered), gen)
    pf._gen = gen
    return pf


def _expand(buffered: list[Any]) -> Iterator[ParsedRow]:
    empty: dict[str, str] = {}
    for item in buffered:
        if isinstance(item, ParsedRow | PhoneRows):
            yield item
        else:
            for r in range(item[0], item[1] + 1):
                yield ParsedRow(r, "skipped", "blank", None, None, None, None, None, None, empty)
    buffered.clear()


def check_file(
    source: str | os.PathLike[str] | IO[bytes] | bytes,
    *,
    filename: str,
    area_code: str = "027",
    sheet: str | int | None = None,
    delimiter: str | None = None,
    column_map: Mapping[str, Any] | None = None,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """Parse to the end and return a JSON-ready report.

    ``{"file", "format", "encoding", "delimiter", "sheet", "header_row",
    "columns", "accepted", "rejected", "skipped", "reasons", "rows": [...]}``
    where ``rows`` lists every non-skipped row as
    ``{"row", "status", "phone"}`` (accepted) or
    ``{"row", "status", "reason", "message", "raw"}`` (rejected; ``raw`` is
    the phone cell as written, or None when empty).
    :class:`ClientFileError` propagates (use ``.to_dict()``).
    """
    pf = parse_client_file(
        source,
        filename=filename,
        area_code=area_code,
        sheet=sheet,
        delimiter=delimiter,
        column_map=column_map,
        max_bytes=max_bytes,
    )
    out_rows: list[dict[str, Any]] = []
    with pf:
        for r in pf.rows:
            if r.status == "skipped":
                continue
            out_rows.append(
                {
                    "row": r.row,
                    "status": r.status,
                    "reason": r.reason,
                    "message": REASONS[r.reason] if r.reason else None,
                    "raw": r.raw_phone,
                    "phone_e164": r.phone_e164,
                }
            )
    s = pf.summary()
    return {
        "file": filename,
        "format": pf.format,
        "encoding": pf.encoding,
        "delimiter": pf.delimiter,
        "sheet": pf.sheet,
        "header_row": pf.header_row,
        "columns": pf.columns,
        "accepted": s["accepted"],
        "rejected": s["rejected"],
        "skipped": s["skipped"],
        "reasons": s["reasons"],
        "rows": out_rows,
    }
