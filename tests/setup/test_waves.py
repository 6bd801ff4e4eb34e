"""Survey waves: opening, finding the current one, the closed-wave rule, the wave's script."""

from __future__ import annotations

import pytest
from sqlmodel import select

import call_scripts
from survey_service.db import transaction
from survey_service.errors import Conflict, NotFound, ServiceError
from survey_service.models import AuditEvent, WaveStatus
from survey_service.setup import waves


def test_open_wave_records_the_script_version_and_digest(session):
    with transaction(session):
        wave = waves.open_wave(session=session, name="2017年度", script_id="short_demo")
    script = call_scripts.load_script("short_demo")
    assert (wave.year, wave.script_id, wave.script_version) == (2017, "short_demo", script.version)
    assert wave.settings["script_digest"] == script.digest
    assert wave.status == WaveStatus.OPEN
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "wave.open")).one()
    assert event.object_id == str(wave.id)


@pytest.mark.parametrize(
    ("name", "script_id", "error", "field"),
    [
        ("  ", "short_demo", "轮次名称不能为空", "name"),
        ("年度调查", "short_demo", "无法从轮次名称推断年份，请指定 --year", "year"),
    ],
)
def test_bad_wave_is_refused(session, name, script_id, error, field):
    with pytest.raises(ServiceError) as raised:
        waves.open_wave(session=session, name=name, script_id=script_id)
    assert (raised.value.message, raised.value.where.field) == (error, field)


def test_unknown_script_is_refused(session):
    with pytest.raises(ServiceError) as raised:
        waves.open_wave(session=session, name="2017", script_id="no_such_script")
    assert raised.value.message.startswith("问卷脚本 no_such_script 无法加载")
    assert raised.value.where.field == "script"


def test_a_name_is_used_once(session):
    with transaction(session):
        waves.open_wave(session=session, name="2017", script_id="short_demo")
    with pytest.raises(Conflict, match="轮次 2017 已存在"):
        waves.open_wave(session=session, name="2017", script_id="short_demo")


def test_current_wave_is_the_named_or_the_newest(session):
    with pytest.raises(NotFound):
        waves.current_wave(session)
    with transaction(session):
        older = waves.open_wave(session=session, name="2017", script_id="short_demo")
        newer = waves.open_wave(session=session, name="2018", script_id="short_demo")
    assert waves.current_wave(session).id == newer.id
    assert waves.current_wave(session, "2017").id == older.id
    with pytest.raises(NotFound, match="轮次 2019 不存在"):
        waves.current_wave(session, "2019")


def test_require_open_refuses_a_closed_wave(session):
    with transaction(session):
        wave = waves.open_wave(session=session, name="2017", script_id="short_demo")
    waves.require_open(wave)
    wave.status = WaveStatus.CLOSED
    with pytest.raises(Conflict, match="轮次 2017 的结果已封存"):
        waves.require_open(wave)


def test_script_for_wave_refuses_an_edited_script(session):
    with transaction(session):
        wave = waves.open_wave(session=session, name="2017", script_id="short_demo")
    assert waves.script_for_wave(wave).id == "short_demo"
    wave.settings = {**wave.settings, "script_digest": "0" * 64}
    with pytest.raises(ServiceError, match="内容已被修改"):
        waves.script_for_wave(wave)
    wave.script_version = wave.script_version + 1
    with pytest.raises(ServiceError, match="已发布版本不可更改"):
        waves.script_for_wave(wave)
