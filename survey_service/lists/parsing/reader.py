"""The reader: :func:`parse_client_file` and :func:`check_file` (see the package docstring)."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import zipfile
from collections.abc import Iterator, Mapping
from typing import IO, Any

from survey_service.lists.parsing.errors import ClientFileError, _fail
from survey_service.lists.parsing.headers import (
    HEADER_SCAN_ROWS,
    _find_header,
    _resolve_column_map,
)
from survey_service.lists.parsing.phones import _area_prefix
from survey_service.lists.parsing.rows import ParsedFile, ParsedRow, PhoneRows, _Parser
from survey_service.lists.parsing.sources import (
    _OLE,
    _ZIP,
    SAMPLE_BYTES,
    _choose_delimiter,
    _detect_encoding,
    _looks_binary,
    _open,
    _sheet_rows,
    _sniff_html,
    _Source,
    _spreadsheet_format,
)
from survey_service.lists.parsing.sparse import sparse_rows
from survey_service.lists.parsing.workbook import SheetLimits, WorkbookGuard, check_size


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
    limits: SheetLimits | None = None,
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
    ``limits``: what a spreadsheet may hold (:class:`SheetLimits`, checked
    before it is read: see :mod:`survey_service.lists.parsing.workbook`).
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
                raise _fail("empty", "文件")
            prefix += more  # 1 MB of blank space, then content: keep the byte read
        if prefix.startswith(_ZIP) or prefix.startswith(_OLE):
            parsed = _parse_spreadsheet(
                prefix,
                rest,
                path,
                filename,
                sheet,
                column_map,
                area_code,
                accepted_batch,
                limits or SheetLimits(),
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


def _parse_text(
    prefix, rest, owned, filename, delimiter, column_map, area_code, accepted_batch=None
) -> ParsedFile:
    if _sniff_html(prefix):
        raise _fail("html_disguised", "文件")
    at_eof = len(prefix) < SAMPLE_BYTES
    encoding, _bom = _detect_encoding(prefix, at_eof)
    sample = codecs.getincrementaldecoder(encoding)("replace").decode(prefix, final=at_eof)
    if encoding == "utf-8-sig" and sample.startswith("\ufeff"):
        sample = sample[1:]
    if _looks_binary(sample):
        raise _fail("binary", "文件")
    if not sample.strip():
        raise _fail("empty", "文件")
    delim, _ = _choose_delimiter(sample, delimiter)
    raw = _Source(prefix, rest, owned)
    if encoding.startswith(("utf-16", "utf-32")):
        raw.controls[0] = True  # NUL bytes are part of the text: check the rows themselves
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
            controls=raw.controls,
            accepted_batch=accepted_batch,
            where_file="文件",
        )
    except BaseException:
        text.close()
        raise
    pf._closers.append(text.close)
    return pf


def _parse_spreadsheet(
    prefix, rest, path, filename, sheet, column_map, area_code, accepted_batch, limits
) -> ParsedFile:
    fmt = _spreadsheet_format(prefix, filename)
    data = None
    if path is None:
        data = prefix + (rest.read() if rest is not None else b"")
    guard = None
    if prefix.startswith(_ZIP):  # xlsx, xlsb, ods: sizes and ranges checked before reading
        guard = WorkbookGuard(path if data is None else io.BytesIO(data), fmt, limits)
    try:
        return _read_workbook(
            path, data, guard, fmt, sheet, column_map, area_code, accepted_batch, limits
        )
    finally:
        if guard is not None:
            guard.close()


def _read_workbook(
    path, data, guard, fmt, sheet, column_map, area_code, accepted_batch, limits
) -> ParsedFile:
    from python_calamine import CalamineWorkbook

    try:
        if data is None:
            wb = CalamineWorkbook.from_path(path)
        else:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:
        raise _fail("unreadable_spreadsheet", "文件") from exc
    names = list(wb.sheet_names)
    if not names:
        raise _fail("empty", "文件")

    def load(i: int):
        """-> (rows, merged ranges, closer or None) of sheet ``i``."""
        sparse = guard.check_sheet(names[i]) if guard is not None else None
        if sparse is not None:  # calamine would build the mostly empty grid: read cell by cell
            part, scan = sparse
            source = path if data is None else io.BytesIO(data)
            try:
                rows, close = sparse_rows(source, part, scan.columns, limits)
            except ClientFileError as exc:
                exc.where = exc.where or f"工作表 {names[i]}"
                raise
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise _fail("unreadable_spreadsheet", f"工作表 {names[i]}") from exc
            return rows, scan.merged, close
        try:
            sh = wb.get_sheet_by_index(i)
        except Exception as exc:
            raise _fail("unreadable_spreadsheet", f"工作表 {names[i]}") from exc
        check_size(sh.height, sh.width, limits, f"工作表 {names[i]}")
        try:
            merged = sh.merged_cell_ranges
        except Exception:
            merged = None
        return _sheet_rows(sh, limits.max_cell_chars), merged, None

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
        rows, merged, close = load(i)
        try:
            pf = _assemble(
                rows,
                fmt=fmt,
                encoding=fmt,
                delimiter=None,
                sheet_name=names[i],
                merged=merged,
                column_map=column_map,
                area_code=area_code,
                excel_serials=True,
                controls=[True],
                accepted_batch=accepted_batch,
                where_file=f"工作表 {names[i]}",
            )
        except ClientFileError as exc:
            if close is not None:
                close()
            if exc.code not in ("no_phone_column", "empty"):
                raise
            errors.append(exc)
            continue
        except BaseException:
            if close is not None:
                close()
            raise
        if close is not None:
            pf._closers.append(close)
        return pf
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
    controls: list[bool] | None = None,
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
        raise _fail("no_phone_column", f"{where_file}，前{len(head)}行")
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
    parser = _Parser(layout, area_code, excel_serials, accepted_batch, controls)
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
        where = f"{where_file}，表头在第{hdr[0] + 1}行" if hdr else where_file
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
