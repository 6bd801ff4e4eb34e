"""The office's downloads: the ranking with every part, the funnel with its decisions,
a sheet per unit, and the chart of the totals.

Tables are plain header + rows; the workbook goes through the results stage's
workbook helper (with the provenance sheet 说明) and CSV through its CSV
writer, so formula-like text is made inert the same way.
"""

from __future__ import annotations

from sqlmodel import Session

from survey_service.errors import NotFound
from survey_service.evaluation import chart, funnel, parts
from survey_service.evaluation.ranking import Ranking, composite
from survey_service.evaluation.settings import PART_LABELS, PARTS, SATISFACTION
from survey_service.models import SurveyWave
from survey_service.models.evaluation import PROBLEM_STATUS_LABELS, VETO_LABELS
from survey_service.results.exports import ExportFile, provenance
from survey_service.results.render.csvfile import csv_bytes
from survey_service.results.render.workbook import Sheet, build_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
Table = tuple[list[str], list[list]]


def _r(value, places: int = 2):
    return "" if value is None else round(value, places)


def ranking_table(ranking: Ranking) -> Table:
    header = ["组别", "名次", "单位代码", "单位名称", "类别"]
    for part in PARTS:
        weight = ranking.settings.weights[part]
        header += [f"{PART_LABELS[part]}得分", f"{PART_LABELS[part]}折算({weight:g}分)"]
    header += [
        "满意度区间下限(折算)",
        "满意度区间上限(折算)",
        "满意度有效回答",
        "综合得分",
        "一票否决",
        "名次取决于满意度",
        "说明",
    ]
    rows = []
    for row in ranking.all():
        cells = [row.group, row.rank or "", row.code, row.name, row.category]
        for part in PARTS:
            cells += [_r(row.scores[part]), _r(row.points[part], 4)]
        veto = ""
        if row.veto is not None:
            veto = f"{VETO_LABELS[row.veto.reason]}（{row.veto.document}）"
        cells += [
            _r(row.sat_low, 4),
            _r(row.sat_high, 4),
            row.sat_n,
            _r(row.total, 4),
            veto,
            "是" if row.decided_by_satisfaction else "",
            "；".join(row.notes),
        ]
        rows.append(cells)
    return header, rows


FUNNEL_HEADER = [
    "轮次",
    "名单规模",
    "决定机构",
    "决定日期",
    "会议文件",
    "组别",
    "名单",
    "位次",
    "单位代码",
    "单位名称",
    "综合得分",
    "名次",
    "一票否决",
    "名次取决于满意度",
]
CHANGE_HEADER = ["轮次", "决定机构", "名单", "调整", "单位代码", "单位名称", "理由"]


def funnel_tables(session: Session, wave: SurveyWave, ranking: Ranking) -> tuple[Table, Table]:
    rows, changes = [], []
    for step in funnel.steps(session, wave):
        for kind, lists in ((funnel.BEST, step.best), (funnel.WORST, step.worst)):
            for group, codes in lists.items():
                for place, code in enumerate(codes, start=1):
                    unit = ranking.unit(code)
                    rows.append(
                        [
                            step.step,
                            step.size,
                            step.body,
                            step.decided_on.isoformat(),
                            step.document,
                            group,
                            funnel.LIST_LABELS[kind],
                            place,
                            code,
                            unit.name if unit else "",
                            _r(unit.total if unit else None, 4),
                            unit.rank if unit else "",
                            "是" if unit is not None and unit.veto is not None else "",
                            "是" if unit is not None and unit.decided_by_satisfaction else "",
                        ]
                    )
        for change in step.changes:
            unit = ranking.unit(change["unit"])
            changes.append(
                [
                    step.step,
                    step.body,
                    funnel.LIST_LABELS[change["list"]],
                    funnel.ACTIONS[change["action"]],
                    change["unit"],
                    unit.name if unit else "",
                    change["reason"],
                ]
            )
    return (FUNNEL_HEADER, rows), (CHANGE_HEADER, changes)


def veto_table(session: Session, wave: SurveyWave, ranking: Ranking) -> Table:
    header = ["单位代码", "单位名称", "事由", "情况", "依据文件", "综合得分", "名次"]
    rows = []
    for veto in funnel.vetoes(session, wave):
        unit = ranking.unit(veto.unit_code)
        rows.append(
            [
                veto.unit_code,
                unit.name if unit else "",
                VETO_LABELS[veto.reason],
                veto.detail,
                veto.document,
                _r(unit.total if unit else None, 4),
                unit.rank if unit else "",
            ]
        )
    return header, rows


def _properties(session: Session, wave: SurveyWave, ranking: Ranking) -> dict:
    out = provenance(session, wave)
    out["title"] = f"{wave.name} 十佳十差综合评议"
    out["subject"] = "各单位四项得分、综合得分、排名与三轮筛选决定"
    out["description"] = (
        "综合得分 = 各分项得分 ÷ 该项满分 × 权重之和（100分）；社会满意度为已发布的10分制得分。"
    )
    out["weights"] = "，".join(f"{PART_LABELS[p]} {ranking.settings.weights[p]:g}" for p in PARTS)
    out["part_versions"] = "；".join(
        f"{PART_LABELS[p]} 第{imp.version}版（{imp.source}，{imp.file_name}，sha256:{imp.sha256}）"
        for p, imp in sorted(parts.latest_imports(session, wave).items())
    )
    return out


def evaluation_xlsx(session: Session, wave: SurveyWave) -> ExportFile:
    """The ranking, the funnel, its changes and the vetoes in one workbook."""
    ranking = composite(session, wave)
    steps, changes = funnel_tables(session, wave, ranking)
    sheets = [
        Sheet("综合排名", *ranking_table(ranking)),
        Sheet("三轮筛选", *steps),
        Sheet("筛选调整", *changes, widths={6: 50}),
        Sheet("一票否决", *veto_table(session, wave, ranking)),
    ]
    return ExportFile(
        name="evaluation_xlsx",
        data=build_workbook(sheets, properties=_properties(session, wave, ranking)),
        rows=sum(len(s.rows) for s in sheets),
        filename=f"十佳十差综合评议-{wave.name}.xlsx",
        mimetype=XLSX,
    )


def ranking_csv(session: Session, wave: SurveyWave) -> ExportFile:
    header, rows = ranking_table(composite(session, wave))
    return ExportFile(
        "evaluation_ranking_csv",
        csv_bytes(header, rows),
        len(rows),
        f"综合排名-{wave.name}.csv",
        CSV,
    )


def funnel_csv(session: Session, wave: SurveyWave) -> ExportFile:
    (header, rows), _changes = funnel_tables(session, wave, composite(session, wave))
    return ExportFile(
        "evaluation_funnel_csv",
        csv_bytes(header, rows),
        len(rows),
        f"三轮筛选-{wave.name}.csv",
        CSV,
    )


def unit_sheet(session: Session, wave: SurveyWave, code: str, problems=()) -> Table:
    """One unit's evaluation as label/value rows: parts with sources, total, steps, veto."""
    ranking = composite(session, wave)
    row = ranking.unit(code)
    if row is None:
        raise NotFound(f"未知的单位代码 {code}")
    latest = parts.latest_imports(session, wave)
    out: list[list] = [["单位", f"{row.name}（{row.code}，{row.category}）"]]
    for part in PARTS:
        imp = latest.get(part)
        source = (
            "已发布的社会满意度得分"
            if part == SATISFACTION
            else (f"{imp.source}，第{imp.version}版" if imp else "尚未导入")
        )
        out.append(
            [
                PART_LABELS[part],
                f"{_r(row.scores[part])}（折算 {_r(row.points[part], 4)}；{source}）",
            ]
        )
    out.append(["综合得分", _r(row.total, 4)])
    out.append(["名次", f"{row.group}第 {row.rank} 名" if row.rank else "未排名"])
    for step in funnel.steps(session, wave):
        where = "未列入"
        for kind, lists in ((funnel.BEST, step.best), (funnel.WORST, step.worst)):
            if code in lists.get(row.group, []):
                where = funnel.LIST_LABELS[kind]
        out.append([f"第{step.step}轮（{step.body} {step.decided_on.isoformat()}）", where])
    if row.veto is not None:
        out.append(
            [
                "一票否决",
                f"{VETO_LABELS[row.veto.reason]}：{row.veto.detail}（{row.veto.document}）",
            ]
        )
    for note in row.notes:
        out.append(["说明", note])
    for problem in problems:
        out.append(
            [
                f"整改问题 {problem.seq}",
                f"[{problem.aspect}] {problem.summary}（{PROBLEM_STATUS_LABELS[problem.status]}，"
                f"期限 {problem.deadline.isoformat()}）",
            ]
        )
    return ["项目", "内容"], out


def unit_xlsx(session: Session, wave: SurveyWave, code: str, problems=()) -> ExportFile:
    header, rows = unit_sheet(session, wave, code, problems)
    sheet = Sheet(f"单位{code}", header, rows, widths={0: 28, 1: 80})
    ranking = composite(session, wave)
    return ExportFile(
        name="evaluation_unit_xlsx",
        data=build_workbook([sheet], properties=_properties(session, wave, ranking)),
        rows=len(rows),
        filename=f"综合评议-{code}-{wave.name}.xlsx",
        mimetype=XLSX,
    )


def unit_csv(session: Session, wave: SurveyWave, code: str, problems=()) -> ExportFile:
    header, rows = unit_sheet(session, wave, code, problems)
    return ExportFile(
        "evaluation_unit_csv",
        csv_bytes(header, rows),
        len(rows),
        f"综合评议-{code}-{wave.name}.csv",
        CSV,
    )


def totals_chart(session: Session, wave: SurveyWave) -> str:
    ranking = composite(session, wave)
    done = funnel.steps(session, wave)
    marks: dict[str, str] = {}
    if done:
        for kind, lists in ((funnel.BEST, done[-1].best), (funnel.WORST, done[-1].worst)):
            for codes in lists.values():
                marks.update({c: kind for c in codes})
    rows = [
        chart.TotalRow(
            label=r.name,
            points=[r.points[p] for p in PARTS],
            total=r.total,
            range_low=r.range_low,
            range_high=r.range_high,
            mark=marks.get(r.code, ""),
        )
        for r in ranking.all()
        if r.total is not None
    ]
    return chart.totals_svg(
        rows, part_labels=[PART_LABELS[p] for p in PARTS], title=f"{wave.name} 综合得分"
    )
