"""What each row below the header is (accepted, rejected and why, or skipped), and the results.

In ``accepted_batch`` mode the common row (an ASCII mobile, plain or dressed
with spaces, dashes or +86, or a landline of the area code, 027-88886666 or
88886666, with a prefix known valid, and a date and a kind already seen) is handled
by :mod:`survey_service.lists.parsing._rowscan` when it is built: the
per-row loop here was most of the parsing helper's time. It hands every
other row back to the loop below, so the results are the same either way;
without the module the loop reads every row itself.
"""

from __future__ import annotations

import contextlib
import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

from survey_service.lists.parsing.cells import parse_date, parse_kind
from survey_service.lists.parsing.errors import _fail
from survey_service.lists.parsing.headers import _col_letter, _Layout, _norm_header
from survey_service.lists.parsing.phones import (
    _PREFIX_STATE,
    _area_prefix,
    _make_phone_normalizer,
    valid_prefixes,
)
from survey_service.lists.parsing.sources import CONTROL_RX

try:
    from survey_service.lists.parsing import _rowscan as _native_module
except ImportError:  # not built (no compiler): the Python loop reads every row
    _native_module = None

#: The C row scanner, or None for the Python loop alone; the tests set it to run both.
native: ModuleType | None = _native_module

_GARBLED = "\ufffd"


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


def _new_columns() -> list[list[Any]]:
    """Empty columns for the next :class:`PhoneRows`, in its field order."""
    return [[] for _ in PhoneRows._fields]


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


_FOOTER_RX = re.compile(
    r"(?:合计|总计|小计|共计|累计|以下空白|以下无"
    r"|(?:制表|审核|填表|填报|经办|复核)人"
    r"|(?:制表|填表|填报|统计)(?:日期|时间|单位)"
    r"|(?:制表|审核|填表|填报|负责人|单位负责人|经办|复核|统计|备注|注|说明)(?::|$))"
)


class _Parser:
    def __init__(
        self,
        layout: _Layout,
        area_code: str,
        excel_serials: bool,
        accepted_batch: int | None = None,
        controls: list[bool] | None = None,
    ):
        # controls[0]: whether rows may hold control characters (see sources._Source)
        self.controls = controls if controls is not None else [True]
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
        controls = self.controls
        control_rx = CONTROL_RX
        # Rows with a valid phone in columns (accepted_batch mode), see PhoneRows.
        cols = _new_columns()
        c_row, c_raw, c_phone, c_name, c_service, c_date, c_kind, c_garbled = cols
        rows = iter(records)
        end = object()
        # The C scanner (accepted_batch mode): it counts every row it reads in
        # state[0] and the rows it puts in the columns in state[1].
        scan = native.scan if native is not None and batch else None
        state = [rownum, 0]
        # The prefix states the normaliser learns as it meets numbers (it adds, never
        # removes): the scanner's tables of valid prefixes are remade when they grow.
        states10, states11 = _PREFIX_STATE.setdefault(10, {}), _PREFIX_STATE.setdefault(11, {})
        known = -1  # len(states10) + len(states11) when the setup was made
        area0 = _area_prefix(self.area_code)
        try:
            while True:
                if scan is None:
                    cells = next(rows, end)
                    if cells is end:
                        break
                    rownum += 1
                else:
                    if known != len(states10) + len(states11):
                        known = len(states10) + len(states11)
                        setup = (pi, ni, si, di, ki, controls, area0, valid_prefixes(11),
                                 valid_prefixes(10), date_cache, kind_cache, batch)  # fmt: skip
                    cells = scan(rows, state, cols, nk, setup)
                    rownum = state[0]
                    if cells is None:
                        break
                    if cells is True:  # a batch is full
                        yield PhoneRows(*cols)
                        cols = _new_columns()
                        c_row, c_raw, c_phone, c_name, c_service, c_date, c_kind, c_garbled = cols
                        continue
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
                if controls[0] and control_rx.search("".join(cells)):
                    rej += 1
                    reasons["control_chars"] = reasons.get("control_chars", 0) + 1
                    cells = [control_rx.sub(_GARBLED, c) for c in cells]
                    yield new(
                        PR,
                        (rownum, "rejected", "control_chars", cells[pi].strip() or None, None,
                         None, None, None, None, dict(zip(keys, cells))),  # noqa: B905
                    )  # fmt: skip
                    continue
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
                            yield PhoneRows(*cols)
                            cols = _new_columns()
                            c_row, c_raw, c_phone, c_name, c_service, c_date, c_kind, c_garbled = (
                                cols
                            )
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
                yield PhoneRows(*cols)
            complete = True
        except csv.Error as exc:
            if scan is not None:
                rownum = state[0]  # the scanner read the rows before the bad one
            where = f"第{rownum + 1}行附近"
            raise _fail("malformed_csv", where, str(exc)) from exc
        finally:
            self.counts = {
                "accepted": acc + state[1],
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
