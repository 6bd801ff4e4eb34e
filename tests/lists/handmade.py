"""Workbooks written by hand with zipfile: a few KB that say exactly what a test needs."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def column_letters(i: int) -> str:
    """0-based column index -> letters (0 -> A, 16383 -> XFD)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def xlsx_bytes(
    sheets: dict[str, dict[tuple[int, int], str]],
    *,
    dimension: str | None = None,
    padding: int = 0,
    shared: bool = False,
) -> bytes:
    """An .xlsx of ``{sheet name: {(row 1-based, column 0-based): text}}``.

    ``dimension``: the declared range written into each sheet; ``padding``:
    bytes of a part of zeros (xl/media/padding.bin) that inflates and compresses
    to almost nothing; ``shared``: text in the shared-strings part, not inline.
    """
    strings: list[str] = []
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        n = len(sheets)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(n)
        )
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}">'
            f'<Relationship Id="rId1" Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        listed = "".join(
            f'<sheet name="{escape(name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
            for i, name in enumerate(sheets)
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_DOC}">'
            f"<sheets>{listed}</sheets></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i + 1}" Type="{_DOC}/worksheet" '
            f'Target="worksheets/sheet{i + 1}.xml"/>'
            for i in range(n)
        )
        if shared:
            rels += (
                f'<Relationship Id="rId{n + 1}" Type="{_DOC}/sharedStrings" '
                'Target="sharedStrings.xml"/>'
            )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}">{rels}'
            "</Relationships>",
        )
        for i, cells in enumerate(sheets.values()):
            rows: dict[int, list[tuple[int, str]]] = {}
            for (r, c), v in sorted(cells.items()):
                rows.setdefault(r, []).append((c, v))
            body = []
            for r, row in sorted(rows.items()):
                body.append(f'<row r="{r}">')
                for c, v in row:
                    ref = f"{column_letters(c)}{r}"
                    if shared:
                        strings.append(v)
                        body.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
                    else:
                        body.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
                body.append("</row>")
            dim = f'<dimension ref="{dimension}"/>' if dimension else ""
            z.writestr(
                f"xl/worksheets/sheet{i + 1}.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">{dim}'
                f"<sheetData>{''.join(body)}</sheetData></worksheet>",
            )
        if padding:
            z.writestr("xl/media/padding.bin", bytes(padding))
        if shared:
            items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
            z.writestr(
                "xl/sharedStrings.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" '
                f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>',
            )
    return out.getvalue()


def small_list(**extra: str) -> dict[tuple[int, int], str]:
    """A header and two clients, plus ``extra`` cells by reference ({"XFD1048576": "x"})."""
    cells = {
        (1, 0): "姓名",
        (1, 1): "联系电话",
        (2, 0): "张三",
        (2, 1): "13800000001",
        (3, 0): "李四",
        (3, 1): "13800000002",
    }
    for ref, value in extra.items():
        letters = "".join(ch for ch in ref if ch.isalpha())
        n = 0
        for ch in letters:
            n = n * 26 + ord(ch) - 64
        cells[(int(ref[len(letters) :]), n - 1)] = value
    return cells
