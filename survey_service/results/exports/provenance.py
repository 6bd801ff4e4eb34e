"""The provenance of an export: code version, script, draw, data time (the "说明" sheet)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import tomllib
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from survey_service.models import Answer, Case, SampleDraw, SurveyWave, utcnow
from survey_service.results.exports.common import iso
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


def provenance(session: Session, wave: SurveyWave) -> dict[str, object]:
    """What a reader needs to reproduce an export; the workbook's properties and "说明" sheet."""
    script = script_for_wave(wave)
    draw = latest_draw(session, wave)
    latest = data_time(session, draw)
    out: dict[str, object] = {
        "title": f"{wave.name} 社会满意度电话抽访 抽样调查报告",
        "subject": "各单位社会满意度得分、应答率、抽样设计与意见建议",
        "creator": "社会满意度电话抽访服务",
        "description": (
            "得分为 10 分制（按问卷脚本计分，加权平均，权数 N_h/r_h），区间为 95% t 置信区间；"
            "说不清/不了解不计分。意见建议已去除姓名、电话和证件号等个人信息。"
        ),
        "code_version": code_version(),
        "wave": f"{wave.name}（状态 {wave.status}）",
        "script_versions": f"{script.id}@{script.version} sha256:{script.digest}",
    }
    if draw is None:
        out["draw"] = "尚未抽样"
    else:
        out["draw"] = {
            "id": draw.id,
            "seed": draw.seed,
            "generator": draw.generator,
            "frame_hash": draw.frame_hash,
            "frame_size": draw.frame_size,
            "drawn_at": iso(draw.drawn_at),
        }
    out["data_time"] = latest if latest is not None else "尚无回答"
    out["generated_at"] = utcnow()
    return out
