"""The statisticians' exports: the sampling report, comments and respondent microdata.

Every table is ``(header, rows)`` with Chinese headers, built from the stored
data through the same functions the results pages use, so an exported figure
is the figure on the page:

========================  =========================================================
name                      table
========================  =========================================================
``estimates``             each unit's 10-point score (:func:`results.results_table`;
                          frozen figures once the wave is closed)
``aspects``               each unit x scored rating item: weighted mean on 0-10,
                          SE, 95% interval, n, 说不清 count (:func:`aspects_table`)
``dispositions``          AAPOR counts and RR1-6, COOP1-4, REF1-3, CON1-3, e per unit
                          and overall (:func:`dispositions_table`)
``design``                per sub-stratum: N_h, planned n_h, replicates, selection
                          probability, respondents r_h, weight (:func:`design_table`)
``parameters``            the draw: id, seed, generator, frame hash, design parameters
``comments``              open answers per unit with personal details removed
                          (:func:`redact`), no respondent identifier
``microdata``             one row per respondent keyed by the case pseudonym; for
                          statisticians only (never in the workbook)
========================  =========================================================

The workbook (:func:`build_xlsx`) holds every table but the microdata, plus a
"说明" sheet with the provenance (:func:`provenance`): code version, script
id/version/digest, draw and seed, data time and export time.

Nothing here writes the audit log: the caller records each export in its
transaction (``action="export.<name>"``).
"""

from __future__ import annotations

import importlib.metadata
import math
import re
import subprocess
import tomllib
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

import call_scripts
import sampling
from call_scripts import Script
from survey_service.errors import NotFound
from survey_service.models import DISPOSITIONS, Answer, Case, SampleDraw, SurveyWave, Unit, utcnow
from survey_service.results import estimates as results
from survey_service.results.estimates import SMALL_GROUP
from survey_service.results.publication import wave_results
from survey_service.results.render import csvfile as reports
from survey_service.results.render.workbook import Sheet, build_workbook
from survey_service.sample.draws import latest_draw
from survey_service.setup.waves import script_for_wave

Table = tuple[list[str], list[list]]

SCORE_FORMAT = "0.00"
RATE_FORMAT = "0.0%"
PROBABILITY_FORMAT = "0.00%"
WEIGHT_FORMAT = "0.000"
DECIMALS = 4  # rounding of aggregate figures, as in results.results_table

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"  # send_file adds "; charset=utf-8"

OPEN_KIND = "open"
NO_VALUE_KINDS = ("statement", OPEN_KIND)  # not in the microdata (no value, or free text)
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
NOT_DIALLED = "UH"  # disposition_counts' key for a released case never dialled

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


# --------------------------------------------------------------------------- redaction

_SURNAMES = (
    "欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|令狐|夏侯|长孙|宇文|司徒|端木|"
    "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|孙|马|朱|胡|郭|何|高|林|罗|郑|梁|谢|宋|唐|许|韩|冯|"
    "邓|曹|彭|曾|肖|萧|田|董|袁|潘|于|蒋|蔡|余|杜|叶|程|苏|魏|吕|丁|任|沈|姚|卢|姜|崔|钟|谭|"
    "陆|汪|范|金|石|廖|贾|夏|韦|付|傅|方|白|邹|孟|熊|秦|邱|江|尹|薛|闫|阎|段|雷|侯|龙|史|"
    "陶|黎|贺|顾|毛|郝|龚|邵|万|钱|严|覃|武|戴|莫|孔|向|汤|常|温|康|施|文|牛|樊|葛|邢|安|"
    "齐|易|乔|伍|庞|颜|倪|庄|聂|章|鲁|岳|翟|殷|詹|申|欧|耿|关|兰|焦|俞|左|柳|甘|祝|包|宁|"
    "尚|符|舒|阮|柯|纪|梅|童|凌|毕|季|裴|霍|涂|苗|谷|盛|曲|翁|冉|骆|蓝|游|辛|靳|"
    "柴|蒙|鲍|喻|祁|蒲|房|滕|屈|饶|牟|艾|尤|阳|穆|农|卓|古|吉|缪|简|项|"
    "连|芦|麦|褚|娄|窦|戚|岑|景|宫|费|卜|冷|晏|席|卫|米|柏|宗|瞿|桂|佟|臧|闵|苟|"
    "邬|边|卞|姬|仇|栾|隋|刁|沙|荣|巫|寇|桑|郎|甄|丛|仲|虞|敖|巩|佘|池|查|麻|"
    "苑|迟|邝"
)
# Forms of address that follow a surname, with up to two given-name characters
# before them ("李建国先生"); official titles follow the surname directly ("王科长"),
# so that "车管所所长" or "单位主任" are left alone.
_PERSONAL = "先生|女士|小姐|同志|师傅|老师|医生|大夫|律师|阿姨|大姐|大哥"
_OFFICIAL = (
    "副科长|科长|副主任|主任|副局长|局长|副所长|所长|副站长|站长|副队长|队长|副处长|处长|"
    "副院长|院长|经理|书记|部长|组长|股长|馆长|厂长|行长|村长|镇长|乡长|区长|县长|市长|"
    "会计|民警|警官|法官|干事|专员"
)
# A given-name character is any Han character but a few words that merely follow a
# surname-like character ("找张的老师" has no name in it).
_GIVEN = r"[\u4e00-\u9fff](?<![的了和与跟是在对给找向把被也都就还说问让请])"
_COMMON = "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|朱|胡|郭"

_REDACTIONS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # e-mail addresses
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII), "[邮箱]"),
    # 身份证-like ids: 18 characters (17 digits + digit or X) or 15 digits, written solid
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[证件号]"),
    (re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])"), "[证件号]"),
    # phone numbers and any other run of 7 or more digits, also written with single
    # spaces or dashes between digit groups, with an optional +86/0086 or (027) prefix
    (
        re.compile(
            r"(?:[+＋]\s?)?(?:[(（]\s?\d{2,4}\s?[)）]\s?)?"
            r"\d(?:[ \u3000\-\u2010-\u2015－]?\d){6,}(?:[ \-]?[Xx](?![A-Za-z]))?"
        ),
        lambda m: m.group(0) if _is_date(m.group(0)) else "[号码]",
    ),
    # numbers read out in Chinese digits (幺三八……)
    (re.compile(r"[零〇一二三四五六七八九幺两]{7,}"), "[号码]"),
    # "姓名：张三" / "名字叫张三"
    (
        re.compile(r"(姓名\s*[:：]?\s*|名字叫\s*|名叫\s*)[\u4e00-\u9fff]{2,3}"),
        lambda m: m.group(1) + "某某",
    ),
    # 张先生, 李建国女士 -> 某先生, 某女士
    (
        re.compile(rf"(?:{_SURNAMES})(?:{_GIVEN}){{0,2}}?({_PERSONAL})"),
        lambda m: "某" + m.group(1),
    ),
    # 王科长, 欧阳主任 -> 某科长, 某主任
    (re.compile(rf"(?:{_SURNAMES})({_OFFICIAL})"), lambda m: "某" + m.group(1)),
    # 老王 / 小李
    (re.compile(rf"([老小])(?:{_COMMON})"), lambda m: m.group(1) + "某"),
    # house and flat numbers: 江汉路88号之3, 3栋2单元501室, 2号楼, 501室
    (re.compile(r"(?<=[路街巷道里])\s*\d+\s*号(?:\s*[之\-－]\s*\d+)?"), "[门牌]"),
    (
        re.compile(
            r"\d+\s*(?:栋|幢|号楼|单元)(?:\s*\d+\s*单元)?(?:\s*\d+\s*(?:室|号|户))?"
            r"|\d{3,4}\s*[室户]"
        ),
        "[门牌]",
    ),
    (re.compile(r"(?:\[门牌\]\s*)+\[门牌\]"), "[门牌]"),
)


def _is_date(text: str) -> bool:
    return (
        re.fullmatch(r"(?:19|20)\d{2}[-\u2010-\u2015－]\d{1,2}[-\u2010-\u2015－]\d{1,2}", text)
        is not None
    )


def redact(text: str) -> str:
    """Remove from a free-text answer what could identify a person.

    The rules, applied in this order (a comment reaches a unit, and the
    statisticians' export, only after them):

    1. e-mail addresses → ``[邮箱]``;
    2. 身份证-like ids, 18 characters (17 digits and a digit or X) or 15
       digits written solid → ``[证件号]``;
    3. phone numbers and every other run of 7 or more digits, also when the
       groups are split by single spaces or dashes (``138-1234-5678``,
       ``027 8765 4321``), with an optional ``+86``/``0086`` or ``(027)``
       prefix and a trailing X → ``[号码]``; a date written
       ``2017-03-01`` is kept;
    4. 7 or more Chinese digits in a row (``幺三八…``) → ``[号码]``;
    5. a name after ``姓名：``, ``名字叫`` or ``名叫`` → ``某某``;
    6. a common surname (about 280, incl. compound ones like 欧阳) followed by
       a form of address, with up to two given-name characters between
       (先生, 女士, 小姐, 同志, 师傅, 老师, 医生, 大夫, 律师, 阿姨, 大姐, 大哥)
       → ``某`` + the address: ``张先生`` → ``某先生``, ``李建国女士`` →
       ``某女士``;
    7. a common surname directly followed by an official title (科长, 主任,
       局长, 所长, 站长, 队长, 处长, 院长, 经理, 书记, 民警, 警官, ...) →
       ``某`` + the title: ``王科长`` → ``某科长`` (``车管所所长`` stays);
    8. ``老``/``小`` before one of the 14 commonest surnames → ``老某``/``小某``;
    9. house and flat numbers → ``[门牌]``: a number with 号 right after a
       street (``江汉路88号``, ``民主街12号之3``), numbered buildings, units
       and flats (``3栋2单元501室``, ``2号楼``), and 3-4 digit rooms
       (``501室``); the street's name stays, a floor or a service window
       (``3楼窗口``, ``12号窗口``) too.

    Full names without a title ("张建国说") are not recognised, nor addresses
    without numbers: agents are told not to write such things down (the
    script's notes), and a list should still be read before it goes to a unit. Where a rule is in
    doubt it masks: over-masking is preferred to a leak.
    """
    out = text
    for pattern, replacement in _REDACTIONS:
        out = pattern.sub(replacement, out)
    return out


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Respondent:
    case_id: int
    pseudonym: str
    unit: str
    stratum: str
    disposition: str
    answers: dict[str, str]
    score: float | None


@dataclass(frozen=True)
class _Data:
    wave: SurveyWave
    script: Script
    draw: SampleDraw | None
    units: list[Unit]
    respondents: list[Respondent]  # unit code, then pseudonym order

    @property
    def strata(self) -> dict[str, dict]:
        return self.draw.design.get("strata", {}) if self.draw else {}

    @property
    def population(self) -> dict[tuple[str, str], int]:
        """``{(unit, sub-stratum): N_h}`` exactly as results.unit_results builds it."""
        return {(spec["unit"], label): spec["N"] for label, spec in self.strata.items()}


def _load(session: Session, wave: SurveyWave) -> _Data:
    script = script_for_wave(wave)
    draw = latest_draw(session, wave)
    units = list(session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all())
    respondents: list[Respondent] = []
    if draw is not None:
        cases = session.exec(
            select(Case.id, Case.pseudonym, Unit.code, Case.stratum, Case.disposition)
            .join(Unit, Unit.id == Case.unit_id)
            .where(Case.draw_id == draw.id, Case.disposition.in_(results.RESPONDENT_DISPOSITIONS))
            .order_by(Unit.code, Case.pseudonym)
        ).all()
        answers: dict[int, dict[str, str]] = defaultdict(dict)
        for case_id, item_id, value in session.exec(
            select(Answer.case_id, Answer.item_id, Answer.value)
            .join(Case, Case.id == Answer.case_id)
            .where(Case.draw_id == draw.id, Case.disposition.in_(results.RESPONDENT_DISPOSITIONS))
        ).all():
            answers[case_id][item_id] = value
        for case_id, pseudonym, code, stratum, disposition in cases:
            given = answers.get(case_id, {})
            score = call_scripts.respondent_score(script, given) if given else None
            respondents.append(
                Respondent(
                    case_id=case_id,
                    pseudonym=pseudonym,
                    unit=code,
                    stratum=stratum,
                    disposition=disposition,
                    answers=given,
                    score=None if score is None else float(score),
                )
            )
    return _Data(wave=wave, script=script, draw=draw, units=units, respondents=respondents)


def _r(value, places: int = DECIMALS):
    """A figure as exported: rounded, or empty for NaN/None."""
    if value is None:
        return ""
    value = float(value)
    return "" if math.isnan(value) or math.isinf(value) else round(value, places)


def _scored(data: _Data) -> list[Respondent]:
    return [r for r in data.respondents if r.score is not None]


def _weights(data: _Data) -> tuple[list[Respondent], sampling.StratumWeights | None]:
    """The scored respondents and their weights, variance strata and fpc (as in the estimates)."""
    scored = _scored(data)
    if not scored or not data.population:
        return scored, None
    return scored, sampling.stratum_weights(
        np.array([r.unit for r in scored]),
        np.array([r.stratum for r in scored]),
        data.population,
    )


# --------------------------------------------------------------------------- 1. estimates


def estimates_table(session: Session, wave: SurveyWave) -> Table:
    """Each unit's score, interval, rates and rank odds: the results page's figures."""
    return results.results_table(wave_results(session, wave))


def _formats(header: list[str], formats: Mapping[str, str]) -> dict[int, str]:
    """Number formats by column name → by 0-based column index (names not present skipped)."""
    return {header.index(name): fmt for name, fmt in formats.items() if name in header}


ESTIMATE_FORMATS = {
    **dict.fromkeys(
        ("得分(10分制)", "标准误", "95%区间下限", "95%区间上限", "设计效应"), SCORE_FORMAT
    ),
    **dict.fromkeys(
        ("应答率RR3", "合作率COOP1", "拒访率REF1", "接触率CON1", "后十名概率", "前十名概率"),
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
    "方法",
    "说明",
]
ASPECT_FORMATS = {
    "说不清比例": RATE_FORMAT,
    **dict.fromkeys(("得分(10分制)", "标准误", "95%区间下限", "95%区间上限"), SCORE_FORMAT),
}


def scored_items(script: Script) -> list[call_scripts.Item]:
    """The rating items that count in the score (weight > 0), in script order."""
    weights = script.scoring.weights
    return [it for it in script.rating_items if weights.get(it.id, 0) > 0]


def _aspects(data: _Data) -> Table:
    items = scored_items(data.script)
    estimates: dict[str, dict[str, np.void]] = {}
    not_applicable: dict[tuple[str, str], int] = defaultdict(int)
    points_of = [call_scripts.aspect_points(data.script, r.answers) for r in data.respondents]
    for item in items:
        y, dom, stra = [], [], []
        for resp, all_points in zip(data.respondents, points_of, strict=True):
            points = all_points[item.id]
            if points is not None:
                y.append(points / 10)
                dom.append(resp.unit)
                stra.append(resp.stratum)
            else:
                option = item.option(resp.answers.get(item.id, ""))
                if option is not None and option.not_applicable:
                    not_applicable[(resp.unit, item.id)] += 1
        if y and data.population:
            table = sampling.domain_means(
                np.array(y, dtype=float), np.array(dom), np.array(stra), data.population
            ).to_records()
            estimates[item.id] = {str(row["domain"]): row for row in table}
    design_units = data.draw.design.get("units", {}) if data.draw else {}
    rows = []
    for unit in data.units:
        for item in items:
            row = estimates.get(item.id, {}).get(unit.code)
            n = int(row["n"]) if row is not None else 0
            na = not_applicable.get((unit.code, item.id), 0)
            base = [
                unit.code,
                unit.name,
                unit.category,
                item.id,
                item.title or item.id,
                float(data.script.scoring.weights[item.id]),
                n,
                na,
                _r(na / (n + na)) if n + na else "",
            ]
            if row is None or n == 0:
                note = "未抽样" if unit.code not in design_units else "尚无有效回答"
                rows.append([*base, "", "", "", "", "", "none", note])
                continue
            method = str(row["method"])
            notes = [results.METHOD_NOTES[method]] if method in results.METHOD_NOTES else []
            if bool(row["collapsed"]):
                notes.append("只有一个受访者的子层已与相邻子层合并计算方差")
            rows.append(
                [
                    *base,
                    _r(row["mean"]),
                    _r(row["se"]),
                    _r(row["ci_low"]),
                    _r(row["ci_high"]),
                    _r(row["df"], 0),
                    method,
                    "；".join(notes),
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
    return _aspects(_load(session, wave))


# --------------------------------------------------------------------------- 3. dispositions


GROUP_LABELS = {
    "I": "完成",
    "P": "部分完成",
    "R": "拒访/中断",
    "NC": "未接触",
    "O": "其他未访",
    "UH": "资格未知(号码)",
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
    draw = latest_draw(session, wave)
    units = list(session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all())
    counts = results.disposition_counts(session, draw) if draw is not None else {}
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
                _r(np.asarray(rates.e)[i]),
                *[_r(np.asarray(getattr(rates, name))[i]) for name in RATE_NAMES],
            ]
        )
    return header, rows


def _dispositions_formats(header: list[str]) -> dict[int, str]:
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


def _design(session: Session, data: _Data) -> Table:
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
            .where(Case.draw_id == data.draw.id, Case.disposition == "1.1")
            .group_by(Case.stratum)
        ).all()
    )
    scored, weights = _weights(data)
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
    return _design(session, _load(session, wave))


def _parameters(data: _Data) -> Table:
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
        ["固定抽样框时间(UTC)", _iso(draw.created_at)],
        ["抽样时间(UTC)", _iso(draw.drawn_at)],
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
    return _parameters(_load(session, wave))


# --------------------------------------------------------------------------- 5. comments

COMMENT_HEADER = [
    "单位代码",
    "单位名称",
    "类别",
    "题目",
    "意见内容（已去除个人信息）",
    "可否转交单位",
]


def comments_table(session: Session, wave: SurveyWave) -> Table:
    """Every open answer of the wave's draw, per unit, redacted; the unit's 整改清单.

    All cases of the draw count (an account of 吃拿卡要 given before a
    break-off is kept). No case, respondent, time or agent is written, and the
    rows are sorted by unit, item and text, so that their order says nothing
    about who called whom when. The last column says whether the unit has
    enough respondents (:data:`SMALL_GROUP`) for its comments to be handed to
    it without pointing at a person, as the unit's own page decides.
    """
    script = script_for_wave(wave)
    draw = latest_draw(session, wave)
    open_items = [it for it in script.items if it.kind == OPEN_KIND]
    if draw is None or not open_items:
        return COMMENT_HEADER, []
    order = {it.id: i for i, it in enumerate(open_items)}
    titles = {it.id: it.title or it.id for it in open_items}
    found = session.exec(
        select(Unit.code, Unit.name, Unit.category, Answer.item_id, Answer.value)
        .join(Case, Case.id == Answer.case_id)
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.draw_id == draw.id, Answer.item_id.in_(list(order)))
    ).all()
    respondents = dict(
        session.exec(
            select(Unit.code, func.count(Case.id))
            .join(Unit, Unit.id == Case.unit_id)
            .where(Case.draw_id == draw.id, Case.disposition.in_(results.RESPONDENT_DISPOSITIONS))
            .group_by(Unit.code)
        ).all()
    )
    rows = []
    for code, name, category, item_id, value in found:
        text = (value or "").strip()
        if not text or text == call_scripts.SKIPPED:
            continue
        handover = (
            "可以"
            if respondents.get(code, 0) >= SMALL_GROUP
            else f"否（受访者少于 {SMALL_GROUP} 人）"
        )
        row = [code, name, category, titles[item_id], redact(text), handover]
        rows.append((code, order[item_id], row))
    rows.sort(key=lambda r: (r[0], r[1], r[2][4]))
    return COMMENT_HEADER, [r[2] for r in rows]


# --------------------------------------------------------------------------- 6. microdata


def _microdata(data: _Data) -> Table:
    items = [it for it in data.script.items if it.kind not in NO_VALUE_KINDS]
    header = [
        "假名编号",
        "单位代码",
        "子层",
        "抽样框规模N_h",
        "有效回答r_h",
        "权数",
        "方差层",
        "有限总体校正(1-r/N)",
        "最终结果代码",
        "得分(10分制)",
        *[f"{it.title}[{it.id}]" if it.title not in ("", it.id) else it.id for it in items],
    ]
    scored, weights = _weights(data)
    position = {r.case_id: i for i, r in enumerate(scored)}
    r_h: dict[str, int] = defaultdict(int)
    for resp in scored:
        r_h[resp.stratum] += 1
    rows = []
    for resp in data.respondents:
        spec = data.strata.get(resp.stratum, {})
        i = position.get(resp.case_id)
        if i is not None and weights is not None:
            weight = float(weights.weight[i])
            group = str(weights.group_label[weights.group[i]])
            fpc = float(weights.fpc[i])
        else:
            weight = group = fpc = ""
        rows.append(
            [
                resp.pseudonym,
                resp.unit,
                resp.stratum,
                spec.get("N", ""),
                r_h.get(resp.stratum, 0),
                weight,
                group,
                fpc,
                resp.disposition,
                "" if resp.score is None else resp.score,
                *[resp.answers.get(it.id, "") for it in items],
            ]
        )
    return header, rows


def microdata_table(session: Session, wave: SurveyWave) -> Table:
    """One row per respondent (1.1, 1.2) for the statisticians' own analysis.

    Keyed by the case's random pseudonym; no phone, name, client or case id,
    and no free-text answer (those are in the comments, unlinked). Weight,
    variance stratum and fpc are the ones behind the estimates (``N'_h / r_h``
    with ``r_h`` the sub-stratum's respondents with a score; after collapsing,
    see :mod:`sampling.weights`); a respondent without a score has none. Item
    values are the stored codes (``na`` = 说不清, ``_skipped`` = skipped).
    Numbers are not rounded.
    """
    return _microdata(_load(session, wave))


# --------------------------------------------------------------------------- 7. provenance


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


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


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


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
            "drawn_at": _iso(draw.drawn_at),
        }
    out["data_time"] = latest if latest is not None else "尚无回答"
    out["generated_at"] = utcnow()
    return out


# --------------------------------------------------------------------------- files

CSV_TABLES: dict[str, Callable[[Session, SurveyWave], Table]] = {
    "estimates": estimates_table,
    "aspects": aspects_table,
    "dispositions": dispositions_table,
    "design": design_table,
    "parameters": parameters_table,
    "comments": comments_table,
}


@dataclass(frozen=True)
class ExportFile:
    """An export's bytes with what the view and the audit log need."""

    name: str
    data: bytes
    rows: int
    filename: str
    mimetype: str


def table(session: Session, wave: SurveyWave, name: str) -> Table:
    """One aggregate table by name (see :data:`CSV_TABLES`).

    :raise NotFound: for an unknown name.
    """
    if name not in CSV_TABLES:
        raise NotFound(f"没有名为 {name} 的导出表")
    return CSV_TABLES[name](session, wave)


def workbook_sheets(session: Session, wave: SurveyWave) -> list[Sheet]:
    """Every aggregate table as a formatted sheet (no microdata)."""
    data = _load(session, wave)
    estimates = estimates_table(session, wave)
    dispositions = dispositions_table(session, wave)
    sheets = [
        Sheet(
            "各单位得分",
            *estimates,
            number_formats=_formats(estimates[0], ESTIMATE_FORMATS),
        ),
        Sheet("分项得分", *_aspects(data), number_formats=_formats(ASPECT_HEADER, ASPECT_FORMATS)),
        Sheet(
            "应答情况",
            *dispositions,
            number_formats=_dispositions_formats(dispositions[0]),
        ),
        Sheet(
            "抽样设计",
            *_design(session, data),
            number_formats=_formats(DESIGN_HEADER, DESIGN_FORMATS),
        ),
        Sheet("抽样参数", *_parameters(data), widths={0: 28, 1: 70}),
        Sheet("意见建议", *comments_table(session, wave), widths={4: 60}),
    ]
    return sheets


def xlsx_export(session: Session, wave: SurveyWave) -> ExportFile:
    sheets = workbook_sheets(session, wave)
    data = build_workbook(sheets, properties=provenance(session, wave))
    return ExportFile(
        name="report_xlsx",
        data=data,
        rows=sum(len(s.rows) for s in sheets),
        filename=f"满意度报告-{wave.name}.xlsx",
        mimetype=XLSX_MIMETYPE,
    )


def csv_export(session: Session, wave: SurveyWave, name: str) -> ExportFile:
    """:raise NotFound: for an unknown table name."""
    header, rows = table(session, wave, name)
    return ExportFile(
        name=f"{name}_csv",
        data=reports.csv_bytes(header, rows),
        rows=len(rows),
        filename=f"{name}-{wave.name}.csv",
        mimetype=CSV_MIMETYPE,
    )


def microdata_export(session: Session, wave: SurveyWave) -> ExportFile:
    header, rows = microdata_table(session, wave)
    return ExportFile(
        name="microdata_csv",
        data=reports.csv_bytes(header, rows),
        rows=len(rows),
        filename=f"microdata-{wave.name}.csv",
        mimetype=CSV_MIMETYPE,
    )


def build_xlsx(session: Session, wave: SurveyWave) -> bytes:
    """The workbook of every aggregate table with the provenance sheet "说明"."""
    return xlsx_export(session, wave).data


def build_csv(session: Session, wave: SurveyWave, table_name: str) -> bytes:
    """One aggregate table as CSV (UTF-8 with BOM, formula-like text made inert)."""
    return csv_export(session, wave, table_name).data


def build_microdata_csv(session: Session, wave: SurveyWave) -> bytes:
    """The respondent-level microdata as CSV (statisticians only)."""
    return microdata_export(session, wave).data
