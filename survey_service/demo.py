"""The demo district: 330 units, users for every role, lists, a sample, simulated calls.

Everything goes through the real services (unit import rules, the list
parser, review, the draw, the script engine), except that simulated calls
are written in bulk. The generator is seeded, so the demo is the same on
every machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update
from sqlmodel import Session, select

import call_scripts
from survey_service.calls.settings import ROUND_THE_CLOCK, CallingSettings
from survey_service.dispositions import (
    ALWAYS_BUSY,
    BREAK_OFF,
    COMPLETE,
    DISCONNECTED,
    MACHINE_UNKNOWN,
    NO_ANSWER,
    NON_WORKING,
    NUMBER_CHANGED,
    REFUSAL,
    SCREENED_OUT,
)
from survey_service.lists import importing as list_import
from survey_service.lists import review
from survey_service.privacy.vault import PhoneVault
from survey_service.sample import draws
from survey_service.setup.users import create_user
from survey_service.setup.waves import open_wave, script_for_wave

from .demo_names import demo_units
from .models import Answer, CallAttempt, Case, CaseStatus, ListStatus, Role, Unit, User

WAVE_NAME = "2017"
DRAW_SEED = 20170601
# Sized for ±0.75 points at 95% with SD 2, at least 30 completes, 55% response, 90% eligible.
DESIGN = draws.DrawDesign(margin=0.75, sd=2.0, minimum=30, response_rate=0.55, eligibility_rate=0.9)

# (username, password, role, unit code, display name). Demo passwords only.
DEMO_USERS = (
    ("admin", "demo-admin-2017", Role.ADMIN, None, "系统管理员"),
    ("reviewer", "demo-review-2017", Role.REVIEWER, None, "区治庸办 王科长"),
    ("statistician", "demo-stats-2017", Role.STATISTICIAN, None, "区统计局 李统计"),
    ("supervisor", "demo-super-2017", Role.SUPERVISOR, None, "呼叫中心 张主管"),
    ("agent1", "demo-agent-2017", Role.AGENT, None, "话务员 刘一"),
    ("agent2", "demo-agent-2017", Role.AGENT, None, "话务员 陈二"),
    ("agent3", "demo-agent-2017", Role.AGENT, None, "话务员 赵三"),
    ("unit_jc022", "demo-unit-2017", Role.UNIT, "JC022", "奓山街派出所 填报员"),
    ("unit_jg001", "demo-unit-2017", Role.UNIT, "JG001", "区发改局审批科 填报员"),
)
DEMO_LOGINS = tuple(
    (
        username,
        password,
        {
            Role.ADMIN: "管理员",
            Role.REVIEWER: "审核员",
            Role.STATISTICIAN: "统计员",
            Role.SUPERVISOR: "话务主管",
            Role.AGENT: "话务员",
            Role.UNIT: "单位填报员",
        }[role],
    )
    for username, password, role, _unit, _name in DEMO_USERS
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌飞宇浩然欣怡子涵梓轩雨桐"
)
COMPANIES = (
    "武汉{}建材有限公司",
    "蔡甸区{}商贸行",
    "武汉{}科技有限公司",
    "湖北{}物流有限公司",
    "武汉{}餐饮管理有限公司",
    "蔡甸{}农业合作社",
)
SERVICES = (
    "户籍办理",
    "居住证办理",
    "营业执照登记",
    "纳税申报",
    "社保登记",
    "不动产登记",
    "建设工程审批",
    "食品经营许可",
    "排水许可",
    "低保申请",
    "法律援助",
    "医保报销",
)
COMMENTS = (
    "希望窗口多开几个，排队时间太长。",
    "工作人员态度很好，办事效率高。",
    "网上办理流程还可以再简化。",
    "希望周末也能办理业务。",
    "材料要求能一次性告知就好了。",
    "停车不方便。",
    "整体满意，继续保持。",
)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _list_size(rng: random.Random, unit: tuple, scale: float) -> int:
    name = unit[1]
    if any(word in name for word in ("税务", "派出所", "户政", "不动产", "社会保险", "车管所")):
        base = rng.lognormvariate(8.6, 0.8)  # busy counters: thousands to tens of thousands
    else:
        base = rng.lognormvariate(5.6, 1.0)
    return max(12, min(40000, int(base * scale)))


def _list_csv(rng: random.Random, n: int, phones: list[int], *, bad_share: float) -> bytes:
    """A realistic UTF-8 CSV: a title row, the header, data rows, a totals row."""
    lines = ["服务对象名单（2017年度）", "姓名,联系电话,办理事项,办理时间,类型"]
    for i in range(n):
        enterprise = rng.random() < 0.25
        name = rng.choice(COMPANIES).format(_person(rng)[:2]) if enterprise else _person(rng)
        phone = str(phones[i])
        roll = rng.random()
        if roll < bad_share / 2:
            phone = ""
        elif roll < bad_share:
            phone = phone[:7]
        elif roll < 0.2:
            phone = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
        date = f"2017-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}"
        lines.append(
            f"{name},{phone},{rng.choice(SERVICES)},{date},{'企业' if enterprise else '群众'}"
        )
    lines.append(f"合计,{n}人,,,")
    return ("\n".join(lines) + "\n").encode("utf-8")


def build_demo(
    session: Session,
    *,
    vault: PhoneVault,
    seed: int = 2017,
    scale: float = 1.0,
    echo: Callable[[str], None] = lambda _m: None,
) -> tuple:
    """Build the demo district in ``session`` (the caller commits); return the logins."""
    rng = random.Random(seed)
    for code, name, category, department in demo_units():
        session.add(Unit(code=code, name=name, category=category, department=department))
    session.flush()
    units = session.exec(select(Unit).order_by(Unit.code)).all()
    echo(f"demo: {len(units)} units")
    users: dict[str, User] = {}
    for username, password, role, unit_code, display in DEMO_USERS:
        users[username] = create_user(
            session=session,
            username=username,
            password=password,
            role=role,
            unit_code=unit_code,
            display_name=display,
        )
    users["agent1"].senior = True  # offered refusal conversions (soft refusals)
    # The demo wave calls at any hour, so that whoever tries it (as an agent, or
    # watching the worker's simulated IVR calls) finds cases due; a real wave
    # keeps the calling rules' day-parts.
    wave = open_wave(
        session=session,
        name=WAVE_NAME,
        script_id="standard_satisfaction",
        actor=users["admin"],
        settings={"calling": ROUND_THE_CLOCK},
    )

    # Client lists: most approved; a few waiting, rejected, draft or missing.
    specs = [(u, _list_size(rng, (u.code, u.name), scale)) for u in units]
    pool = rng.sample(range(13000000000, 13999999999, 97), k=sum(n for _, n in specs) + 10)
    taken = 0
    statuses = {
        "JC030": None,
        "JC031": None,
        "JC040": ListStatus.DRAFT,
        "JC041": ListStatus.SUBMITTED,
        "JC042": ListStatus.SUBMITTED,
        "JC043": ListStatus.REJECTED,
    }
    shared_with = pool[:15]  # JC050 padded its list with numbers from other units' lists
    total = 0
    for unit, n in specs:
        status = statuses.get(unit.code, ListStatus.APPROVED)
        if unit.code in statuses and status is None:
            continue
        phones = pool[taken : taken + n]
        taken += n
        if unit.code == "JC050":
            phones[: len(shared_with)] = shared_with
        uploader = users["unit_jc022"] if unit.code == "JC022" else None
        client_list = list_import.import_client_list(
            session=session,
            unit=unit,
            wave=wave,
            filename=f"{unit.code}_服务对象名单.csv",
            content=_list_csv(rng, n, phones, bad_share=0.02),
            vault=vault,
            actor=uploader,
        )
        total += client_list.n_accepted
        if status == ListStatus.DRAFT:
            continue
        list_import.submit_list(session=session, client_list=client_list, actor=uploader)
        if status == ListStatus.APPROVED:
            review.approve_list(
                session=session, client_list=client_list, reviewer=users["reviewer"]
            )
        elif status == ListStatus.REJECTED:
            review.reject_list(
                session=session,
                client_list=client_list,
                reviewer=users["reviewer"],
                note="名单规模与业务量明显不符，请核实后重报",
            )
    echo(f"demo: {total} clients on the lists")
    draw = draws.draw_sample(
        session=session, wave=wave, seed=DRAW_SEED, design=DESIGN, actor=users["statistician"]
    )
    echo(
        f"demo: drew {draw.sample_size} cases (seed {DRAW_SEED}), "
        f"{draws.released_cases(session, draw)} released"
    )
    completes = _simulate_calls(
        session, wave, draw.id, rng, [users[a] for a in ("agent1", "agent2", "agent3")]
    )
    echo(f"demo: simulated calls, {completes} completed interviews")
    return DEMO_LOGINS


def _simulated_answers(script, rng: random.Random, propensity: float) -> dict[str, str]:
    """Walk the script as a respondent whose ratings centre on ``propensity`` (0-1)."""
    answers: dict[str, str] = {}
    while (item := call_scripts.next_item(script, answers)) is not None:
        codes = [code for code, _label in call_scripts.valid_inputs(item, call_scripts.AGENT)]
        if item.kind == "rating":
            if rng.random() < 0.04:
                value = "na"
            else:
                centre = 4 * (1 - propensity)
                value = codes[max(0, min(4, round(rng.gauss(centre, 0.9))))]
        elif item.kind == "yes_no":
            value = "yes" if rng.random() < 0.03 * (2 - propensity) else "no"
        elif item.kind == "open":
            value = rng.choice(COMMENTS) if rng.random() < 0.3 else call_scripts.SKIPPED
        elif item.kind == "choice":
            value = codes[0] if rng.random() < 0.25 else codes[min(1, len(codes) - 1)]
        else:  # consent, screening: the first option goes on
            value = codes[0]
        answers[item.id] = value
    return answers


def _simulate_calls(
    session: Session, wave, draw_id: int, rng: random.Random, agents: list[User]
) -> int:
    script = script_for_wave(wave)
    max_attempts = CallingSettings.for_wave(wave).max_attempts
    cases = session.exec(
        select(Case).where(Case.draw_id == draw_id, Case.released).order_by(Case.id)
    ).all()
    propensity = {uid: rng.betavariate(9, 2) for uid in {c.unit_id for c in cases}}
    start = datetime(2017, 11, 1, 10, 0, tzinfo=UTC)  # 18:00 in Wuhan
    attempts, answers, updates = [], [], []
    completes = 0
    for case in cases:
        if rng.random() < 0.12:
            continue  # not called yet: work left for the demo's agents
        when = start + timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 180))
        agent = rng.choice(agents)
        no_answers = min(int(rng.expovariate(1.2)), max_attempts)
        for k in range(no_answers):
            attempts.append(
                {
                    "case_id": case.id,
                    "agent_id": agent.id,
                    "channel": "agent",
                    "started_at": when + timedelta(days=k),
                    "ended_at": when + timedelta(days=k, seconds=40),
                    "outcome": rng.choice((NO_ANSWER, NO_ANSWER, ALWAYS_BUSY, MACHINE_UNKNOWN)),
                }
            )
        when += timedelta(days=no_answers)
        if no_answers >= max_attempts:
            updates.append(
                {
                    "id": case.id,
                    "status": CaseStatus.FINAL,
                    "disposition": NO_ANSWER,
                    "attempts": max_attempts,
                    "finalized_at": when,
                }
            )
            continue
        roll = rng.random()
        if roll < 0.16:
            outcome = REFUSAL
        elif roll < 0.24:
            outcome = rng.choice((NON_WORKING, DISCONNECTED, NUMBER_CHANGED))
        elif roll < 0.27:
            outcome = BREAK_OFF
        else:
            given = _simulated_answers(script, rng, propensity[case.unit_id])
            status = call_scripts.status(script, given)
            outcome = {
                call_scripts.COMPLETE: COMPLETE,
                call_scripts.SCREENED_OUT: SCREENED_OUT,
            }.get(status, REFUSAL)
            for item_id, value in given.items():
                answers.append(
                    {
                        "case_id": case.id,
                        "item_id": item_id,
                        "value": value,
                        "script_id": script.id,
                        "script_version": script.version,
                        "answered_at": when + timedelta(minutes=3),
                    }
                )
        attempts.append(
            {
                "case_id": case.id,
                "agent_id": agent.id,
                "channel": "agent",
                "started_at": when,
                "ended_at": when + timedelta(minutes=4),
                "outcome": outcome,
            }
        )
        completes += outcome == COMPLETE
        updates.append(
            {
                "id": case.id,
                "status": CaseStatus.FINAL,
                "disposition": outcome,
                "attempts": no_answers + 1,
                "finalized_at": when + timedelta(minutes=4),
                "ever_eligible": outcome in (COMPLETE, REFUSAL, BREAK_OFF),
            }
        )
    if attempts:
        session.execute(insert(CallAttempt), attempts)
    if answers:
        session.execute(insert(Answer), answers)
    if updates:
        session.execute(update(Case), updates)
    return completes
