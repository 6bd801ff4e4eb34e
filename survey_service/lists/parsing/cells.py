"""Cell values: a spreadsheet value as text, service dates, client kinds."""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from typing import Any

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
