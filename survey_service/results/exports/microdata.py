"""The respondent-level microdata: one row per respondent keyed by the case pseudonym."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session

from survey_service.models import SurveyWave
from survey_service.results.exports.comments import OPEN_KIND
from survey_service.results.exports.common import Table
from survey_service.results.respondents import WaveData, load_wave

NO_VALUE_KINDS = ("statement", OPEN_KIND)  # not in the microdata (no value, or free text)


def microdata(data: WaveData) -> Table:
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
    scored, weights = data.scored, data.weights()
    position = {r.case_id: i for i, r in enumerate(scored)}
    r_h: dict[str, int] = defaultdict(int)
    for resp in scored:
        r_h[resp.stratum] += 1
    rows = []
    for resp in sorted(data.respondents, key=lambda r: (r.unit, r.pseudonym)):
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
    Numbers are not rounded; rows by unit code, then pseudonym.
    """
    return microdata(load_wave(session, wave))
