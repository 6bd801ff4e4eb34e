"""The statisticians' exports: tables, workbook, CSV, redaction, microdata round trip."""

from __future__ import annotations

import csv
import io
import math
import subprocess
import warnings

import numpy as np
import openpyxl
import pytest
from sqlmodel import select

import sampling
from survey_service.calls import attempts as calling
from survey_service.calls import interviews
from survey_service.db import transaction
from survey_service.errors import NotFound
from survey_service.models import Case, CaseStatus, SampleDraw, Unit
from survey_service.privacy.redact import redact
from survey_service.results import estimates as results
from survey_service.results import exports
from survey_service.results.exports import comments as exported_comments
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave

with warnings.catch_warnings():  # samplics warns at import that it is archived
    warnings.simplefilter("ignore")
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"]
POINTS = [10.0, 8.0, 6.0, 3.0, 0.0]  # the levels on the 10-point scale
FORMULA = '=HYPERLINK("http://example.com/x","点我")'
PHONE_COMMENT = "请联系张先生 13812345678，身份证42011419800101123X"

# unit -> sub-stratum kind -> (list size, answers of the released cases in stratum order);
# an answer is (service_quality, overall, comment) with a level index or "na", None = refusal.
PLAN: dict[str, dict[str, tuple[int, list]]] = {
    "A": {
        "群众": (
            12,
            [(0, 0, FORMULA), (1, 0, None), (1, 1, "@SUM(A1:A3)"), (2, 1, "窗口太少"), None],
        ),
        "企业": (8, [(0, 1, PHONE_COMMENT), (3, 2, None), (1, "na", None)]),
    },
    "B": {
        "群众": (
            20,
            [(2, 2, "态度一般"), (3, 2), (2, 3), (1, 2), ("na", "na"), (4, 3), (2, 1), None],
        ),
    },
    "C": {"群众": (6, [(0, 0), (0, 1), (1, 1), (0, 0), (1, 0), (0, 0)])},  # a census
    "D": {  # one respondent among 企业: collapsed with 群众 for variance
        "群众": (10, [(1, 1), (2, 1), (1, 2), (3, 3)]),
        "企业": (10, [(0, 0), None, None, None]),
    },
}
PER_UNIT = 8
SEED = 20170601


def _content(unit_index: int, kinds: dict[str, tuple[int, list]]) -> bytes:
    lines = ["姓名,联系电话,办理事项,办理时间,类型"]
    row = 0
    for kind_index, (kind, (size, _answers)) in enumerate(kinds.items()):
        for i in range(size):
            row += 1
            phone = 13800000000 + unit_index * 10000 + kind_index * 1000 + i * 7
            lines.append(f"客户{row},{phone},户籍办理,2017-03-{(i % 28) + 1:02d},{kind}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _level(value) -> str:
    return "na" if value == "na" else LEVELS[value]


def _interview(session, agent, case: Case, answer) -> None:
    case.status = CaseStatus.IN_PROGRESS
    case.claimed_by = agent.id
    session.add(case)
    session.flush()
    attempt = calling.start_attempt(session, case, agent=agent)
    if answer is None:
        calling.record_outcome(session, case, attempt, "2.11", actor=agent)
        return
    comment = answer[2] if len(answer) > 2 and answer[2] else "_skipped"
    for item_id, value in (
        ("screening", "dealt"),
        ("service_quality", _level(answer[0])),
        ("overall", _level(answer[1])),
        ("comment", comment),
    ):
        interviews.answer(session, case, attempt, item_id, value, actor=agent)


def build_wave(session):
    """Four units, sub-strata by kind, answers per PLAN, all through the real services."""
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        agent = make_user(session, username="exports_agent", role="agent")
        wave = make_wave(session)
        for i, (code, kinds) in enumerate(PLAN.items()):
            unit = make_unit(session, code=code, name=f"单位{code}")
            make_list(session, unit=unit, wave=wave, content=_content(i, kinds), actor=reviewer)
        draws.draw_sample(session=session, wave=wave, seed=SEED, per_unit=PER_UNIT, actor=None)
        for code, kinds in PLAN.items():
            unit = session.exec(select(Unit).where(Unit.code == code)).one()
            for kind, (_size, answers) in kinds.items():
                cases = session.exec(
                    select(Case)
                    .where(Case.unit_id == unit.id, Case.stratum == f"{code}/{kind}")
                    .order_by(Case.order_rank)
                ).all()
                assert len(cases) == len(answers), (code, kind, len(cases))
                for case, answer in zip(cases, answers, strict=True):
                    _interview(session, agent, case, answer)
    return wave


@pytest.fixture
def wave(session):
    return build_wave(session)


def parse_csv(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    assert data.startswith("\ufeff".encode())
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


# --------------------------------------------------------------------------- workbook


def test_workbook_sheets_numbers_and_provenance(session, wave):
    """Does the workbook open, name its sheets, carry the results' numbers and its provenance?"""
    book = openpyxl.load_workbook(io.BytesIO(exports.build_xlsx(session, wave)))
    assert book.sheetnames == [
        "各单位得分",
        "分项得分",
        "应答情况",
        "抽样设计",
        "抽样参数",
        "意见建议",
        "低于最低要求的单位",
        "异常信号",
        "排名分界检验",
        "排名视图",
        "说明",
    ]
    sheet = book["各单位得分"]
    header = [c.value for c in sheet[1]]
    assert header == results.RESULT_HEADER
    by_code = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    live = results.unit_results(session, wave)
    assert sorted(by_code) == [u.code for u in live] == ["A", "B", "C", "D"]
    col = {name: header.index(name) for name in header}
    for unit in live:
        row = by_code[unit.code]
        assert row[col["得分(10分制)"]].value == round(unit.mean, 4)
        assert row[col["标准误"]].value == round(unit.se, 4)
        assert row[col["95%区间下限"]].value == round(unit.ci_low, 4)
        assert row[col["95%区间上限"]].value == round(unit.ci_high, 4)
        assert row[col["有效回答"]].value == unit.n
        assert row[col["应答率RR3"]].value == round(unit.rr3, 4)
        assert row[col["得分(10分制)"]].number_format == "0.00"
        assert row[col["应答率RR3"]].number_format == "0.0%"
    about = {row[0].value: row[1].value for row in book["说明"].iter_rows(min_row=2)}
    draw = session.exec(select(SampleDraw)).one()
    assert f"seed={SEED}" in about["抽样"] and draw.frame_hash in about["抽样"]
    assert about["问卷版本"].startswith("short_demo@1 sha256:")
    assert about["程序版本"] and about["数据时间"] and about["生成时间"]
    assert about["排名概率的假定"] == results.RANK_ASSUMPTION
    assert "相互独立" in about["排名概率的假定"] and "t 分布" in about["排名概率的假定"]
    # every unit is ranked; units below the minimum are listed with why (C: its whole list)
    assert all(isinstance(row[header.index("后十名概率")].value, float) for row in by_code.values())
    short = [[c.value for c in row] for row in book["低于最低要求的单位"].iter_rows(min_row=2)]
    assert [(r[0], r[5], r[6], r[7], r[14]) for r in short] == [
        ("B", 8, 0, 6, "应答过低：已发放样本均已结束"),
        ("A", 8, 0, 7, "应答过低：已发放样本均已结束"),
        ("D", 8, 0, 5, "应答过低：已发放样本均已结束"),
        ("C", 6, 0, 6, "名单过小：整份名单已全部发放拨打"),
    ]
    params = {row[0].value: row[1].value for row in book["抽样参数"].iter_rows(min_row=2)}
    assert params["随机种子"] == str(SEED) and params["抽样框哈希 SHA-256"] == draw.frame_hash
    assert params["每单位固定样本量 (per_unit)"] == PER_UNIT
    design = book["抽样设计"]
    col = [c.value for c in design[1]].index("入样概率(已发放/N_h)")
    assert design.cell(row=2, column=col + 1).number_format == "0.00%"
    aspects = book["分项得分"]
    col = [c.value for c in aspects[1]].index("得分(10分制)")
    assert aspects.cell(row=2, column=col + 1).number_format == "0.00"
    # the comments went in redacted and inert
    comments = [row[4].value for row in book["意见建议"].iter_rows(min_row=2)]
    assert "'" + FORMULA in comments and "某先生" in "".join(comments)
    assert "13812345678" not in "".join(comments)


def test_aspects_are_weighted_means_of_points(session, wave):
    """Are the per-item scores the stratified means of points / 10, 说不清 left out?"""
    header, rows = exports.aspects_table(session, wave)
    table = {(r[0], r[3]): dict(zip(header, r, strict=True)) for r in rows}
    assert {item for _, item in table} == {"service_quality", "overall"}
    # B: one sub-stratum, N = 20: the plain mean and the SRS standard error with fpc
    sq = [POINTS[a[0]] for a in PLAN["B"]["群众"][1] if a and a[0] != "na"]
    row = table[("B", "service_quality")]
    assert row["有效回答"] == len(sq) and row["说不清/不了解"] == 1
    assert row["得分(10分制)"] == round(float(np.mean(sq)), 4)
    se = math.sqrt((1 - len(sq) / 20) * np.var(sq, ddof=1) / len(sq))
    assert row["标准误"] == round(se, 4)
    assert row["说不清比例"] == round(1 / 7, 4)
    # A: two sub-strata, weights N_h / r_h; 企业 has a 说不清 on overall
    crowd = [POINTS[a[1]] for a in PLAN["A"]["群众"][1] if a]
    firms = [POINTS[a[1]] for a in PLAN["A"]["企业"][1] if a and a[1] != "na"]
    expected = (12 * np.mean(crowd) + 8 * np.mean(firms)) / 20
    assert table[("A", "overall")]["得分(10分制)"] == round(float(expected), 4)
    assert table[("A", "overall")]["有效回答"] == len(crowd) + len(firms)
    # the same figures as sampling.domain_means on the item alone
    assert table[("C", "overall")]["方法"] == "census"
    assert table[("C", "overall")]["标准误"] == 0.0


def test_dispositions_and_rates(session, wave):
    """Do the counts per AAPOR code and the rates equal sampling's, with a right total row?"""
    header, rows = exports.dispositions_table(session, wave)
    table = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert list(table) == ["A", "B", "C", "D", "合计"]
    for code, kinds in PLAN.items():
        answers = [a for _, (_, plan) in kinds.items() for a in plan]
        completes, refusals = sum(a is not None for a in answers), answers.count(None)
        row = table[code]
        assert row["1.1 完成访问"] == completes and row["2.11 拒访"] == refusals
        assert row["已发放样本"] == len(answers)
        expected = sampling.aapor_rates({"1.1": completes, "2.11": refusals})
        for name in exports.RATE_NAMES:
            assert row[name.upper()] == round(float(getattr(expected, name)), 4), (code, name)
    total = table["合计"]
    assert total["1.1 完成访问"] == sum(table[c]["1.1 完成访问"] for c in PLAN)
    assert total["RR3"] == round(total["1.1 完成访问"] / total["已发放样本"], 4)
    assert total["I 完成"] == total["1.1 完成访问"] and total["NE 不合格"] == 0


def test_design_table(session, wave):
    """Does each sub-stratum show N_h, n_h, releases, selection probability, r_h and weight?"""
    header, rows = exports.design_table(session, wave)
    table = {r[2]: dict(zip(header, r, strict=True)) for r in rows}
    assert list(table) == ["A/企业", "A/群众", "B/群众", "C/群众", "D/企业", "D/群众"]
    firms = table["A/企业"]
    assert (firms["抽样框规模N_h"], firms["计划样本量n_h"], firms["已发放样本"]) == (8, 3, 3)
    assert firms["入样概率(已发放/N_h)"] == 3 / 8
    assert firms["有效回答r_h"] == 3 and firms["权数N_h/r_h"] == 8 / 3
    census = table["C/群众"]
    assert census["入样概率(已发放/N_h)"] == 1.0 and census["权数N_h/r_h"] == 1.0
    assert table["B/群众"]["有效回答r_h"] == 6  # a complete with only 说不清 has no score
    lone = table["D/企业"]
    assert lone["有效回答r_h"] == 1 and lone["权数N_h/r_h"] == 10.0
    assert lone["方差层"] == table["D/群众"]["方差层"] == "D/企业+D/群众"
    assert "合并" in lone["说明"]


def test_comments_csv_is_inert_redacted_and_anonymous(session, wave):
    """Do comments come out with BOM and header, formulas inert, details removed, no ids?"""
    data = exports.build_csv(session, wave, "comments")
    header, rows = parse_csv(data)
    assert header == exports.COMMENT_HEADER
    texts = [r["意见内容（已去除个人信息）"] for r in rows]
    assert "'" + FORMULA in texts and "'@SUM(A1:A3)" in texts
    assert "请联系某先生 [号码]，身份证[证件号]" in texts
    assert [r["单位代码"] for r in rows] == ["A", "A", "A", "A", "B"]
    assert all(r["题目"] == "意见建议" for r in rows)
    assert {r["可否转交单位"] for r in rows} == {"可以"}  # A and B have 7 respondents each
    pseudonyms = session.exec(select(Case.pseudonym)).all()
    text = data.decode("utf-8-sig")
    assert not any(p in text for p in pseudonyms) and "13812345678" not in text


def test_comments_of_small_units_are_marked(session, wave, monkeypatch):
    """Are comments of a unit with too few respondents marked as not to be handed over?"""
    for limit, expected in ((7, "可以"), (8, "否（受访者少于 8 人）")):
        monkeypatch.setattr(exported_comments, "SMALL_GROUP", limit)
        header, rows = exports.comments_table(session, wave)
        assert {r[header.index("可否转交单位")] for r in rows} == {expected}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("请联系张先生，电话13812345678", "请联系某先生，电话[号码]"),
        ("王科长态度差，138-1234-5678", "某科长态度差，[号码]"),
        ("+86 138 1234 5678", "[号码]"),
        ("座机(027)8765-4321，分机 8765 432", "座机[号码]，分机 [号码]"),
        ("身份证42011419800101123X", "身份证[证件号]"),
        ("旧证号420114800101123", "旧证号[证件号]"),
        ("李建国女士和欧阳主任都很负责", "某女士和某主任都很负责"),
        ("老王收了钱，小李没管", "老某收了钱，小某没管"),
        ("姓名：张三丰，邮箱 zsf@example.com", "姓名：某某，邮箱 [邮箱]"),
        ("号码是幺三八一二三四五六七八", "号码是[号码]"),
        ("８７６５４３２１", "[号码]"),
        # kept: dates, short numbers, words that only look like a surname and a title
        ("2017-03-01办的，跑了3次，打12345热线", "2017-03-01办的，跑了3次，打12345热线"),
        (
            "车管所所长不在，单位主任很好，公司经理也在",
            "车管所所长不在，单位主任很好，公司经理也在",
        ),
        ("花钱总是很多", "花钱总是很多"),
        # house and flat numbers; the street, floors and service windows stay
        ("我住江汉路88号3栋2单元501室，没人来过", "我住江汉路[门牌]，没人来过"),
        ("民主街12号之3，中山大道1号", "民主街[门牌]，中山大道[门牌]"),
        ("在2号楼 1201户", "在[门牌]"),
        ("去501室交的材料", "去[门牌]交的材料"),
        ("3楼窗口和12号窗口都要排队，跑了3次", "3楼窗口和12号窗口都要排队，跑了3次"),
    ],
)
def test_redact(raw, expected):
    assert redact(raw) == expected


# --------------------------------------------------------------------------- microdata


def _samplics(y, weight, stratum, fpc):
    est = TaylorEstimator(PopParam.mean, alpha=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.estimate(y, samp_weight=weight, stratum=stratum, fpc=fpc)
    return est


def test_microdata_round_trip_with_samplics(session, wave):
    """Does samplics on the microdata give each unit's estimate, SE and interval?

    The header is the documented one of issue 16 (sampling.microdata's design columns:
    N_vstrat and f_vstrat in place of the old ``1 - f`` column, which R misread).
    """
    header, rows = parse_csv(exports.build_microdata_csv(session, wave))
    assert header == [
        "pseudonym",
        "unit",
        "stratum",
        "disposition",
        "respondent",
        "interviewer",
        "mode",
        "vstrat",
        "weight",
        "N_vstrat",
        "f_vstrat",
        "df",
        "score",
        "screening",
        "service_quality",
        "overall",
    ]
    assert not any(word in "".join(header) for word in ("phone", "name", "client", "comment"))
    pseudonyms = set(session.exec(select(Case.pseudonym)).all())
    assert all(r["pseudonym"] in pseudonyms for r in rows)
    released = sum(len(p) for k in PLAN.values() for _, p in k.values())
    completes = sum(a is not None for k in PLAN.values() for _, p in k.values() for a in p)
    assert len(rows) == released == 30
    assert sum(r["respondent"] == "1" for r in rows) == completes == 25
    refusals = [r for r in rows if r["respondent"] == "0"]
    assert {r["disposition"] for r in refusals} == {"2.11"} and len(refusals) == 5
    assert all(r["weight"] == "" and r["score"] == "" for r in refusals)
    assert {r["mode"] for r in rows} == {"agent"} and {r["interviewer"] for r in rows} == {"I01"}
    blank = [r for r in rows if r["respondent"] == "1" and r["score"] == ""]
    assert len(blank) == 1 and blank[0]["weight"] == "" and blank[0]["unit"] == "B"

    exported = {r[0]: r for r in exports.estimates_table(session, wave)[1]}
    header_est = results.RESULT_HEADER
    checked = 0
    for unit in results.unit_results(session, wave):
        mine = [r for r in rows if r["unit"] == unit.code and r["score"]]
        y = np.array([float(r["score"]) for r in mine])
        w = np.array([float(r["weight"]) for r in mine])
        assert w.sum() == pytest.approx(unit.frame_size, abs=1e-9)  # weights add up to N
        big_n = np.array([float(r["N_vstrat"]) for r in mine])
        f = np.array([float(r["f_vstrat"]) for r in mine])
        assert all(float(r["df"]) == unit.n - len({r["vstrat"] for r in mine}) for r in mine)
        ref = _samplics(y, w, np.array([r["vstrat"] for r in mine]), 1.0 - f)
        assert np.all(big_n >= 1) and np.all(f <= 1)
        assert unit.n == len(mine) and unit.method in ("taylor", "census")
        # samplics does not clip; sampling.domain_means keeps intervals on 0-10 (issue 16)
        ref.lower_ci, ref.upper_ci = max(ref.lower_ci, 0.0), min(ref.upper_ci, 10.0)
        for mine_value, theirs in (
            (unit.mean, ref.point_est),
            (unit.se, ref.stderror),
            (unit.ci_low, ref.lower_ci),
            (unit.ci_high, ref.upper_ci),
        ):
            assert mine_value == pytest.approx(theirs, abs=1e-9)
        row = exported[unit.code]
        for name, theirs in (
            ("得分(10分制)", ref.point_est),
            ("标准误", ref.stderror),
            ("95%区间下限", ref.lower_ci),
            ("95%区间上限", ref.upper_ci),
        ):
            assert row[header_est.index(name)] == pytest.approx(theirs, abs=5e-5 + 1e-12)
        checked += 1
    assert checked == 4


# --------------------------------------------------------------------------- the rest


def test_csv_tables_and_unknown_name(session, wave):
    for name in exports.CSV_TABLES:
        header, rows = parse_csv(exports.build_csv(session, wave, name))
        # four ranked units: no 11th place, so the cut tests' table has a header only
        assert header and (rows if name != "cuts" else rows == []), name
    with pytest.raises(NotFound):
        exports.build_csv(session, wave, "microdata")


def test_exports_before_the_draw(session):
    """Does every export work (mostly empty) before any sample is drawn?"""
    with transaction(session):
        make_unit(session, code="A")
        wave = make_wave(session)
    book = openpyxl.load_workbook(io.BytesIO(exports.build_xlsx(session, wave)))
    assert book["抽样参数"]["B5"].value == "尚未抽样"
    assert exports.microdata_table(session, wave)[1] == []
    assert exports.comments_table(session, wave)[1] == []
    assert exports.design_table(session, wave)[1] == []
    assert exports.provenance(session, wave)["data_time"] == "尚无回答"


def test_code_version_without_git(monkeypatch):
    """Does the provenance still name a version when git is missing or fails?"""
    assert exports.code_version()  # whatever this checkout gives

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert exports.code_version() == f"v{exports.package_version()}"
    assert exports.package_version() not in ("", "unknown")

    def failing(*args, **kwargs):
        raise subprocess.CalledProcessError(128, "git")

    monkeypatch.setattr(subprocess, "run", failing)
    assert exports.code_version().startswith("v")


def test_about_sheet_is_chinese_with_beijing_times(session, wave):
    """Is every label and value of 说明 Chinese, with times in Asia/Shanghai?"""
    import datetime as dt

    from survey_service.results.exports.provenance import local_time

    utc = dt.datetime(2017, 6, 1, 6, 30, tzinfo=dt.UTC)
    assert local_time(utc) == "2017-06-01 14:30:00（北京时间）"
    assert local_time(utc.replace(tzinfo=None)) == "2017-06-01 14:30:00（北京时间）"
    assert local_time(utc, "UTC") == "2017-06-01 06:30:00（UTC）"
    book = openpyxl.load_workbook(io.BytesIO(exports.build_xlsx(session, wave)))
    about = {row[0].value: row[1].value for row in book["说明"].iter_rows(min_row=2)}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in about)
    assert about["调查轮次"].endswith("（进行中）")
    assert about["数据时间"].endswith("（北京时间）") and about["生成时间"].endswith("（北京时间）")
    assert "随机种子" in about["抽样"] and "抽样时间" in about["抽样"]
    assert about["问卷版本"].endswith("第 1 版）")
