"""The results table (CSV/XLSX) of :func:`results.estimates.unit_results`, and its columns."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from survey_service.results.ranks import BELOW_MINIMUM_REASONS

if TYPE_CHECKING:
    from survey_service.results.estimates import UnitResult


RESULT_HEADER = [
    "单位代码",
    "单位名称",
    "类别",
    "抽样框规模",
    "目标完成数",
    "已发放样本",
    "完成访问",
    "有效回答",
    "得分(10分制)",
    "标准误",
    "95%区间下限",
    "95%区间上限",
    "设计效应",
    "满意率",
    "满意率95%下限",
    "满意率95%上限",
    "满意率有效回答",
    "说不清比例",
    "应答率RR3",
    "应答率RR4(含部分完成)",
    "从未拨打的已发放样本",
    "各类服务对象应答(有效/样本)",
    "R指标",
    "未应答界限下限",
    "未应答界限上限",
    "未应答加权比例",
    "合作率COOP1",
    "拒访率REF1",
    "接触率CON1",
    "后十名概率",
    "前十名概率",
    "自由度(区间所用)",
    "自由度n-H",
    "Satterthwaite有效自由度",
    "有效自由度明显偏小",
    "区间方法",
    "低于最低有效回答",
    "低于最低要求的原因",
    "未结束样本",
    "方法",
    "说明",
]

INTERVAL_METHODS = {
    "taylor": "泰勒线性化 t 区间",
    "census": "普查（无抽样误差）",
    "zero-variance-bound": "零方差单调界限（最近非退化样本）",
    "no-respondents": "无",
    "none": "无",
}


def interval_method(u: UnitResult) -> str:
    """The interval's method and the df it used, in words (the exports' 区间方法)."""
    text = INTERVAL_METHODS.get(u.method, u.method)
    if u.method == "taylor":
        text += "，自由度 n−H" if u.df_method == "n-h" else "，自由度 Satterthwaite"
    return text


def results_table(rows: list[UnitResult]) -> tuple[list[str], list[list]]:
    """The CSV/XLSX table of :func:`unit_results` (numbers rounded to 4 places)."""

    def r(value: float):
        return "" if value is None or math.isnan(value) else round(value, 4)

    return RESULT_HEADER, [
        [
            u.code,
            u.name,
            u.category,
            u.frame_size,
            u.target,
            u.released,
            u.completes,
            u.n,
            r(u.mean),
            r(u.se),
            r(u.ci_low),
            r(u.ci_high),
            r(u.deff),
            r(u.satisfied),
            r(u.satisfied_low),
            r(u.satisfied_high),
            u.satisfied_n,
            r(u.dont_know),
            r(u.rr3),
            r(u.rr4),
            u.not_dialled,
            u.response_by_kind,
            r(u.r_indicator),
            r(u.bound_low),
            r(u.bound_high),
            r(u.nonresponse_share),
            r(u.coop1),
            r(u.ref1),
            r(u.con1),
            r(u.bottom),
            r(u.top),
            r(u.df),
            r(u.df_design),
            r(u.df_satterthwaite),
            "是" if u.df_flag else "",
            interval_method(u),
            "是" if u.below_minimum else "",
            "；".join(BELOW_MINIMUM_REASONS.get(k, k) for k in u.minimum_reasons),
            u.open_cases,
            u.method,
            u.note,
        ]
        for u in rows
    ]
