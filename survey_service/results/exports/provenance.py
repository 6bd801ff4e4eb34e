"""The provenance of an export: code version, script, draw, data time (the "说明" sheet)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from survey_service.models import Answer, Case, SampleDraw, SurveyWave, utcnow
from survey_service.results.cuts import CUT_ASSUMPTION, SHRINKAGE_NOTE
from survey_service.results.ranks import RANK_ASSUMPTION
from survey_service.results.signals import SIGNALS_NOTE
from survey_service.sample.draws import latest_draw
from survey_service.setup.waves import script_for_wave


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def package_version() -> str:
    """The installed package's version, else pyproject's, else "unknown"."""
    try:
        return importlib.metadata.version("survey-service")
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        with open(_repo_root() / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def code_version() -> str:
    """``git describe --always --dirty`` of the running code, else the package version."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=_repo_root(),
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        described = done.stdout.strip()
        if described:
            return f"git {described}"
    except (OSError, subprocess.SubprocessError):
        pass
    return f"v{package_version()}"


def data_time(session: Session, draw: SampleDraw | None) -> datetime | None:
    """The time of the latest stored answer of the draw (what the figures include)."""
    if draw is None:
        return None
    return session.exec(
        select(func.max(Answer.answered_at))
        .join(Case, Case.id == Answer.case_id)
        .where(Case.draw_id == draw.id)
    ).one()


WAVE_STATUS_LABELS = {"open": "进行中", "closed": "已封存", "published": "已发布"}
DEFAULT_TIMEZONE = "Asia/Shanghai"


def local_time(value: datetime | None, timezone: str = DEFAULT_TIMEZONE) -> str:
    """A stored (UTC) time as the reader's local time: ``2017-06-01 14:30:00（北京时间）``."""
    if value is None:
        return ""
    if value.tzinfo is None:  # stored times are UTC
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(ZoneInfo(timezone))
    zone = "北京时间" if timezone == DEFAULT_TIMEZONE else timezone
    return f"{local:%Y-%m-%d %H:%M:%S}（{zone}）"


def provenance(
    session: Session, wave: SurveyWave, *, timezone: str = DEFAULT_TIMEZONE
) -> dict[str, object]:
    """What a reader needs to reproduce an export; the workbook's properties and "说明" sheet.

    Every value reads in Chinese; times are given in ``timezone`` (the
    ``TIMEZONE`` setting, Asia/Shanghai by default).
    """
    script = script_for_wave(wave)
    draw = latest_draw(session, wave)
    latest = data_time(session, draw)
    out: dict[str, object] = {
        "title": f"{wave.name} 社会满意度电话抽访 抽样调查报告",
        "subject": "各单位社会满意度得分、满意率、应答率、抽样设计与意见建议",
        "creator": "社会满意度电话抽访服务",
        "description": (
            "得分为 10 分制（按问卷脚本计分，加权平均，权数 N_h/r_h），区间为 95% t 置信区间；"
            "满意率为“非常满意、满意、基本满意”的加权比例，区间为 Korn–Graubard 95% 区间；"
            "说不清/不了解不计分，其比例单列。意见建议已去除姓名、电话、证件号和住址等个人信息，"
            "可能仍含姓名的意见标为需人工审核。"
        ),
        "rank_assumption": RANK_ASSUMPTION,
        "分界检验的假定": CUT_ASSUMPTION,
        "经验贝叶斯视图": SHRINKAGE_NOTE,
        "异常信号的方法": SIGNALS_NOTE,
        "code_version": code_version(),
        "wave": f"{wave.name}（{WAVE_STATUS_LABELS.get(wave.status, wave.status)}）",
        "script_versions": (
            f"{script.id}@{script.version} sha256:{script.digest}"
            f"（问卷 {script.title or script.id} 第 {script.version} 版）"
        ),
    }
    if draw is None:
        out["draw"] = "尚未抽样"
    else:
        drawn = local_time(draw.drawn_at, timezone) or "未抽取"
        out["draw"] = (
            f"抽样编号 {draw.id}；随机种子（seed={draw.seed}）；"
            f"随机数生成器 {draw.generator or '未记录'}；抽样框哈希 SHA-256 {draw.frame_hash}；"
            f"抽样框规模 {draw.frame_size}；抽样时间 {drawn}"
        )
    out["data_time"] = local_time(latest, timezone) if latest is not None else "尚无回答"
    out["generated_at"] = local_time(utcnow(), timezone)
    return out
