"""The composite total out of 100, its ranks, and where the satisfaction part decides a place.

Each part's score is scaled from its own full marks to its weight
(``score / full marks × weight``), so with the default weights 10/10/30/50 the
total is the plain sum of the four parts. The social-satisfaction part is the
unit's published 10-point score (the frozen snapshot); before publication
there is no total.

Ranks are competition ranks (equal totals share a place, 1, 2, 2, 4) within a
group: all units, or each category when the wave ranks 机关科室 and 基层站所
separately. A unit missing a part stays in the table, unranked, with the
missing parts named.

The satisfaction score has a confidence interval; scaled by the part's weight
it is a range the unit's total could lie in. Where that range reaches the
total of the unit just above or just below, the order of the two rests on the
satisfaction estimate, and the unit's note says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlmodel import Session, select

from survey_service.errors import Conflict
from survey_service.evaluation.parts import latest_scores
from survey_service.evaluation.settings import (
    IMPORTED_PARTS,
    PART_LABELS,
    PART_MAX,
    PARTS,
    SATISFACTION,
    EvaluationSettings,
    settings_for,
)
from survey_service.models import SurveyWave, Unit, WaveStatus
from survey_service.models.evaluation import Veto
from survey_service.results.publication import wave_results

ALL_UNITS = "全部单位"
PLACES = 4  # totals are rounded to 4 decimals so that equal sums compare equal


@dataclass
class UnitTotal:
    code: str
    name: str
    category: str
    group: str
    scores: dict[str, float | None]  # each part on its own scale
    points: dict[str, float | None]  # each part scaled to its weight
    total: float | None
    sat_low: float | None = None  # the satisfaction interval, in weighted points
    sat_high: float | None = None
    sat_n: int = 0
    rank: int | None = None
    missing: list[str] = field(default_factory=list)
    decided_by_satisfaction: bool = False
    notes: list[str] = field(default_factory=list)
    veto: Veto | None = None

    @property
    def range_low(self) -> float | None:
        if self.total is None or self.sat_low is None:
            return None
        return self.total - (self.points[SATISFACTION] - self.sat_low)

    @property
    def range_high(self) -> float | None:
        if self.total is None or self.sat_high is None:
            return None
        return self.total + (self.sat_high - self.points[SATISFACTION])


@dataclass
class Ranking:
    wave: SurveyWave
    settings: EvaluationSettings
    groups: dict[str, list[UnitTotal]]  # ranked first, then the unranked by code

    def all(self) -> list[UnitTotal]:
        return [row for rows in self.groups.values() for row in rows]

    def unit(self, code: str) -> UnitTotal | None:
        return next((row for row in self.all() if row.code == code), None)


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def require_published(wave: SurveyWave) -> None:
    """:raise Conflict: if the wave's satisfaction scores are not published yet."""
    if wave.status != WaveStatus.PUBLISHED:
        raise Conflict("本轮社会满意度得分尚未发布，不能计算综合得分")


def _mark_satisfaction(rows: list[UnitTotal]) -> None:
    ranked = [r for r in rows if r.rank is not None]
    for i, row in enumerate(ranked):
        if row.range_low is None:
            continue
        for j, word in ((i - 1, "上一名"), (i + 1, "下一名")):
            if not 0 <= j < len(ranked):
                continue
            other = ranked[j]
            gap = abs(row.total - other.total)
            reaches = row.range_high >= other.total if j < i else row.range_low <= other.total
            if reaches:
                row.decided_by_satisfaction = True
                row.notes.append(
                    f"与{word} {other.name}（{other.total:.2f}）相差 {gap:.2f} 分，"
                    f"在满意度区间（折算后 {row.sat_low:.2f}–{row.sat_high:.2f}）之内，"
                    "名次取决于满意度抽样"
                )


def composite(session: Session, wave: SurveyWave) -> Ranking:
    """Every active unit's parts, total and rank, per group.

    :raise Conflict: before the satisfaction scores are published.
    """
    require_published(wave)
    settings = settings_for(wave)
    imported = latest_scores(session, wave)
    satisfaction = {r.code: r for r in wave_results(session, wave)}
    vetoes = {v.unit_code: v for v in session.exec(select(Veto).where(Veto.wave_id == wave.id))}
    units = session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all()
    groups: dict[str, list[UnitTotal]] = {}
    for unit in units:
        scores: dict[str, float | None] = {p: None for p in PARTS}
        for part in IMPORTED_PARTS:
            found = imported[part].get(unit.code)
            scores[part] = found.score if found is not None else None
        result = satisfaction.get(unit.code)
        mean = _finite(result.mean) if result is not None else None
        scores[SATISFACTION] = mean
        points = {
            p: None if scores[p] is None else scores[p] / PART_MAX[p] * settings.weights[p]
            for p in PARTS
        }
        missing = [PART_LABELS[p] for p in PARTS if scores[p] is None]
        total = None if missing else round(sum(points.values()), PLACES)
        scale = settings.weights[SATISFACTION] / PART_MAX[SATISFACTION]
        low = _finite(result.ci_low) if result is not None else None
        high = _finite(result.ci_high) if result is not None else None
        group = unit.category if settings.rank_by_category else ALL_UNITS
        row = UnitTotal(
            code=unit.code,
            name=unit.name,
            category=unit.category,
            group=group,
            scores=scores,
            points=points,
            total=total,
            sat_low=None if low is None or mean is None else low * scale,
            sat_high=None if high is None or mean is None else high * scale,
            sat_n=int(result.n) if result is not None else 0,
            missing=missing,
            veto=vetoes.get(unit.code),
        )
        if missing:
            row.notes.append("缺少分项：" + "、".join(missing) + "，未排名")
        if result is not None and "too_few" in (result.flags or ()):
            row.notes.append("满意度有效回答不足设计最低数，区间较宽")
        groups.setdefault(group, []).append(row)
    for group, rows in groups.items():
        ranked = sorted((r for r in rows if r.total is not None), key=lambda r: (-r.total, r.code))
        for row in ranked:
            row.rank = 1 + sum(1 for other in ranked if other.total > row.total)
        unranked = [r for r in rows if r.total is None]
        groups[group] = ranked + unranked
        _mark_satisfaction(ranked)
    ordered = dict(sorted(groups.items()))
    return Ranking(wave=wave, settings=settings, groups=ordered)
