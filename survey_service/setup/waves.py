"""Survey waves."""

from __future__ import annotations

from functools import lru_cache

from sqlmodel import Session, select

import call_scripts
from call_scripts import Script, load_script
from survey_service import audit
from survey_service.errors import Conflict, NotFound, ServiceError, Where
from survey_service.models import SurveyWave, User, WaveStatus

DEFAULT_SCRIPT = "standard_satisfaction"


def open_wave(
    *,
    session: Session,
    name: str,
    script_id: str = DEFAULT_SCRIPT,
    year: int | None = None,
    actor: User | None = None,
    settings: dict | None = None,
) -> SurveyWave:
    """Open a new wave under a questionnaire script.

    :raise Conflict: if a wave of that name exists.
    :raise ServiceError: if the script is unknown.
    """
    name = name.strip()
    if not name:
        raise ServiceError("轮次名称不能为空", where=Where(field="name"))
    if session.exec(select(SurveyWave).where(SurveyWave.name == name)).first():
        raise Conflict(f"轮次 {name} 已存在")
    try:
        script = load_script(script_id)
    except Exception as exc:
        raise ServiceError(
            f"问卷脚本 {script_id} 无法加载：{exc}", where=Where(field="script")
        ) from exc
    if year is None:
        digits = "".join(ch for ch in name if ch.isdigit())[:4]
        year = int(digits) if len(digits) == 4 else None
    if year is None:
        raise ServiceError("无法从轮次名称推断年份，请指定 --year", where=Where(field="year"))
    wave = SurveyWave(
        name=name,
        year=year,
        script_id=script.id,
        script_version=script.version,
        settings={**(settings or {}), "script_digest": script.digest},
    )
    session.add(wave)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="wave.open",
        object_type="wave",
        object_id=wave.id,
        name=name,
        script=f"{script.id}@{script.version}",
    )
    return wave


def current_wave(session: Session, name: str | None = None) -> SurveyWave:
    """Return the named wave, or the newest one (open, closed or published).

    :raise NotFound: if there is none.
    """
    query = select(SurveyWave)
    if name:
        wave = session.exec(query.where(SurveyWave.name == name)).first()
        if wave is None:
            raise NotFound(f"轮次 {name} 不存在")
        return wave
    wave = session.exec(query.order_by(SurveyWave.id.desc())).first()
    if wave is None:
        raise NotFound("还没有调查轮次（请先运行 flask --app wsgi waves open NAME）")
    return wave


def require_open(wave: SurveyWave) -> None:
    """:raise Conflict: if the wave's results are closed (no more lists, draws or answers)."""
    if wave.status != WaveStatus.OPEN:
        raise Conflict(f"轮次 {wave.name} 的结果已封存，不能再修改数据")


@lru_cache(maxsize=32)
def _load(script_id: str) -> Script:
    return call_scripts.load_script(script_id)


def script_for_wave(wave: SurveyWave) -> Script:
    """The wave's script, refusing a file whose version or content differs from the wave's.

    A published version is immutable: the wave records the script's digest
    when it opens, and an edited file under the same version is refused.

    :raise ServiceError: if the script's file now carries another version or content.
    """
    script = _load(wave.script_id)
    if script.version != wave.script_version:
        raise ServiceError(
            f"问卷脚本 {wave.script_id} 现为第 {script.version} 版，"
            f"而本轮使用第 {wave.script_version} 版；已发布版本不可更改"
        )
    recorded = (wave.settings or {}).get("script_digest")
    if recorded and recorded != script.digest:
        raise ServiceError(
            f"问卷脚本 {wave.script_id} 第 {script.version} 版的内容已被修改；"
            "已发布版本不可更改，请以新版本号发布"
        )
    return script
