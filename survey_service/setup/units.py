"""The year's list of units under evaluation."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import ServiceError, Where
from survey_service.models import Unit, UnitCategory, User

HEADERS = {
    "code": ("code", "代码", "单位代码", "编码"),
    "name": ("name", "名称", "单位名称"),
    "category": ("category", "类别", "类型", "单位类别"),
    "department": ("department", "主管部门", "部门", "所属部门"),
}
FIELD_LABELS = {
    "code": "单位代码",
    "name": "单位名称",
    "category": "类别",
    "department": "主管部门",
}
CATEGORY_ALIASES = {
    "机关科室": UnitCategory.SECTION,
    "section": UnitCategory.SECTION,
    "基层站所": UnitCategory.STATION,
    "station": UnitCategory.STATION,
}


@dataclass
class UnitImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _read_rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    if path.suffix.lower() in (".xlsx", ".xls"):
        from python_calamine import CalamineWorkbook

        try:
            sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        except Exception as exc:  # calamine raises its own error types
            raise ServiceError(f"无法读取表格：{exc}", where=Where(file=path.name)) from exc
        return [["" if c is None else str(c).strip() for c in row] for row in sheet.to_python()]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise ServiceError("无法识别文件编码", where=Where(file=path.name))
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def import_units(*, session: Session, path: Path, actor: User | None = None) -> UnitImportResult:
    """Create or update units from a CSV/XLSX with code, name, category, department.

    Re-running with the same file changes nothing; a unit is matched by code.

    :raise ServiceError: naming the file, row and field of the first bad value.
    """
    rows = _read_rows(path)
    if not rows:
        raise ServiceError("文件为空", where=Where(file=path.name))
    header = [h.strip().lower() for h in rows[0]]
    columns: dict[str, int] = {}
    for field, names in HEADERS.items():
        for index, text in enumerate(header):
            if text in names:
                columns[field] = index
                break
    for field in ("code", "name", "category"):
        if field not in columns:
            raise ServiceError(
                f"缺少{FIELD_LABELS[field]}列（可用列名：{'/'.join(HEADERS[field])}）",
                where=Where(file=path.name, row=1),
            )
    result = UnitImportResult()
    seen: set[str] = set()
    existing = {u.code: u for u in session.exec(select(Unit)).all()}
    for number, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue

        def cell(field: str, _row=row) -> str:
            index = columns.get(field)
            return _row[index].strip() if index is not None and index < len(_row) else ""

        code, name, category_text = cell("code"), cell("name"), cell("category")
        where = Where(file=path.name, row=number)
        if not code:
            raise ServiceError("单位代码为空", where=Where(path.name, number, "code"))
        if code in seen:
            raise ServiceError(f"单位代码 {code} 重复", where=Where(path.name, number, "code"))
        seen.add(code)
        if not name:
            raise ServiceError("单位名称为空", where=Where(path.name, number, "name"))
        category = CATEGORY_ALIASES.get(category_text.lower()) or CATEGORY_ALIASES.get(
            category_text
        )
        if category is None:
            raise ServiceError(
                f"类别 {category_text!r} 无效（应为 机关科室 或 基层站所）",
                where=Where(where.file, number, "category"),
            )
        department = cell("department") or None
        unit = existing.get(code)
        if unit is None:
            session.add(Unit(code=code, name=name, category=category, department=department))
            result.created += 1
        elif (unit.name, unit.category, unit.department) != (name, category, department):
            unit.name, unit.category, unit.department = name, category, department
            session.add(unit)
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    audit.record(
        session,
        user=actor,
        action="units.import",
        object_type="unit",
        file=path.name,
        created=result.created,
        updated=result.updated,
    )
    return result
