"""A demo-like district for the browser days: four units, demo-shaped lists, one wave.

The lists are written as the demo writes them (a title row, the header, a
totals row, a share of numbers cut short or missing, numbers with dashes);
the steps of other roles between the pages (approving, drawing, the calls,
closing, publishing) run through the same services the pages call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlmodel import select

from survey_service.calls import attempts as calling
from survey_service.calls import interviews as interviewing
from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.db import transaction
from survey_service.demo import SERVICES, _list_csv
from survey_service.evaluation import rectification
from survey_service.lists import importing as list_import
from survey_service.lists import review
from survey_service.models import Case, CaseStatus, ClientList, ListStatus, SurveyWave, Unit, User
from survey_service.results import publication
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave

__all__ = ["SERVICES"]

UNITS = (
    ("JC022", "奓山街派出所", "基层站所"),
    ("JC023", "蔡甸街派出所", "基层站所"),
    ("JC024", "永安街派出所", "基层站所"),
    ("JG001", "区政务服务中心", "机关科室"),
)
OTHERS = ("蔡甸街派出所", "永安街派出所", "区政务服务中心")
# Ratings of each unit's 8 respondents (both rated items): 5.00, 6.00, 8.00 and 10.00.
RATINGS = {
    "JC022": ["dissatisfied", "satisfied", "basically_satisfied", "dissatisfied"] * 2,
    "JC023": ["basically_satisfied"] * 8,
    "JC024": ["satisfied"] * 8,
    "JG001": ["very_satisfied"] * 8,
}
COMMENTS = [
    "办事效率太低，跑了好几趟才办成",
    "效率低，来回跑了好几趟",
    "办事效率有待提高",
    "窗口工作人员态度不好",
    "工作人员态度很差，爱理不理",
    "窗口人员服务态度差",
    "希望延长办公时间",
    "建议延长中午的办公时间",
]


@dataclass
class District:
    wave: SurveyWave
    units: dict[str, Unit]
    users: dict[str, User]


def demo_list(n: int, *, seed: int, start: int, bad_share: float = 0.02) -> bytes:
    """A list as the demo writes it, ``n`` rows, numbers from ``start`` upwards (step 7)."""
    return _list_csv(random.Random(seed), n, [start + 7 * i for i in range(n)], bad_share=bad_share)


def district(session) -> District:
    """The units, one login per role (the demo's user names), an open wave round the clock."""
    with transaction(session):
        units = {code: make_unit(session, code=code, name=name, category=category)
                 for code, name, category in UNITS}  # fmt: skip
        users = {
            "unit_jc022": make_user(
                session, username="unit_jc022", role="unit", unit=units["JC022"]
            ),
            "unit_jc023": make_user(
                session, username="unit_jc023", role="unit", unit=units["JC023"]
            ),
        }
        for role in ("reviewer", "statistician", "admin", "supervisor"):
            users[role] = make_user(session, username=role, role=role)
        users["agent1"] = make_user(session, username="agent1", role="agent")
        wave = make_wave(session)
        # The browser runs on the wall clock: the wave calls at any hour, as the demo's does.
        wave.settings = {**wave.settings, "calling": ROUND_THE_CLOCK}
        session.add(wave)
    return District(wave, units, users)


def approved_lists(session, d: District, codes, *, status=ListStatus.APPROVED) -> None:
    with transaction(session):
        for i, code in enumerate(codes):
            make_list(
                session,
                unit=d.units[code],
                wave=d.wave,
                content=demo_list(40, seed=i, start=13100000000 + 1_000_000 * i),
                status=status,
                actor=d.users["reviewer"],
            )


def approve_submitted(session, d: District) -> None:
    with transaction(session):
        for client_list in session.exec(
            select(ClientList).where(ClientList.status == ListStatus.SUBMITTED)
        ).all():
            review.approve_list(
                session=session, client_list=client_list, reviewer=d.users["reviewer"]
            )


def draw(session, d: District, *, replicates: int = 1, reserve: int = 0):
    design = draws.DrawDesign(per_unit=8, replicates=replicates, reserve=reserve)
    with transaction(session):
        return draws.draw_sample(
            session=session,
            wave=d.wave,
            seed=20170601,
            design=design,
            actor=d.users["statistician"],
        )


def interviews(session, d: District, codes=tuple(RATINGS)) -> None:
    """The units' 8 released cases interviewed, with the ratings and comments above."""
    with transaction(session):
        for code in codes:
            for rating, comment in zip(RATINGS[code], COMMENTS, strict=True):
                _interview(session, d.users["agent1"], d.units[code], rating, comment)


def _interview(session, agent, unit, rating, comment) -> None:
    """The next released case of the unit, interviewed through the services."""
    case = session.exec(
        select(Case)
        .where(Case.unit_id == unit.id, Case.status == CaseStatus.PENDING, Case.released)
        .order_by(Case.order_rank)
    ).first()
    case.status = CaseStatus.IN_PROGRESS
    case.claimed_by = agent.id
    session.add(case)
    session.flush()
    attempt = calling.start_attempt(session, case, agent=agent)
    for item_id, value in (
        ("screening", "dealt"),
        ("service_quality", rating),
        ("overall", rating),
        ("comment", comment),
    ):
        interviewing.answer(session, case, attempt, item_id, value, actor=agent)


def close_and_publish(session, d: District) -> None:
    with transaction(session):
        publication.close_results(session=session, wave=d.wave, actor=d.users["reviewer"])
        publication.publish_results(session=session, wave=d.wave, actor=d.users["reviewer"])


def submit(session, d: District, code: str, content: bytes, app) -> ClientList:
    """A unit's list uploaded and submitted (the unit's part, through the services)."""
    with transaction(session):
        client_list = list_import.import_client_list(
            session=session,
            unit=d.units[code],
            wave=d.wave,
            content=content,
            filename=f"{code}_服务对象名单.csv",
            vault=app.extensions["phone_vault"],
        )
        list_import.submit_list(session=session, client_list=client_list, actor=None)
    return client_list


def build_problems(session, d: District, code: str):
    with transaction(session):
        return rectification.build_problem_list(
            session=session, wave=d.wave, unit_code=code, actor=d.users["reviewer"]
        )
