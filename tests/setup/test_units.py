"""The year's units: created, updated and left alone by code; bad rows named."""

from __future__ import annotations

import pytest
from sqlmodel import select

from survey_service.db import transaction
from survey_service.errors import ServiceError
from survey_service.models import AuditEvent, Unit
from survey_service.setup.units import import_units

UNITS = (
    "单位代码,单位名称,类别,主管部门\n"
    "JG001,区发改局审批科,机关科室,区发改局\n"
    "JC001,奓山街派出所,基层站所,区公安分局\n"
)


def write(tmp_path, text, name="units.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_import_creates_then_rerun_changes_nothing(session, tmp_path):
    path = write(tmp_path, UNITS)
    with transaction(session):
        first = import_units(session=session, path=path)
    with transaction(session):
        second = import_units(session=session, path=path)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    units = session.exec(select(Unit).order_by(Unit.code)).all()
    assert [(u.code, u.name, u.category, u.department) for u in units] == [
        ("JC001", "奓山街派出所", "基层站所", "区公安分局"),
        ("JG001", "区发改局审批科", "机关科室", "区发改局"),
    ]
    actions = session.exec(select(AuditEvent.action)).all()
    assert actions.count("units.import") == 2


def test_changed_name_updates_the_unit_by_code(session, tmp_path):
    with transaction(session):
        import_units(session=session, path=write(tmp_path, UNITS))
    changed = UNITS.replace("奓山街派出所", "奓山派出所")
    with transaction(session):
        result = import_units(session=session, path=write(tmp_path, changed, "u2.csv"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert session.exec(select(Unit.name).where(Unit.code == "JC001")).one() == "奓山派出所"


def test_gbk_file_is_read(session, tmp_path):
    with transaction(session):
        result = import_units(session=session, path=write(tmp_path, UNITS, encoding="gbk"))
    assert result.created == 2


@pytest.mark.parametrize(
    ("text", "message", "row", "field"),
    [
        (UNITS + "JC001,重复,基层站所,\n", "单位代码 JC001 重复", 4, "code"),
        (
            UNITS + "JC009,某所,街道,\n",
            "类别 '街道' 无效（应为 机关科室 或 基层站所）",
            4,
            "category",
        ),
        (UNITS + ",某所,基层站所,\n", "单位代码为空", 4, "code"),
        (UNITS + "JC009,,基层站所,\n", "单位名称为空", 4, "name"),
    ],
)
def test_bad_row_is_named_and_nothing_is_stored(session, tmp_path, text, message, row, field):
    path = write(tmp_path, text)
    with pytest.raises(ServiceError) as raised, transaction(session):
        import_units(session=session, path=path)
    assert raised.value.message == message
    assert (raised.value.where.file, raised.value.where.row, raised.value.where.field) == (
        "units.csv",
        row,
        field,
    )
    assert session.exec(select(Unit)).all() == []


def test_missing_column_names_the_header_row(session, tmp_path):
    path = write(tmp_path, "单位代码,单位名称\nJG001,审批科\n")
    with pytest.raises(ServiceError) as raised:
        import_units(session=session, path=path)
    assert raised.value.where.row == 1
    assert raised.value.message == "缺少类别列（可用列名：category/类别/类型/单位类别）"
