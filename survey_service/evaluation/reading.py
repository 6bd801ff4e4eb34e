"""Decoding and checking one imported part's file (pure: bytes in, rows or reasons out).

A file is CSV (UTF-8 with or without BOM, GBK/GB18030, UTF-16 "Unicode text";
comma, tab or semicolon separated) or a workbook (XLSX/XLS, first sheet, read
with python-calamine). The header row is found by its words among the first
ten rows: a unit-code column (单位代码, 代码, 单位编码, 编码) and a score column
(得分, 分数, 总分, 分值). A 单位名称 or 备注 column is ignored; in a
互联网+大数据 file every other column is a sub-part, and the score, when not
given, is their sum. Blank rows and trailing 合计/制表 rows are skipped.

Every bad row is reported with its row number as a spreadsheet shows it and
the column's header, in Chinese; a file with any bad row stores nothing.
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from python_calamine import CalamineWorkbook

CODE_WORDS = ("单位代码", "单位编码", "代码", "编码")
SCORE_WORDS = ("得分", "总分", "分数", "分值")
IGNORED_WORDS = ("单位名称", "名称", "序号", "备注", "类别")
FOOTER_WORDS = ("合计", "总计", "制表", "审核人", "填报人")
MAX_BYTES = 5 * 1024 * 1024
HEADER_SEARCH = 10


@dataclass(frozen=True)
class RowIssue:
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        column = f"「{self.column}」列" if self.column else ""
        return f"第 {self.row} 行{column}：{self.reason}"


@dataclass
class PartFile:
    """A checked file: one score per unit code, or the reasons it is refused."""

    scores: dict[str, float] = field(default_factory=dict)
    sub_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    sub_parts: list[str] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)


class PartFileError(ValueError):
    """The file cannot be read at all (format, encoding, header)."""


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return repr(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise PartFileError("文件编码无法识别（应为 UTF-8 或 GBK 编码的 CSV，或 XLSX）") from None


def _csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    sample = "\n".join(text.splitlines()[:HEADER_SEARCH])
    delimiter = max(("\t", ",", ";", "，"), key=sample.count)
    if delimiter == "，":  # a full-width comma is not a CSV separator the csv module knows
        text = text.replace("，", ",")
        delimiter = ","
    return [[_text(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _sheet_rows(data: bytes) -> list[list[str]]:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        return [[_text(c) for c in row] for row in sheet.to_python(skip_empty_area=False)]
    except Exception as exc:
        raise PartFileError(f"无法读取表格文件：{exc}") from None


def read_rows(data: bytes, filename: str) -> list[list[str]]:
    """Every row of the file's first sheet as text (NFKC: full-width digits become ASCII).

    :raise PartFileError: for an empty, oversized, undecodable or unreadable file.
    """
    if not data:
        raise PartFileError("文件为空")
    if len(data) > MAX_BYTES:
        raise PartFileError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB")
    is_book = data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))
    if is_book or filename.lower().endswith((".xlsx", ".xls", ".xlsm")):
        return _sheet_rows(data)
    return _csv_rows(data)


def _matches(header: str, words: Iterable[str]) -> bool:
    compact = header.replace(" ", "")
    return any(compact == w or compact.startswith(w) or compact.endswith(w) for w in words)


def _find_header(rows: list[list[str]], with_sub_parts: bool) -> tuple[int, int, int | None]:
    for index, row in enumerate(rows[:HEADER_SEARCH]):
        code = next((i for i, h in enumerate(row) if _matches(h, CODE_WORDS)), None)
        if code is None:
            continue
        score = next((i for i, h in enumerate(row) if i != code and _matches(h, SCORE_WORDS)), None)
        others = [i for i, h in enumerate(row) if h and i not in (code, score)]
        if score is not None or (with_sub_parts and others):
            return index, code, score
    raise PartFileError(
        "未找到表头：应有「单位代码」列和「得分」列"
        + ("（或各子项得分列）" if with_sub_parts else "")
    )


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def check_part_file(
    data: bytes,
    filename: str,
    *,
    known_units: Iterable[str],
    maximum: float,
    with_sub_parts: bool = False,
) -> PartFile:
    """Read and check a part's file; ``issues`` is empty only if every row is good.

    :raise PartFileError: if the file cannot be read or has no header.
    """
    rows = read_rows(data, filename)
    head_index, code_col, score_col = _find_header(rows, with_sub_parts)
    header = rows[head_index]
    sub_cols = []
    if with_sub_parts:
        sub_cols = [
            i
            for i, h in enumerate(header)
            if h and i not in (code_col, score_col) and not _matches(h, IGNORED_WORDS)
        ]
    known = set(known_units)
    result = PartFile(sub_parts=[header[i] for i in sub_cols])
    seen: dict[str, int] = {}
    code_name = header[code_col]
    score_name = header[score_col] if score_col is not None else "得分"

    def cell(row: list[str], i: int | None) -> str:
        return row[i] if i is not None and i < len(row) else ""

    for index in range(head_index + 1, len(rows)):
        row = rows[index]
        line = index + 1
        if not any(row):
            continue
        if any(row[0].replace(" ", "").startswith(w) for w in FOOTER_WORDS):
            continue
        code = cell(row, code_col).upper()
        bad = len(result.issues)
        if not code:
            result.issues.append(RowIssue(line, code_name, "单位代码为空"))
        elif code not in known:
            result.issues.append(RowIssue(line, code_name, f"未知的单位代码 {code}"))
        elif code in seen:
            result.issues.append(
                RowIssue(line, code_name, f"单位代码 {code} 重复（第 {seen[code]} 行已有）")
            )
        subs: dict[str, float] = {}
        for i in sub_cols:
            raw = cell(row, i)
            value = _number(raw)
            if value is None:
                result.issues.append(RowIssue(line, header[i], f"「{raw}」不是数字"))
            elif value < 0:
                result.issues.append(RowIssue(line, header[i], f"{raw} 不能为负数"))
            else:
                subs[header[i]] = value
        raw_score = cell(row, score_col)
        if score_col is None or (not raw_score and sub_cols):
            score = sum(subs.values()) if len(subs) == len(sub_cols) else None
        else:
            score = _number(raw_score)
            if score is None:
                result.issues.append(RowIssue(line, score_name, f"「{raw_score}」不是数字"))
            elif (
                sub_cols and len(subs) == len(sub_cols) and abs(sum(subs.values()) - score) > 0.005
            ):
                result.issues.append(
                    RowIssue(
                        line,
                        score_name,
                        f"得分 {raw_score} 与各子项之和 {sum(subs.values()):g} 不符",
                    )
                )
        if score is not None and not 0 <= score <= maximum:
            result.issues.append(
                RowIssue(line, score_name, f"得分 {score:g} 超出范围 0–{maximum:g}")
            )
        if code and code not in seen:
            seen[code] = line
        if len(result.issues) == bad and score is not None:
            result.scores[code] = score
            if sub_cols:
                result.sub_scores[code] = subs
    if not result.scores and not result.issues:
        raise PartFileError("文件中没有数据行")
    return result
