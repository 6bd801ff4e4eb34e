"""A workbook checked before it is read: sizes, used ranges, sparse sheets, long cells.

The spreadsheet reader (``python_calamine``) holds a sheet's whole used range
in memory, 32 bytes a cell, whether the cells hold anything or not: a 2 KB
file with one cell at XFD1048576 asks for hundreds of GB, and a small zip can
inflate to GBs of XML. So before a zip workbook (xlsx, xlsb, ods) is opened,
the declared uncompressed size of every part is checked; before an xlsx sheet
is loaded, its XML is streamed (counting the bytes really inflated) and its
declared range (``<dimension>``) and actual range (the cells' and rows'
references) are held against :class:`SheetLimits`. A sheet whose range is
mostly empty (:func:`is_sparse`) is not given to that reader: it is read
cell by cell (:mod:`survey_service.lists.parsing.sparse`). Every refusal is
a :class:`ClientFileError` with ``code == "too_complex"`` and a message
naming the limit. What this cannot see (xls, the inside of xlsb and ods) is
bounded by the helper process's address-space limit.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from survey_service.lists.parsing.errors import ClientFileError, _fail

#: The format's own limits (Excel 2007+).
FORMAT_ROWS = 1_048_576
FORMAT_COLUMNS = 16_384
#: A used range of more cells than this, less than 1/SPARSE_RATIO full, is read sparsely.
SPARSE_MIN_CELLS = 2_000_000
SPARSE_RATIO = 8


@dataclass(frozen=True)
class SheetLimits:
    """What a spreadsheet may hold (settings LIST_MAX_ROWS, LIST_MAX_COLUMNS, …)."""

    max_rows: int = 500_000
    max_columns: int = 64
    max_xml_bytes: int = 200 << 20
    max_cell_chars: int = 32_767

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> SheetLimits:
        """What a client-list spreadsheet may hold, from the app's settings."""
        return cls(
            max_rows=int(config["LIST_MAX_ROWS"]),
            max_columns=int(config["LIST_MAX_COLUMNS"]),
            max_xml_bytes=int(config["LIST_MAX_XML_MB"]) << 20,
            max_cell_chars=int(config["LIST_MAX_CELL_CHARS"]),
        )


def too_complex(detail: str, where: str | None = None) -> ClientFileError:
    message = f"表格过大或结构异常：{detail}。请删除多余的行、列或工作表，或另存为 CSV 后重新上传。"
    return ClientFileError(message, where=where, code="too_complex")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


def check_parts(zf: zipfile.ZipFile, limits: SheetLimits) -> None:
    """The declared uncompressed size of each part, and of all of them, within the limit."""
    total = 0
    for info in zf.infolist():
        total += info.file_size
        if info.file_size > limits.max_xml_bytes or total > limits.max_xml_bytes:
            raise too_complex(
                f"解压后超过 {_mb(limits.max_xml_bytes)}（部件 {info.filename[:80]}）",
                "文件",
            )


_PREFIX = rb"<(?:[A-Za-z_][\w.-]*:)?"
_DIM_RX = re.compile(_PREFIX + rb'dimension\b[^>]*?\sref="([^"]*)"')
_ROW_RX = re.compile(_PREFIX + rb"row\b")
_ROW_TAG_RX = re.compile(_PREFIX + rb"row\b[^>]*>")
_R_ATTR_RX = re.compile(rb'\sr="(\d+)"')
_CELL_RX = re.compile(_PREFIX + rb"c\b")
_CELL_REF_RX = re.compile(_PREFIX + rb'c\b[^>]*?\sr="([A-Za-z]+)(\d+)"')
_REF_RX = re.compile(r"\$?([A-Za-z]+)\$?(\d+)")
_MERGE_RX = re.compile(
    _PREFIX + rb'mergeCell\b[^>]*?\sref="\$?([A-Za-z]+)\$?(\d+):\$?([A-Za-z]+)\$?(\d+)"'
)
_MAX_MERGED = 1000
_SHEET_RX = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR_RX = re.compile(rb'([\w:]+)="([^"]*)"')
_CHUNK = 1 << 20


def column_number(letters: str) -> int:
    """1-based column of ``letters`` (A = 1, XFD = 16384)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


@dataclass
class SheetScan:
    """What a sheet's XML holds: its declared range and the extent of its cells."""

    declared: str | None = None
    declared_rows: int = 0
    declared_columns: int = 0
    rows: int = 0  # the last row used (1-based)
    columns: int = 0  # the last column used (1-based)
    cells: int = 0
    xml_bytes: int = 0
    #: Merged ranges near the top ((row0, col0), (row1, col1)), 0-based, as calamine gives them.
    merged: list = field(default_factory=list)


def scan_sheet(stream: IO[bytes], limits: SheetLimits, budget: int) -> SheetScan:
    """Stream a worksheet's XML once; stop as soon as a limit is passed.

    ``budget`` is how many inflated bytes may still be read. Raises
    :class:`ClientFileError` (``too_complex``) for a part over the budget or
    a text run too long to be a cell of the limit (3 bytes a character).
    """
    scan = SheetScan()
    long_text = re.compile(rb">[^<]{%d}" % (3 * limits.max_cell_chars + 1))
    carry = b""
    n_rows = current = 0
    while chunk := stream.read(_CHUNK):
        scan.xml_bytes += len(chunk)
        if scan.xml_bytes > budget:
            raise too_complex(f"解压后超过 {_mb(limits.max_xml_bytes)}")
        buf = carry + chunk
        cut = buf.rfind(b">")
        if cut < 0:
            carry = buf
        else:
            part, carry = buf[: cut + 1], buf[cut:]
            if long_text.search(part):
                raise too_complex(f"有单元格超过 {limits.max_cell_chars} 个字符")
            if len(scan.merged) < _MAX_MERGED and b"ergeCell" in part:
                for c0, r0, c1, r1 in _MERGE_RX.findall(part)[: _MAX_MERGED - len(scan.merged)]:
                    scan.merged.append(
                        (
                            (int(r0) - 1, column_number(c0.decode()) - 1),
                            (int(r1) - 1, column_number(c1.decode()) - 1),
                        )
                    )
            if scan.declared is None and (m := _DIM_RX.search(part)):
                scan.declared = m.group(1).decode("ascii", "replace")
            cells = len(_CELL_RX.findall(part))
            scan.cells += cells
            refs = _CELL_REF_RX.findall(part)
            if refs:
                scan.rows = max(scan.rows, max(int(r) for _, r in refs))
                widest = max({c for c, _ in refs}, key=lambda c: (len(c), c.upper()))
                scan.columns = max(scan.columns, column_number(widest.decode()))
            if len(refs) < cells:
                # Cells without a reference stand one after another, and so do
                # rows without one: walk the rows (only in such a file; an
                # empty row, only formatted, does not count elsewhere).
                current = max(current, scan.rows)
                for tag in _ROW_TAG_RX.findall(part):
                    r = _R_ATTR_RX.search(tag)
                    current = int(r.group(1)) if r else current + 1
                    n_rows = max(n_rows, current)
                scan.columns = max(scan.columns, _widest_row(part))
            _check_extent(scan, max(scan.rows, n_rows), limits)
        if len(carry) > 3 * limits.max_cell_chars + 64:
            raise too_complex(f"有单元格超过 {limits.max_cell_chars} 个字符")
    scan.rows = max(scan.rows, n_rows)
    if scan.declared:
        refs = [m for m in (_REF_RX.fullmatch(p) for p in scan.declared.split(":")) if m]
        if refs:
            scan.declared_rows = max(int(m.group(2)) for m in refs)
            scan.declared_columns = max(column_number(m.group(1)) for m in refs)
    return scan


def _widest_row(part: bytes) -> int:
    return max((len(_CELL_RX.findall(seg)) for seg in _ROW_RX.split(part)), default=0)


def _check_extent(scan: SheetScan, rows: int, limits: SheetLimits) -> None:
    if rows > limits.max_rows:
        raise too_complex(f"用到第 {rows} 行，超过上限 {limits.max_rows} 行")
    if scan.columns > limits.max_columns:
        raise too_complex(f"用到第 {scan.columns} 列，超过上限 {limits.max_columns} 列")


def check_size(rows: int, columns: int, limits: SheetLimits, where: str) -> None:
    """A loaded sheet's size within the limits (for the formats not scanned before)."""
    try:
        _check_extent(SheetScan(columns=columns), rows, limits)
    except ClientFileError as exc:
        exc.where = where
        raise


def is_sparse(scan: SheetScan) -> bool:
    """A used range so big and so empty that calamine's grid would cost too much."""
    grid = scan.rows * scan.columns
    return grid > SPARSE_MIN_CELLS and grid > SPARSE_RATIO * max(scan.cells, 1)


def check_scan(scan: SheetScan, limits: SheetLimits) -> None:
    """The declared and the actual range within the limits."""
    _check_extent(scan, scan.rows, limits)
    if scan.declared_rows > limits.max_rows or scan.declared_columns > limits.max_columns:
        raise too_complex(
            f"声明的已用区域 {scan.declared[:40]} 超过上限"
            f"（{limits.max_rows} 行、{limits.max_columns} 列）"
        )


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in an xlsx (from workbook.xml and its relationships)."""
    try:
        book = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for tag in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        attrs = dict(_ATTR_RX.findall(tag))
        target = attrs.get(b"Target", b"").decode("utf-8", "replace")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[attrs.get(b"Id", b"")] = target
    parts = {}
    for tag in _SHEET_RX.findall(book):
        attrs = dict(_ATTR_RX.findall(tag))
        rid = next((v for k, v in attrs.items() if k.endswith(b":id")), None)
        name = _unescape(attrs.get(b"name", b"").decode("utf-8", "replace"))
        if rid in targets:
            parts[name] = targets[rid]
    return parts


def _unescape(s: str) -> str:
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        s = s.replace(a, b)
    return s


class WorkbookGuard:
    """Checks one zip workbook: its parts at once, each xlsx sheet before it is loaded."""

    def __init__(self, source: str | IO[bytes], fmt: str, limits: SheetLimits):
        self.limits = limits
        self.fmt = fmt
        try:
            self._zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _fail("unreadable_spreadsheet", "文件") from exc
        check_parts(self._zip, limits)
        self._parts = sheet_parts(self._zip) if fmt == "xlsx" else {}
        self._read = 0
        if fmt == "xlsx" and "xl/sharedStrings.xml" in self._zip.namelist():
            try:
                self._scan("xl/sharedStrings.xml", strings=True)
            except ClientFileError as exc:
                exc.where = "文件"
                raise

    def _scan(self, part: str, strings: bool = False) -> SheetScan:
        try:
            with self._zip.open(part) as stream:
                scan = scan_sheet(stream, self.limits, self.limits.max_xml_bytes - self._read)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a CRC or a size that lies
            raise too_complex(f"部件 {part[:80]} 已损坏") from exc
        except RuntimeError as exc:  # an encrypted part
            raise too_complex(f"部件 {part[:80]} 无法读取") from exc
        self._read += scan.xml_bytes
        if not strings:
            check_scan(scan, self.limits)
        return scan

    def check_sheet(self, name: str) -> tuple[str, SheetScan] | None:
        """Before the sheet ``name`` is loaded (xlsx: its XML is scanned).

        -> (its part, the scan) when the sheet is to be read sparsely, else None.
        """
        part = self._parts.get(name)
        if part is None or part not in self._zip.namelist():
            return None
        try:
            scan = self._scan(part)
            return (part, scan) if self.fmt == "xlsx" and is_sparse(scan) else None
        except ClientFileError as exc:
            exc.where = f"工作表 {name}"
            raise

    def close(self) -> None:
        self._zip.close()
