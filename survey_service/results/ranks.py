"""Ranks: who takes part in the rank probabilities, what they assume, who is short and why.

Every unit with an estimate is ranked (issue 16: a small list or a low response must not
keep a unit out of 十差 unnoticed); a unit below the design's minimum of valid answers is
flagged with the reasons of :func:`minimum_reasons`.
"""

from __future__ import annotations

import math

import numpy as np

import sampling

RANK_K = 10
RANK_SEED = 20170601  # fixed: the rank probabilities are reproducible
#: What the rank probabilities assume (the results page and the workbook's 说明 say it).
RANK_ASSUMPTION = (
    "后/前十名概率：所有有得分的单位（含有效回答少于最低要求、已标注的单位）一起排名；"
    "各单位估计值视为相互独立，以得分为中心、以标准误为尺度服从 t 分布（自由度 n−H），"
    f"模拟 10000 次（种子 {RANK_SEED}）；回答完全相同的单位取其区间所依据的最近非退化样本的"
    "标准误，普查单位视为无抽样误差；概率只反映抽样误差，不含未应答偏差和测量误差。"
)
#: Why a unit is below the design's minimum of valid answers.
BELOW_MINIMUM_REASONS = {
    "list_too_small": "名单过小：整份名单已全部发放拨打",
    "still_in_field": "仍在访问中：已发放样本尚未全部结束",
    "response_too_low": "应答过低：已发放样本均已结束",
}


def minimum_reasons(frame_size: int, released: int, open_cases: int) -> tuple[str, ...]:
    """Why a unit has fewer valid answers than the minimum (keys of BELOW_MINIMUM_REASONS).

    The whole list released: the list is too small; released cases not yet final: still in
    the field; neither: response too low (every released case is final).
    """
    reasons = []
    if frame_size and released >= frame_size:
        reasons.append("list_too_small")
    if open_cases > 0:
        reasons.append("still_in_field")
    elif not reasons:
        reasons.append("response_too_low")
    return tuple(reasons)


def rank_units(estimates: dict[str, dict]) -> dict[str, tuple[float, float]]:
    """Bottom/top-10 probabilities among every unit with an estimate (see RANK_ASSUMPTION).

    Units below the design's minimum take part (they are flagged, not hidden). The spread is
    :func:`sampling.domain_means`' ``rank_se``: the SE for Taylor rows, 0 for a census,
    and for zero-variance rows the SE of the nearest sample behind the (monotone) bound.
    A unit without a positive df (one respondent) is drawn from the normal.
    """
    pool = [
        (code, row)
        for code, row in estimates.items()
        if int(row["n"]) > 0 and not math.isnan(float(row["mean"]))
    ]
    if len(pool) < 2:
        return {}
    mean = np.array([float(row["mean"]) for _, row in pool])
    se = np.array([float(row["rank_se"]) for _, row in pool])
    unknown = ~np.isfinite(se)
    if unknown.any():  # the interval's half-width over 1.96, as the interval was built
        high = np.array([float(row["ci_high"]) for _, row in pool])
        low = np.array([float(row["ci_low"]) for _, row in pool])
        se[unknown] = (high[unknown] - low[unknown]) / (2 * 1.96)
    df = np.array([float(row["df"]) for _, row in pool])
    df = np.where(np.isfinite(df) & (df > 0), df, np.inf)
    k = min(RANK_K, len(pool) - 1)
    odds = sampling.rank_probabilities(
        mean, se, df=df, k=(k,), n_sim=10000, seed=RANK_SEED, mean_rank=False
    )
    return {
        code: (float(odds.bottom[i, 0]), float(odds.top[i, 0])) for i, (code, _) in enumerate(pool)
    }
