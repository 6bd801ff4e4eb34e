"""The ranking's cut tests and rank view as tables (:mod:`results.cuts`), for CSV and workbook."""

from __future__ import annotations

import math

from sqlmodel import Session

from survey_service.models import SurveyWave
from survey_service.results import cuts
from survey_service.results.exports.common import Table
from survey_service.results.publication import wave_results
from survey_service.results.respondents import WaveData, load_wave

CUT_HEADER = [
    "分界",
    "界内单位(第10名)",
    "界内得分",
    "界外单位(第11名)",
    "界外得分",
    "差值",
    "标准误",
    "自由度(Welch-Satterthwaite)",
    "t",
    "p值(双侧)",
    "假定",
]
RANK_HEADER = [
    "原始名次(由低到高)",
    "单位代码",
    "单位名称",
    "类别",
    "得分",
    "排名所用标准误",
    "所用自由度",
    "类别中位数",
    "与中位数之差t",
    "与中位数之差p值",
    "收缩系数B",
    "收缩后得分(经验贝叶斯,仅供参考)",
    "收缩后标准差",
    "收缩后名次",
]
SIDES = {"bottom": "后十名(十差)", "top": "前十名(十佳)"}


def _r(value: float, digits: int = 6):
    if value is None or math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return round(value, digits)


def cut_rows(rows) -> Table:
    """The two cut tests of the wave's ranked units (none with fewer than eleven)."""
    out = [
        [
            SIDES[c.side],
            c.inside,
            _r(c.inside_mean),
            c.outside,
            _r(c.outside_mean),
            _r(c.difference),
            _r(c.se),
            _r(c.df, 3),
            _r(c.t, 4),
            _r(c.p_value),
            cuts.CUT_ASSUMPTION,
        ]
        for c in cuts.cut_tests(rows)
    ]
    return CUT_HEADER, out


def rank_rows(rows) -> Table:
    """Every ranked unit: raw rank, test against the category median, the shrinkage view."""
    view = cuts.rank_view(rows)
    if view is None:
        return RANK_HEADER, []
    return RANK_HEADER, [
        [
            _r(v.raw_rank, 1),
            v.code,
            v.name,
            v.category,
            _r(v.mean),
            _r(v.se),
            _r(v.df, 3),
            _r(v.median),
            _r(v.median_t, 4),
            _r(v.median_p),
            _r(v.shrinkage),
            _r(v.shrunk_mean),
            _r(v.shrunk_sd),
            _r(v.shrunk_rank, 1),
        ]
        for v in view.rows
    ]


def cuts_of(session: Session, data: WaveData) -> Table:
    return cut_rows(wave_results(session, data.wave, data=data))


def ranks_of(session: Session, data: WaveData) -> Table:
    return rank_rows(wave_results(session, data.wave, data=data))


def cuts_table(session: Session, wave: SurveyWave) -> Table:
    return cuts_of(session, load_wave(session, wave))


def ranks_table(session: Session, wave: SurveyWave) -> Table:
    return ranks_of(session, load_wave(session, wave))
