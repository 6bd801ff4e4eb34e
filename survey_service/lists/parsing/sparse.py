"""An xlsx sheet read cell by cell, for sheets mostly empty.

``python_calamine`` builds a sheet's whole rectangular range (32 bytes a
cell, empty or not), so a sheet of 400,000 rows x 64 columns holding a few
hundred cells would cost 820 MB. :func:`sparse_rows` streams the sheet's XML
from the zip instead (expat, fed 1 MiB at a time, no tree kept) and yields
the rows as :func:`~survey_service.lists.parsing.sources._sheet_rows` yields
calamine's: rows 1 to the last row holding a value, each non-empty row as
text padded to the sheet's width, values converted the way calamine gives
them (numbers as floats, booleans, dates by the cell's number format) and
then by :func:`~survey_service.lists.parsing.cells._cell_text`. An empty
row is ``[]`` (the parser skips it cheaply), so memory is flat in the
number of empty cells. The cell-length cap, the column limit and the XML
size limit hold here too. Only xlsx: xls, xlsb and ods sheets are read by
calamine (bounded by the helper process's address-space limit).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import IO
from xml.parsers import expat

from survey_service.lists.parsing.cells import _cell_text
from survey_service.lists.parsing.errors import ClientFileError
from survey_service.lists.parsing.workbook import SheetLimits, _mb, column_number, too_complex

_CHUNK = 1 << 20
_REF_RX = re.compile(r"([A-Za-z]{1,3})(\d*)")
#: Built-in number formats calamine reads as dates and times (46, ``[h]:mm:ss``: a duration).
_DATE_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 47})
_DURATION_IDS = frozenset({46})
_EPOCH = _dt.datetime(1899, 12, 30)
_1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"")


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _no_doctype(*_args) -> None:
    raise too_complex("工作表含有文档类型声明")


def _parser(start, end, text) -> expat.XMLParserType:
    p = expat.ParserCreate()
    p.buffer_text = True
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = text
    p.StartDoctypeDeclHandler = _no_doctype
    p.EntityDeclHandler = _no_doctype
    return p


def _feed(p, stream: IO[bytes], budget: list[int], limits: SheetLimits) -> Iterator[None]:
    """Feed ``stream`` to ``p`` a chunk at a time; ``budget[0]``: inflated bytes still allowed."""
    try:
        while chunk := stream.read(_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise too_complex(f"解压后超过 {_mb(limits.max_xml_bytes)}")
            p.Parse(chunk, False)
            yield
        p.Parse(b"", True)
        yield
    except expat.ExpatError as exc:
        raise too_complex("工作表的 XML 已损坏") from exc
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise too_complex("工作表的部件已损坏") from exc


def _format_kind(code: str) -> str:
    """'date', 'duration' or '' for a custom number format (calamine's rule, roughly)."""
    s = re.sub(r'"[^"]*"|\\.|_.|\*.', "", code)
    brackets = re.findall(r"\[([^\]]*)\]", s)
    if any(b.lower() in ("h", "hh", "m", "mm", "s", "ss") for b in brackets):
        return "duration"
    s = re.sub(r"\[[^\]]*\]", "", s).lower()
    if s == "general":
        return ""
    return "date" if any(ch in s for ch in "dmyhs") else ""


def _styles(zf: zipfile.ZipFile, budget, limits) -> list[str]:
    """Per cell style (``s``): 'date', 'duration' or ''."""
    if "xl/styles.xml" not in zf.namelist():
        return []
    custom: dict[int, str] = {}
    kinds: list[str] = []
    depth = {"cellXfs": 0}

    def start(name, attrs):
        tag = _local(name)
        if tag == "numFmt":
            with contextlib.suppress(ValueError):
                custom[int(attrs.get("numFmtId", "-1"))] = _format_kind(attrs.get("formatCode", ""))
        elif tag == "cellXfs":
            depth["cellXfs"] += 1
        elif tag == "xf" and depth["cellXfs"]:
            try:
                fid = int(attrs.get("numFmtId", "0"))
            except ValueError:
                fid = 0
            if fid in custom:
                kinds.append(custom[fid])
            else:
                kinds.append(
                    "date" if fid in _DATE_IDS else "duration" if fid in _DURATION_IDS else ""
                )

    def end(name):
        if _local(name) == "cellXfs":
            depth["cellXfs"] -= 1

    with zf.open("xl/styles.xml") as f:
        for _ in _feed(_parser(start, end, lambda _t: None), f, budget, limits):
            pass
    return kinds


def _shared_strings(zf: zipfile.ZipFile, budget, limits) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    out: list[str] = []
    buf: list[str] = []
    state = {"t": False, "rph": 0, "n": 0}
    cap = limits.max_cell_chars

    def start(name, _attrs):
        tag = _local(name)
        if tag == "si":
            buf.clear()
            state["n"] = 0
        elif tag == "t" and not state["rph"]:
            state["t"] = True
        elif tag == "rPh":
            state["rph"] += 1

    def end(name):
        tag = _local(name)
        if tag == "si":
            out.append("".join(buf))
        elif tag == "t":
            state["t"] = False
        elif tag == "rPh":
            state["rph"] -= 1

    def text(data):
        if state["t"]:
            state["n"] += len(data)
            if state["n"] > cap:
                raise too_complex(f"有单元格超过 {cap} 个字符")
            buf.append(data)

    with zf.open("xl/sharedStrings.xml") as f:
        for _ in _feed(_parser(start, end, text), f, budget, limits):
            pass
    return out


def _serial(v: float, kind: str, date1904: bool):
    """A number under a date or duration format, as python-calamine gives it."""
    if kind == "duration":
        return _dt.timedelta(milliseconds=round(v * 86_400_000))
    time_only = v < 1
    if date1904:
        v += 1462
    if v < 60:
        v += 1  # Excel's 1900-02-29
    ms = round(v * 86_400_000)
    try:
        moment = _EPOCH + _dt.timedelta(milliseconds=ms)
    except OverflowError:
        return v
    if time_only:
        return moment.time()
    if ms % 86_400_000 == 0:
        return moment.date()
    return moment


class _Sheet:
    """The expat handlers for one worksheet; finished rows wait in ``done``."""

    def __init__(self, strings, styles, date1904, limits: SheetLimits):
        self.strings = strings
        self.styles = styles
        self.date1904 = date1904
        self.limits = limits
        self.done: list[tuple[int, dict[int, str]]] = []
        self.counter = 0  # the row elements' numbers (their r, else the one before + 1)
        self.row = 0  # the row of the cells being collected (a cell's reference can name another)
        self.cells: dict[int, str] | None = None
        self.col = -1
        self.in_c = False
        self.t = "n"
        self.s = 0
        self.buf: list[str] = []
        self.n = 0
        self.capture = False
        self.in_is = False
        self.rph = 0
        self.present = False  # the cell holds a value, maybe empty text (calamine counts it)
        self.touched = False  # the row holds such a cell

    def start(self, name, attrs):
        tag = _local(name)
        if tag == "row":
            r = attrs.get("r")
            self.counter = int(r) if r and r.isdigit() else self.counter + 1
            self.row = self.counter
            self.cells = {}
            self.col = -1
            self.touched = False
        elif tag == "c":
            ref = attrs.get("r")
            m = _REF_RX.fullmatch(ref) if ref else None
            self.col = column_number(m.group(1)) - 1 if m else self.col + 1
            if self.cells is not None:
                row = int(m.group(2)) if m and m.group(2) else self.counter
                if row != self.row:  # the reference names another row than the element's
                    self._flush()
                    self.row, self.cells, self.touched = row, {}, False
            if self.col >= self.limits.max_columns:
                raise too_complex(
                    f"用到第 {self.col + 1} 列，超过上限 {self.limits.max_columns} 列",
                    f"第{self.row}行",
                )
            self.in_c = True
            self.t = attrs.get("t", "n")
            s = attrs.get("s", "0")
            self.s = int(s) if s.isdigit() else 0
            self.buf = []
            self.n = 0
            self.present = False
        elif not self.in_c:
            return
        elif tag == "v" or (tag == "t" and self.in_is and not self.rph):
            self.capture = True
            self.present = True
        elif tag == "is":
            self.in_is = True
            self.present = True
        elif tag == "rPh":
            self.rph += 1

    def end(self, name):
        tag = _local(name)
        if tag in ("v", "t"):
            self.capture = False
        elif tag == "is":
            self.in_is = False
        elif tag == "rPh":
            self.rph -= 1
        elif tag == "c":
            self.in_c = False
            if self.cells is not None:
                value = self.value()
                if value:
                    self.cells[self.col] = value
                self.touched = self.touched or self.present
        elif tag == "row":
            self._flush()
            self.cells = None

    def _flush(self):
        if self.cells or self.touched:
            self.done.append((self.row, self.cells))

    def text(self, data):
        if self.capture:
            self.n += len(data)
            if self.n > self.limits.max_cell_chars:
                raise too_complex(f"有单元格超过 {self.limits.max_cell_chars} 个字符")
            self.buf.append(data)

    def value(self) -> str:
        raw = "".join(self.buf)
        t = self.t
        if t == "inlineStr" or t == "str":
            return raw
        if t == "s":
            try:
                return self.strings[int(raw)]
            except (ValueError, IndexError):
                return ""
        if t == "b":
            return _cell_text(raw.strip() == "1") if raw else ""
        if t in ("e", "d"):
            if t == "d":
                try:
                    return _cell_text(_dt.datetime.fromisoformat(raw))
                except ValueError:
                    return raw
            return raw
        if not raw:
            return ""
        try:
            v = float(raw)
        except ValueError:
            return raw
        kind = self.styles[self.s] if self.s < len(self.styles) else ""
        return _cell_text(_serial(v, kind, self.date1904) if kind else v)


def sparse_rows(
    source: str | IO[bytes], part: str, width: int, limits: SheetLimits
) -> tuple[Iterator[list[str]], Callable[[], None]]:
    """The rows of the sheet ``part`` of the xlsx ``source`` (path or binary file object).

    -> (rows, close). ``width``: the columns each non-empty row is padded to
    (the guard's scan). Raises :class:`ClientFileError` (``too_complex``) for
    a cell over the length cap, a column over the limit or XML over the size
    limit, the row named where it can be.
    """
    zf = zipfile.ZipFile(source)
    try:
        budget = [limits.max_xml_bytes]
        strings = _shared_strings(zf, budget, limits)
        styles = _styles(zf, budget, limits)
        try:
            date1904 = bool(_1904.search(zf.read("xl/workbook.xml")))
        except KeyError:
            date1904 = False
    except BaseException:
        zf.close()
        raise
    return _rows(zf, part, width, limits, budget, _Sheet(strings, styles, date1904, limits)), (
        zf.close
    )


def _rows(zf, part, width, limits, budget, sheet: _Sheet) -> Iterator[list[str]]:
    last = 0
    with zf.open(part) as f:
        p = _parser(sheet.start, sheet.end, sheet.text)
        try:
            for _ in _feed(p, f, budget, limits):
                done, sheet.done = sheet.done, []
                for r, cells in done:
                    if r <= last:  # calamine's grid takes rows in any order; a stream cannot
                        raise too_complex(f"第{r}行出现在第{last}行之后，行的顺序异常")
                    for _gap in range(last + 1, r):
                        yield []
                    last = r
                    if not cells:
                        yield []  # only empty text: a blank row, as calamine gives it
                        continue
                    row = [""] * max(width, max(cells) + 1)
                    for c, v in cells.items():
                        row[c] = v
                    yield row
        except ClientFileError as exc:
            if exc.where is None:
                exc.where = f"第{sheet.row}行"
            raise
