"""The office's report of units below the design's minimum of valid answers, with why."""

from __future__ import annotations

import math

from sqlmodel import Session

from survey_service.models import SurveyWave
from survey_service.results import estimates as results
from survey_service.results.exports.common import Table
from survey_service.results.publication import wave_results
from survey_service.results.respondents import WaveData, load_wave

BELOW_MINIMUM_HEADER = [
    "单位代码",
    "单位名称",
    "类别",
    "抽样框规模",
    "目标完成数",
    "已发放样本",
    "未结束样本",
    "有效回答",
    "最低要求",
    "得分(10分制)",
    "95%区间下限",
    "95%区间上限",
    "后十名概率",
    "前十名概率",
    "原因",
]


def below_minimum_rows(rows: list[results.UnitResult]) -> list[results.UnitResult]:
    """The ranked units below the minimum, lowest score first (the office reads them first)."""
    short = [u for u in rows if u.below_minimum]
    return sorted(short, key=lambda u: (math.isnan(u.mean), u.mean, u.code))


def below_minimum(session: Session, data: WaveData) -> Table:
    def r(value: float):
        return "" if value is None or math.isnan(value) else round(value, 4)

    rows = below_minimum_rows(wave_results(session, data.wave, data=data))
    return BELOW_MINIMUM_HEADER, [
        [
            u.code,
            u.name,
            u.category,
            u.frame_size,
            u.target,
            u.released,
            u.open_cases,
            u.n,
            results.MIN_VALID,
            r(u.mean),
            r(u.ci_low),
            r(u.ci_high),
            r(u.bottom),
            r(u.top),
            "；".join(results.BELOW_MINIMUM_REASONS.get(k, k) for k in u.minimum_reasons),
        ]
        for u in rows
    ]


def below_minimum_table(session: Session, wave: SurveyWave) -> Table:
    """Units with an estimate but fewer valid answers than the design's minimum, and why."""
    return below_minimum(session, load_wave(session, wave))
