"""The ranking's cuts tested, and an empirical-Bayes view of the ranks (issue 16).

Both read the computed unit rows (:class:`results.estimates.UnitResult`, live or frozen),
over the same units as the rank probabilities (:func:`results.ranks.rank_units`: every
unit with an estimate) and with the same spread (``rank_se``; for a row without one, the
interval's half-width over 1.96) and the df actually used for the unit's interval:

- :func:`cut_tests`: the two-sided Welch t test of the difference between the 10th and
  the 11th unit from the bottom and from the top (:func:`sampling.boundary_tests`), and of
  every unit against its category's median (:func:`sampling.median_tests`);
- :func:`shrinkage_view`: Fay-Herriot / James-Stein shrinkage of each unit's mean towards
  the common mean with the between-unit variance by the method of moments
  (:func:`sampling.shrink_means`) and the ranks it gives, beside the raw ranks.

What they assume is in :data:`CUT_ASSUMPTION` and :data:`SHRINKAGE_NOTE`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import sampling
from survey_service.results.ranks import RANK_K

CUT_ASSUMPTION = (
    f"分界检验：把得分由低到高排列，检验第 {RANK_K} 名与第 {RANK_K + 1} 名（自两端各计）之差，"
    "以及每个单位与本类别单位得分中位数之差；双侧 t 检验，两单位之差的方差为两者标准误平方之和"
    "（各单位样本相互独立），自由度按 Welch–Satterthwaite 由两单位各自区间所用的自由度合成；"
    "与中位数比较时把中位数视为固定值，只用本单位的标准误和自由度。"
    "p 值大表示数据无法区分分界两侧的单位。"
    "回答完全相同的单位用其区间所依据的最近非退化样本的标准误，"
    "普查单位视为无抽样误差。只反映抽样误差。"
)
SHRINKAGE_NOTE = (
    "经验贝叶斯视图（仅供参考，不是公布的得分）：假定各单位真实得分来自同一正态分布"
    "（共同均值、单位间方差），各单位得分为真实得分加抽样误差（方差为标准误平方，视为已知）；"
    "单位间方差用 Fay–Herriot 矩估计，每个单位的得分按其抽样误差所占比例 B 向共同均值收缩"
    "（等标准误时即 James–Stein 估计）。样本少、误差大的单位收缩多，因而不会因几个回答显得更极端；"
    "未使用任何协变量，也不区分类别。"
)


@dataclass(frozen=True)
class CutTest:
    side: str  # "bottom" or "top"
    inside: str  # unit code just inside the list (the 10th)
    outside: str  # unit code just outside (the 11th)
    inside_mean: float
    outside_mean: float
    difference: float
    se: float
    df: float
    t: float
    p_value: float


@dataclass(frozen=True)
class RankRow:
    """One unit in the rank view: raw rank, test against the median, shrunken mean and rank."""

    code: str
    name: str
    category: str
    mean: float
    se: float  # the spread used (rank_se)
    df: float  # the df used (inf: normal)
    raw_rank: float  # 1 = lowest; ties share the mid-rank
    median: float  # the category's median score
    median_t: float
    median_p: float
    shrunk_mean: float
    shrunk_sd: float
    shrinkage: float  # B: 0 = kept, 1 = moved all the way to the common mean
    shrunk_rank: float


@dataclass(frozen=True)
class RankView:
    cuts: tuple[CutTest, ...]  # empty with fewer than RANK_K + 1 units
    rows: tuple[RankRow, ...]  # by raw rank
    common_mean: float
    between_variance: float


def _pool(rows) -> list:
    return [r for r in rows if r.n > 0 and not math.isnan(r.mean)]


def _inputs(pool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = np.array([r.mean for r in pool], dtype=float)
    se = np.array([r.rank_se for r in pool], dtype=float)
    for i, r in enumerate(pool):
        if not np.isfinite(se[i]):
            se[i] = (r.ci_high - r.ci_low) / (2 * 1.96)
    df = np.array([r.df for r in pool], dtype=float)
    df = np.where(np.isfinite(df) & (df > 0), df, np.inf)
    return mean, se, df


def cut_tests(rows, k: int = RANK_K) -> tuple[CutTest, ...]:
    """The bottom and top cut tests among the ranked units; empty with k + 1 units or fewer."""
    pool = _pool(rows)
    mean, se, df = _inputs(pool)
    if int(np.sum(np.isfinite(mean) & np.isfinite(se))) < k + 1:
        return ()
    out = []
    for test in sampling.boundary_tests(mean, se, df, k=k):
        out.append(
            CutTest(
                side=test.side,
                inside=pool[test.inside].code,
                outside=pool[test.outside].code,
                inside_mean=float(mean[test.inside]),
                outside_mean=float(mean[test.outside]),
                difference=test.difference,
                se=test.se,
                df=test.df,
                t=test.t,
                p_value=test.p_value,
            )
        )
    return tuple(out)


def rank_view(rows, k: int = RANK_K) -> RankView | None:
    """Cut tests, median tests and the shrinkage view; None with fewer than two ranked units."""
    pool = _pool(rows)
    mean, se, df = _inputs(pool)
    if int(np.sum(se > 0)) < 2:
        return None
    med = sampling.median_tests(mean, se, df, [r.category for r in pool])
    eb = sampling.shrink_means(mean, se)
    ranked = [
        RankRow(
            code=r.code,
            name=r.name,
            category=r.category,
            mean=float(mean[i]),
            se=float(se[i]),
            df=float(df[i]),
            raw_rank=float(eb.raw_rank[i]),
            median=float(med.median[i]),
            median_t=float(med.t[i]),
            median_p=float(med.p_value[i]),
            shrunk_mean=float(eb.mean[i]),
            shrunk_sd=float(eb.sd[i]),
            shrinkage=float(eb.shrinkage[i]),
            shrunk_rank=float(eb.rank[i]),
        )
        for i, r in enumerate(pool)
    ]
    ranked.sort(key=lambda row: (row.raw_rank, row.code))
    return RankView(
        cuts=cut_tests(rows, k),
        rows=tuple(ranked),
        common_mean=eb.common_mean,
        between_variance=eb.between_variance,
    )
