"""Excel exports (.xlsx): plain rows in, workbook bytes out.

Pure rendering: no Flask, no database. Sheets are written in openpyxl's
write-only (streaming) mode so that a city-wide export (100,000+ interviews)
does not hold every cell object in memory.

What every sheet gets: a bold header row that stays in view (frozen at A2),
an autofilter over the header, per-column number formats and widths, empty
cells for NaN/None, and text that a spreadsheet would run as a formula made
inert exactly as in the CSV exports (:func:`survey_service.results.render.csvfile.inert`).
A final sheet "说明" lists the workbook's properties (code version, draw,
script versions, data time, ...) for a person to read; the same values go
into the file's document properties.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from survey_service.results.render.csvfile import inert

# openpyxl (a fifth of a second to import) is loaded by the first workbook built.
if TYPE_CHECKING:
    from openpyxl import Workbook

PROPERTIES_SHEET = "说明"
MAX_TITLE = 31  # Excel's limit on a sheet name
_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_RESERVED_TITLES = {"history"}  # Excel keeps "History" for change tracking

# Keys of ``properties`` that are also core document properties (docProps/core.xml).
_CORE_KEYS = {
    "title": "title",
    "subject": "subject",
    "creator": "creator",
    "keywords": "keywords",
    "description": "description",
    "comments": "description",
    "category": "category",
    "version": "version",
    "identifier": "identifier",
    "language": "language",
    "last_modified_by": "lastModifiedBy",
}
# How the "说明" sheet names the usual keys; any other key is shown as given.
PROPERTY_LABELS = {
    "title": "标题",
    "subject": "主题",
    "creator": "制作者",
    "description": "说明",
    "comments": "说明",
    "rank_assumption": "排名概率的假定",
    "code_version": "程序版本",
    "wave": "调查轮次",
    "draw": "抽样",
    "script_versions": "问卷版本",
    "data_time": "数据时间",
    "generated_at": "生成时间",
}

# The characters XLSX XML cannot hold (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_WIDTH_SAMPLE_ROWS = 200
_MIN_WIDTH, _MAX_WIDTH = 6.0, 50.0


@dataclass(frozen=True)
class Sheet:
    """One worksheet.

    ``number_formats`` and ``widths`` are keyed by the **0-based** column index
    (the index into ``header``), e.g. ``{2: "0.00", 3: "0.0%"}``. A column
    without a width gets one estimated from its header and first rows.
    ``title`` is cleaned to Excel's rules (no ``[]:*?/\\``, at most 31
    characters, unique within the workbook).
    """

    title: str
    header: list[str]
    rows: list[list]
    number_formats: dict[int, str] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- titles


def _clean_title(title: str) -> str:
    cleaned = _TITLE_FORBIDDEN.sub("_", str(title)).strip().strip("'").strip()
    return cleaned or "Sheet"


def _unique_title(title: str, used: set[str]) -> str:
    """Cleaned, at most 31 characters, not in *used* (compared case-insensitively)."""
    base = _clean_title(title)
    candidate = base[:MAX_TITLE].rstrip("'")
    number = 1
    while candidate.casefold() in used or candidate.casefold() in _RESERVED_TITLES:
        number += 1
        suffix = f"({number})"
        candidate = base[: MAX_TITLE - len(suffix)].rstrip("'") + suffix
    used.add(candidate.casefold())
    return candidate


# --------------------------------------------------------------------------- cells


def _cell_value(value):
    """What goes into a cell: None for NaN/None/±inf, inert text, naive datetimes."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN: no value; ±inf cannot be stored in a workbook
    if isinstance(value, str):
        # Control characters are not allowed in XLSX XML; show that one was there.
        return inert(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # Excel has no time zones: keep the wall-clock time the caller chose.
        return value.replace(tzinfo=None)
    if isinstance(value, dt.time) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _display_width(value) -> float:
    if value is None:
        return 0.0
    text = value if isinstance(value, str) else str(value)
    line = max(text.split("\n"), key=len) if text else ""
    return sum(2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.0 for ch in line)


def _column_widths(sheet: Sheet) -> dict[int, float]:
    ncols = max([len(sheet.header)] + [len(row) for row in sheet.rows[:_WIDTH_SAMPLE_ROWS]])
    widths: dict[int, float] = {}
    for col in range(ncols):
        if col in sheet.widths:
            widths[col] = float(sheet.widths[col])
            continue
        sample = [sheet.header[col] if col < len(sheet.header) else None]
        sample += [row[col] for row in sheet.rows[:_WIDTH_SAMPLE_ROWS] if col < len(row)]
        longest = max(_display_width(_cell_value(v)) for v in sample)
        widths[col] = min(max(longest + 2.0, _MIN_WIDTH), _MAX_WIDTH)
    return widths


def _write_sheet(ws, sheet: Sheet) -> None:
    """Fill a write-only worksheet: widths and panes first, rows, then the filter."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for col, width in _column_widths(sheet).items():
        ws.column_dimensions[get_column_letter(col + 1)].width = width
    ws.freeze_panes = "A2"

    header_cells = []
    for text in sheet.header:
        cell = WriteOnlyCell(ws, value=_cell_value(text))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    ws.append(header_cells)

    formats = dict(sheet.number_formats)
    for row in sheet.rows:
        out = []
        for col, value in enumerate(row):
            value = _cell_value(value)
            if value is not None and col in formats:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = formats[col]
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)

    ncols = max(1, len(sheet.header))
    ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{len(sheet.rows) + 1}"


# --------------------------------------------------------------------------- properties


def _property_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "; ".join(f"{k}={_property_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(_property_text(v) for v in items)
    return str(value)


def _set_properties(wb: Workbook, properties: Mapping) -> None:
    """Core properties from their keys; every other key as a custom property and
    as a ``key: value`` line of the description (what Excel shows as 备注)."""
    from openpyxl.packaging.custom import StringProperty

    props = wb.properties
    description: list[str] = []
    others: list[str] = []
    for key, value in properties.items():
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", _property_text(value))
        core = _CORE_KEYS.get(str(key))
        if core == "description":
            description.insert(0, text)
        elif core is not None:
            setattr(props, core, text)
        else:
            others.append(f"{PROPERTY_LABELS.get(str(key), key)}: {text}")
            wb.custom_doc_props.append(StringProperty(name=str(key), value=text))
    if description or others:
        props.description = "\n".join(description + others)


def _write_properties_sheet(ws, properties: Mapping) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    wrap = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 80
    ws.freeze_panes = "A2"
    header = []
    for text in ("项目", "内容"):
        cell = WriteOnlyCell(ws, value=text)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for key, value in properties.items():
        label = WriteOnlyCell(ws, value=_cell_value(str(PROPERTY_LABELS.get(str(key), key))))
        content = WriteOnlyCell(ws, value=_cell_value(_property_text(value)))
        content.alignment = wrap
        ws.append([label, content])


# --------------------------------------------------------------------------- entry point


def build_workbook(
    sheets: Sequence[Sheet],
    *,
    properties: Mapping[str, object],
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """Return the .xlsx bytes of *sheets* followed by the "说明" sheet.

    *properties*: ordered key → value, e.g. ``{"title": ..., "creator": ...,
    "code_version": ..., "draw": ..., "script_versions": ..., "data_time": ...}``.
    Keys ``title``, ``subject``, ``creator``, ``keywords``, ``description``
    (or ``comments``), ``category``, ``version``, ``identifier``, ``language``
    and ``last_modified_by`` set the core document properties; every other key
    becomes a custom document property and a line of the description. All of
    them, in order, are the rows of the "说明" sheet (usual keys shown in
    Chinese, see ``PROPERTY_LABELS``). Values are written as text (dates in ISO
    form, lists joined with ", ").

    Sheet titles are made unique after truncation (a clash gets "(2)", "(3)",
    ...); "说明" is kept for the properties sheet. ``progress(done)`` is told the
    number of sheets written so far (for a background export's progress bar).
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    used: set[str] = {PROPERTIES_SHEET.casefold()}
    for sheet in sheets:
        ws = wb.create_sheet(title=_unique_title(sheet.title, used))
        _write_sheet(ws, sheet)
        if progress is not None:
            progress(len(used) - 1)
    _write_properties_sheet(wb.create_sheet(title=PROPERTIES_SHEET), properties)
    _set_properties(wb, properties)

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
