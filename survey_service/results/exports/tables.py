"""The aggregate tables: estimates, aspects, dispositions, design and the draw's parameters.

Every table is ``(header, rows)`` with Chinese headers, built through the
same functions the results pages use.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

import sampling
from survey_service.dispositions import COMPLETE
from survey_service.models import DISPOSITIONS, Case, SurveyWave
from survey_service.results import estimates as results
from survey_service.results.aspects import aspect_results
from survey_service.results.estimates import NOT_DIALLED
from survey_service.results.exports.common import (
    PROBABILITY_FORMAT,
    RATE_FORMAT,
    SCORE_FORMAT,
    WEIGHT_FORMAT,
    Table,
    fmt,
    iso,
)
from survey_service.results.publication import wave_results
from survey_service.results.respondents import WaveData, load_wave

RATE_NAMES = (
    "rr1",
    "rr2",
    "rr3",
    "rr4",
    "rr5",
    "rr6",
    "coop1",
    "coop2",
    "coop3",
    "coop4",
    "ref1",
    "ref2",
    "ref3",
    "con1",
    "con2",
    "con3",
)
PARAMETER_LABELS = {
    "per_unit": "每单位固定样本量",
    "margin": "目标误差界(10分制)",
    "sd": "假定标准差",
    "level": "置信水平",
    "minimum": "最少完成访问数",
    "response_rate": "预期应答率",
    "eligibility_rate": "预期合格率",
    "allocation": "子层分配方法",
    "substrata": "子层划分",
    "replicates": "计划发放批次",
    "reserve": "后备批次",
}


# --------------------------------------------------------------------------- 1. estimates


def estimates(session: Session, data: WaveData) -> Table:
    """Each unit's score, interval, rates and rank odds: the results page's figures."""
    return results.results_table(wave_results(session, data.wave, data=data))


def estimates_table(session: Session, wave: SurveyWave) -> Table:
    """Each unit's score, interval, rates and rank odds: the results page's figures."""
    return estimates(session, load_wave(session, wave))


ESTIMATE_FORMATS = {
    **dict.fromkeys(
        ("得分(10分制)", "标准误", "95%区间下限", "95%区间上限", "设计效应"), SCORE_FORMAT
    ),
    **dict.fromkeys(
        (
            "满意率",
            "满意率95%下限",
            "满意率95%上限",
            "说不清比例",
            "应答率RR3",
            "合作率COOP1",
            "拒访率REF1",
            "接触率CON1",
            "后十名概率",
            "前十名概率",
        ),
        RATE_FORMAT,
    ),
}


# --------------------------------------------------------------------------- 2. aspects

ASPECT_HEADER = [
    "单位代码",
    "单位名称",
    "类别",
    "题目代码",
    "题目",
    "计分权重",
    "有效回答",
    "说不清/不了解",
    "说不清比例",
    "得分(10分制)",
    "标准误",
    "95%区间下限",
    "95%区间上限",
    "自由度",
    "满意率",
    "满意率95%下限",
    "满意率95%上限",
    "方法",
    "说明",
]
ASPECT_FORMATS = {
    **dict.fromkeys(("说不清比例", "满意率", "满意率95%下限", "满意率95%上限"), RATE_FORMAT),
    **dict.fromkeys(("得分(10分制)", "标准误", "95%区间下限", "95%区间上限"), SCORE_FORMAT),
}


def aspects(data: WaveData) -> Table:
    """The aspects table of :func:`results.aspects.aspect_results`."""
    rows = []
    for a in aspect_results(data):
        base = [
            a.unit,
            a.unit_name,
            a.category,
            a.item,
            a.title,
            a.weight,
            a.n,
            a.not_applicable,
            fmt(a.not_applicable_share),
        ]
        if a.method == "none":
            rows.append([*base, "", "", "", "", "", "", "", "", a.method, a.note])
            continue
        rows.append(
            [
                *base,
                fmt(a.mean),
                fmt(a.se),
                fmt(a.ci_low),
                fmt(a.ci_high),
                fmt(a.df, 0),
                fmt(a.satisfied),
                fmt(a.satisfied_low),
                fmt(a.satisfied_high),
                f"subgroup-{a.method}" if a.subgroup else a.method,  # a domain estimate
                a.note,
            ]
        )
    return ASPECT_HEADER, rows


def aspects_table(session: Session, wave: SurveyWave) -> Table:
    """Per unit and scored rating item: the weighted mean of points / 10 with SE and interval.

    Respondents (1.1, 1.2) who rated the item; 说不清 and items not asked are
    left out, never scored as zero, and counted in their own column. Weights
    ``N_h / r_h`` with ``r_h`` the sub-stratum's respondents who rated this item,
    from the same sub-strata and populations as the unit's score.
    """
    return aspects(load_wave(session, wave))


# --------------------------------------------------------------------------- 3. dispositions


GROUP_LABELS = {
    "I": "完成",
    "P": "部分完成",
    "R": "拒访/中断",
    "NC": "未接触",
    "O": "其他未访",
    "UH": "资格未知(号码)",  # AAPOR group names (sampling.GROUPS), not codes
    "UO": "资格未知(其他)",
    "NE": "不合格",
}


def _disposition_columns(counts: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Every AAPOR code (fixed columns), any other key found, and "never dialled"."""
    seen = {k for c in counts.values() for k in c}
    extra = sorted(seen - set(DISPOSITIONS) - {NOT_DIALLED})
    return [*DISPOSITIONS, *extra, NOT_DIALLED]


def _column_label(code: str) -> str:
    if code in DISPOSITIONS:
        return f"{code} {DISPOSITIONS[code][1]}"
    return "未拨打(计入UH)" if code == NOT_DIALLED else code


def dispositions_table(session: Session, wave: SurveyWave) -> Table:
    """AAPOR counts per unit over released cases and the rates, with an overall row.

    Counts as :func:`results.disposition_counts` gives them (a final case by its
    disposition, an open case by its last attempt's outcome, a case never
    dialled as UH). Rates by :func:`sampling.aapor_rates` with e estimated
    from the resolved cases of the unit (the e used is a column).
    """
    return dispositions(session, load_wave(session, wave))


def dispositions(session: Session, data: WaveData) -> Table:
    """:func:`dispositions_table` of loaded wave data."""
    units = data.units
    counts = results.data_disposition_counts(session, data) if data.draw is not None else {}
    columns = _disposition_columns(counts)
    header = [
        "单位代码",
        "单位名称",
        "已发放样本",
        *[_column_label(c) for c in columns],
        *[f"{g} {GROUP_LABELS.get(g, '')}".strip() for g in sampling.GROUPS],
        "e(未知合格率估计)",
        *[name.upper() for name in RATE_NAMES],
    ]
    codes = [u.code for u in units]
    labels = [*codes, "合计"]
    matrix = {
        col: np.array([counts.get(code, {}).get(col, 0) for code in codes] + [0], dtype=np.int64)
        for col in columns
    }
    for col in columns:
        matrix[col][-1] = int(matrix[col][:-1].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = sampling.aapor_rates(matrix)
    names = {u.code: u.name for u in units}
    rows = []
    for i, label in enumerate(labels):
        released = int(sum(int(matrix[col][i]) for col in columns))
        rows.append(
            [
                label,
                names.get(label, "全部单位"),
                released,
                *[int(matrix[col][i]) for col in columns],
                *[int(np.asarray(getattr(rates, g))[i]) for g in sampling.GROUPS],
                fmt(np.asarray(rates.e)[i]),
                *[fmt(np.asarray(getattr(rates, name))[i]) for name in RATE_NAMES],
            ]
        )
    return header, rows


def dispositions_formats(header: list[str]) -> dict[int, str]:
    first_rate = header.index("e(未知合格率估计)")
    return {i: RATE_FORMAT for i in range(first_rate, len(header))}


# --------------------------------------------------------------------------- 4. design

DESIGN_HEADER = [
    "单位代码",
    "单位名称",
    "子层",
    "服务对象类型",
    "抽样框规模N_h",
    "计划样本量n_h",
    "每批样本量",
    "已发放批次",
    "已存储批次",
    "已发放样本",
    "入样概率(已发放/N_h)",
    "完成访问",
    "有效回答r_h",
    "权数N_h/r_h",
    "方差层",
    "说明",
]
DESIGN_FORMATS = {"入样概率(已发放/N_h)": PROBABILITY_FORMAT, "权数N_h/r_h": WEIGHT_FORMAT}


def design(session: Session, data: WaveData) -> Table:
    if data.draw is None:
        return DESIGN_HEADER, []
    released = dict(
        session.exec(
            select(Case.stratum, func.count(Case.id))
            .where(Case.draw_id == data.draw.id, Case.released)
            .group_by(Case.stratum)
        ).all()
    )
    completes = dict(
        session.exec(
            select(Case.stratum, func.count(Case.id))
            .where(Case.draw_id == data.draw.id, Case.disposition == COMPLETE)
            .group_by(Case.stratum)
        ).all()
    )
    scored, weights = data.scored, data.weights()
    r_h: dict[str, int] = defaultdict(int)
    weight_of: dict[str, float] = {}
    group_of: dict[str, str] = {}
    for i, resp in enumerate(scored):
        r_h[resp.stratum] += 1
        if weights is not None:
            weight_of[resp.stratum] = float(weights.weight[i])
            group_of[resp.stratum] = str(weights.group_label[weights.group[i]])
    names = {u.code: u.name for u in data.units}
    rows = []
    for label in sorted(data.strata, key=lambda s: (data.strata[s]["unit"], s)):
        spec = data.strata[label]
        big_n = int(spec["N"])
        out = int(released.get(label, 0))
        r = r_h.get(label, 0)
        if r == 0 and big_n > 0:
            note = "无有效回答：其总体并入同单位相邻子层加权" if scored else "尚无有效回答"
        elif r == 1 and big_n > 1:
            note = "仅一个有效回答：方差计算与相邻子层合并"
        else:
            note = ""
        weight = weight_of.get(label)
        if weight is not None and r and not math.isclose(weight, big_n / r):
            note = (note + "；" if note else "") + "权数含并入的无回答子层总体"
        rows.append(
            [
                spec["unit"],
                names.get(spec["unit"], ""),
                label,
                spec.get("kind") or "",
                big_n,
                int(spec["n"]),
                int(spec["replicate_size"]),
                int(spec["released"]),
                int(spec["stored"]),
                out,
                out / big_n if big_n else "",
                int(completes.get(label, 0)),
                r,
                weight if weight is not None else "",
                group_of.get(label, ""),
                note,
            ]
        )
    return DESIGN_HEADER, rows


def design_table(session: Session, wave: SurveyWave) -> Table:
    """Per sub-stratum: frame size, planned and released sample, selection probability,
    respondents and the weight the estimates use."""
    return design(session, load_wave(session, wave))


def parameters(data: WaveData) -> Table:
    header = ["项目", "内容"]
    wave = data.wave
    rows: list[list] = [
        ["调查轮次", wave.name],
        ["问卷", f"{data.script.id} 第 {data.script.version} 版（{data.script.title}）"],
        ["问卷摘要 SHA-256", data.script.digest],
    ]
    draw = data.draw
    if draw is None:
        rows.append(["抽样", "尚未抽样"])
        return header, rows
    rows += [
        ["抽样编号", draw.id],
        ["随机种子", str(draw.seed)],
        ["随机数生成器", draw.generator or ""],
        ["抽样框哈希 SHA-256", draw.frame_hash],
        ["抽样框规模", draw.frame_size],
        ["计划样本量", draw.sample_size],
        ["抽样框所含名单", ", ".join(str(i) for i in draw.design.get("list_ids", []))],
        ["固定抽样框时间(UTC)", iso(draw.created_at)],
        ["抽样时间(UTC)", iso(draw.drawn_at)],
    ]
    for key, value in draw.design.get("parameters", {}).items():
        rows.append([f"{PARAMETER_LABELS.get(key, key)} ({key})", "" if value is None else value])
    for number, release in enumerate(draw.design.get("releases", []), start=1):
        rows.append(
            [
                f"追加发放 {number}",
                f"{release.get('at', '')} 由 {release.get('by') or '系统'} 为 "
                f"{', '.join(release.get('units', []))} 追加 {release.get('cases', 0)} 个样本",
            ]
        )
    return header, rows


def parameters_table(session: Session, wave: SurveyWave) -> Table:
    """The draw as a small two-column table: id, seed, generator, frame hash, parameters."""
    return parameters(load_wave(session, wave))
