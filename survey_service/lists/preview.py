"""The preview of an upload's column mapping, before anything is imported.

The page sends the start of the file (a text file's first 256 KiB, cut at
its last line break; a small workbook whole) with the same options as the
import; the parser finds the header and columns as the import will, and the
first rows show what each column became, names and numbers masked. Nothing
is stored. A workbook that the import would parse in its helper process (an
``xls``, one that inflates to 4 MiB or more) is not previewed here: it is
checked when imported.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from survey_service.lists.parsing import FIELD_LABELS, REASONS, ClientFileError
from survey_service.lists.parsing.sources import _OLE, _ZIP
from survey_service.lists.pipeline import could_be_large
from survey_service.lists.sealing import ImportOptions, parse_with
from survey_service.privacy import files
from survey_service.privacy.vault import mask_name, mask_phone, mask_raw

PREVIEW_ROWS = 8
TEXT_SLICE = 256 << 10  # what the page sends of a text file
MAX_BYTES = 4 << 20  # more is not previewed (a workbook the import parses in its helper)
FIELDS = ("phone", "name", "service", "date", "kind")


def preview(
    content: bytes,
    *,
    filename: str,
    options: ImportOptions,
    partial: bool,
    temp_dir: str | None,
) -> dict[str, Any]:
    """What the import would read from ``content``: columns, and the first rows masked.

    ``partial``: ``content`` is the start of a longer text file (its last,
    perhaps cut, line is dropped). Returns ``{"error": message}`` for a file
    the import would refuse, ``{"skipped": message}`` for one not previewed.
    """
    if content.startswith(_OLE):
        return {"skipped": "xls 格式的文件不预览，导入后请查看结果。"}
    if content.startswith(_ZIP):
        if partial:
            return {"skipped": "工作簿须完整上传才能预览，导入后请查看结果。"}
        with files.temp_file(temp_dir, "preview") as spool:
            spool.write(content)
            spool.flush()
            if could_be_large(Path(spool.name)):
                return {"skipped": "工作簿较大，不预览，导入时检查。"}
            return _read(Path(spool.name), filename, options)
    if partial and b"\n" in content:
        content = content[: content.rindex(b"\n") + 1]
    return _read(content, filename, options)


def _masked_phone(row) -> str:
    return mask_phone(row.phone_e164) if row.phone_e164 else (mask_raw(row.raw_phone) or "")


def _read(source, filename: str, options: ImportOptions) -> dict[str, Any]:
    try:
        with parse_with(source, filename, options) as parsed:
            rows = list(islice((r for r in parsed.rows if r.status != "skipped"), PREVIEW_ROWS))
            found = dict(parsed.columns)
            header_row, encoding, sheet = parsed.header_row, parsed.encoding, parsed.sheet
    except ClientFileError as exc:
        where = f"{exc.where}：" if exc.where else ""
        return {"error": f"{where}{exc.message}"}
    return {
        "encoding": encoding,
        "sheet": sheet,
        "header_row": header_row,
        "columns": [
            {"field": field, "label": FIELD_LABELS[field], "header": found.get(field)}
            for field in FIELDS
        ],
        "rows": [
            {
                "row": r.row,
                "status": "有效" if r.status == "accepted" else "问题",
                "reason": REASONS.get(r.reason, r.reason) if r.reason else "",
                "name": mask_name(r.name) or "",
                "phone": mask_phone(r.phone_e164)
                if r.phone_e164
                else (mask_raw(r.raw_phone) or ""),
                "service": r.service or "",
                "date": r.service_date or "",
                "kind": r.kind or "",
            }
            for r in rows
        ],
    }
