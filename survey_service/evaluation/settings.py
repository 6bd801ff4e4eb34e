"""The evaluation's settings, kept in the wave's ``settings`` under ``"evaluation"``.

``weights``: points out of 100 per part (default 10/10/30/50), summing to 100;
``rank_by_category``: rank 机关科室 and 基层站所 separately (default no);
``shortlist_sizes``: the funnel's three sizes (default 20, 15, 10);
``bodies``: the committee deciding each step;
``working_days``: days a unit has to answer a problem (default 10; local
practice 5-15); ``low_aspect``: an aspect scoring below this (of 10) becomes a
problem of its own (default 8.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survey_service.errors import Conflict, ServiceError, Where
from survey_service.models import SurveyWave

SATISFACTION = "satisfaction"
WORK_STYLE = "work_style"
SUPERVISION = "supervision"
BIG_DATA = "big_data"

PARTS = (WORK_STYLE, SATISFACTION, SUPERVISION, BIG_DATA)
IMPORTED_PARTS = (WORK_STYLE, SUPERVISION, BIG_DATA)

PART_LABELS = {
    WORK_STYLE: "日常工作作风",
    SATISFACTION: "社会满意度",
    SUPERVISION: "监督检查",
    BIG_DATA: "互联网+大数据",
}
# The full marks of each part as scored by its source (the file's scale).
PART_MAX = {WORK_STYLE: 10.0, SATISFACTION: 10.0, SUPERVISION: 30.0, BIG_DATA: 50.0}
# Who scores each part (the default source of an import).
PART_SOURCES = {
    WORK_STYLE: "区直机关工委",
    SATISFACTION: "社会满意度电话抽访",
    SUPERVISION: "区人大、区政协",
    BIG_DATA: "区治庸办（互联网+大数据）",
}
DEFAULT_WEIGHTS = {WORK_STYLE: 10.0, SATISFACTION: 10.0, SUPERVISION: 30.0, BIG_DATA: 50.0}
DEFAULT_SIZES = (20, 15, 10)
DEFAULT_BODIES = ("区纪委常委会", "区政府常务会", "区委常委会")
DEFAULT_WORKING_DAYS = 10
DEFAULT_LOW_ASPECT = 8.0


@dataclass(frozen=True)
class EvaluationSettings:
    weights: dict[str, float]
    rank_by_category: bool
    sizes: tuple[int, int, int]
    bodies: tuple[str, str, str]
    working_days: int
    low_aspect: float


def _number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ServiceError(f"设置 {field} 应为数字", where=Where(field=field)) from None
    if number < 0:
        raise ServiceError(f"设置 {field} 不能为负数", where=Where(field=field))
    return number


def validate(raw: dict[str, Any]) -> EvaluationSettings:
    """Check and complete raw settings.

    :raise ServiceError: for a weight that is not a number, weights not summing to
        100, sizes not decreasing, or a working-day count outside 1-30.
    """
    weights = dict(DEFAULT_WEIGHTS)
    for part, value in (raw.get("weights") or {}).items():
        if part not in PARTS:
            raise ServiceError(f"未知的分项 {part}", where=Where(field="weights"))
        weights[part] = _number(value, f"权重（{PART_LABELS[part]}）")
    if abs(sum(weights.values()) - 100.0) > 1e-9:
        total = sum(weights.values())
        raise ServiceError(f"各分项权重之和应为 100，现为 {total:g}", where=Where(field="weights"))
    sizes = tuple(int(_number(s, "名单规模")) for s in raw.get("shortlist_sizes", DEFAULT_SIZES))
    if len(sizes) != 3 or not sizes[0] >= sizes[1] >= sizes[2] >= 1:
        raise ServiceError(
            "筛选名单规模应为三个逐级不增的正整数，如 20、15、10",
            where=Where(field="shortlist_sizes"),
        )
    bodies = tuple(raw.get("bodies", DEFAULT_BODIES))
    if len(bodies) != 3 or not all(isinstance(b, str) and b.strip() for b in bodies):
        raise ServiceError("应写明三个决定机构", where=Where(field="bodies"))
    days = int(_number(raw.get("working_days", DEFAULT_WORKING_DAYS), "整改期限"))
    if not 1 <= days <= 30:
        raise ServiceError("整改期限应为 1 至 30 个工作日", where=Where(field="working_days"))
    return EvaluationSettings(
        weights=weights,
        rank_by_category=bool(raw.get("rank_by_category", False)),
        sizes=sizes,  # type: ignore[arg-type]
        bodies=bodies,  # type: ignore[arg-type]
        working_days=days,
        low_aspect=_number(raw.get("low_aspect", DEFAULT_LOW_ASPECT), "分项低分线"),
    )


def settings_for(wave: SurveyWave) -> EvaluationSettings:
    return validate((wave.settings or {}).get("evaluation") or {})


def as_raw(settings: EvaluationSettings) -> dict[str, Any]:
    return {
        "weights": dict(settings.weights),
        "rank_by_category": settings.rank_by_category,
        "shortlist_sizes": list(settings.sizes),
        "bodies": list(settings.bodies),
        "working_days": settings.working_days,
        "low_aspect": settings.low_aspect,
    }


def decided(session, wave: SurveyWave) -> bool:
    """Whether a shortlist step is recorded for the wave (the ranking is then fixed)."""
    from sqlmodel import select

    from survey_service.models.evaluation import ShortlistStep

    return (
        session.exec(select(ShortlistStep.id).where(ShortlistStep.wave_id == wave.id)).first()
        is not None
    )


def update_settings(*, session, wave: SurveyWave, raw: dict[str, Any], actor) -> EvaluationSettings:
    """Store checked settings on the wave (audited with the old and new values).

    :raise ServiceError: as :func:`validate`.
    :raise Conflict: if a shortlist step is recorded and the weights, the ranking
        by category or the sizes would change (the decisions rest on them).
    """
    from survey_service import audit

    new = validate(raw)
    old = as_raw(settings_for(wave))
    ranked_by = ("weights", "rank_by_category", "shortlist_sizes")
    if decided(session, wave) and any(old[k] != as_raw(new)[k] for k in ranked_by):
        raise Conflict("已记录筛选决定，权重、分类排名和名单规模不能再修改")
    wave.settings = {**(wave.settings or {}), "evaluation": as_raw(new)}
    session.add(wave)
    audit.record(
        session,
        user=actor,
        action="evaluation.settings",
        object_type="wave",
        object_id=wave.id,
        old=old,
        new=as_raw(new),
    )
    return new
