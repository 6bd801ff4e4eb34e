"""The report of a whole file: what ``flask clients check`` prints (see the package docstring)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any

from survey_service.lists.parsing.errors import REASONS
from survey_service.lists.parsing.reader import parse_client_file
from survey_service.lists.parsing.workbook import SheetLimits


def check_file(
    source: str | os.PathLike[str] | IO[bytes] | bytes,
    *,
    filename: str,
    area_code: str = "027",
    sheet: str | int | None = None,
    delimiter: str | None = None,
    column_map: Mapping[str, Any] | None = None,
    max_bytes: int | None = None,
    limits: SheetLimits | None = None,
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
        limits=limits,
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
