"""The rectification list (整改清单): from the comments to 销号.

The office builds a unit's list once per wave from the unit's redacted
comments (grouped by :mod:`.grouping`, one problem per complaint with how
many said it) and from its low-scoring aspects (below the wave's
``low_aspect`` setting). Comments go onto the list only if the unit had
enough respondents for them to be handed over (results' ``SMALL_GROUP``).

Each problem gets a deadline of ``working_days`` working days (Monday to
Friday; public holidays and 调休 are not known to the service) from the day it
is issued, in Asia/Shanghai. The unit answers with its measure; the office
closes it (销号) or sends it back with a note, and the unit answers again. A
problem not answered (open or sent back) after its deadline is overdue.
Every step is written to the audit log.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import Conflict, Forbidden, NotFound, ServiceError, Where
from survey_service.evaluation import grouping
from survey_service.evaluation.settings import settings_for
from survey_service.models import Role, SurveyWave, Unit, User, WaveStatus, utcnow
from survey_service.models.evaluation import Problem, ProblemStatus
from survey_service.results.exports import aspects_table, comments_table

LOCAL = ZoneInfo("Asia/Shanghai")
MAX_EXAMPLES = 5


def today_local() -> date:
    return datetime.now(LOCAL).date()


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days (Mon-Fri) after ``start``."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def is_overdue(problem: Problem, today: date | None = None) -> bool:
    """Not answered (open or sent back) after its deadline."""
    today = today or today_local()
    return problem.status in (ProblemStatus.OPEN, ProblemStatus.RETURNED) and (
        today > problem.deadline
    )


def _unit(session: Session, code: str) -> Unit:
    unit = session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise NotFound(f"未知的单位代码 {code}")
    return unit


def problems_for(session: Session, wave: SurveyWave, code: str) -> list[Problem]:
    return list(
        session.exec(
            select(Problem)
            .where(Problem.wave_id == wave.id, Problem.unit_code == code)
            .order_by(Problem.seq)
        ).all()
    )


def problems_of_unit(session: Session, code: str) -> list[tuple[SurveyWave, list[Problem]]]:
    """A unit's problems of every wave, newest wave first: its lists outlive their wave."""
    rows = session.exec(
        select(Problem, SurveyWave)
        .join(SurveyWave, SurveyWave.id == Problem.wave_id)
        .where(Problem.unit_code == code)
        .order_by(SurveyWave.id.desc(), Problem.seq)
    ).all()
    out: dict[int, tuple[SurveyWave, list[Problem]]] = {}
    for problem, wave in rows:
        out.setdefault(wave.id, (wave, []))[1].append(problem)
    return list(out.values())


@dataclass(frozen=True)
class Built:
    problems: list[Problem]
    notes: list[str]


def build_problem_list(
    *,
    session: Session,
    wave: SurveyWave,
    unit_code: str,
    actor: User | None = None,
    today: date | None = None,
) -> Built:
    """Build and issue a unit's problem list for the wave.

    :raise Conflict: before the wave's results are published (the unit sees its
        comments only then), or if the unit's list exists already.
    """
    if wave.status != WaveStatus.PUBLISHED:
        raise Conflict("本轮结果尚未发布，不能生成整改清单")
    unit = _unit(session, unit_code)
    if problems_for(session, wave, unit.code):
        raise Conflict(f"{unit.name} 本轮的整改清单已生成")
    settings = settings_for(wave)
    issued = today or today_local()
    deadline = add_working_days(issued, settings.working_days)
    notes: list[str] = []
    _header, aspect_rows = aspects_table(session, wave)
    mine = [r for r in aspect_rows if r[0] == unit.code]
    # Comments go to the script's aspects that have key words, else to the standard five.
    titles = [r[4] for r in mine if r[4] in grouping.ASPECT_WORDS] or list(grouping.ASPECT_WORDS)
    drafts: list[dict] = []
    for row in mine:
        mean, n = row[9], row[6]
        if mean != "" and mean < settings.low_aspect:
            drafts.append(
                {
                    "aspect": row[4],
                    "source": "aspect",
                    "summary": f"{row[4]}方面得分 {mean:.2f} 分（低于 {settings.low_aspect:g} 分，"
                    f"{n} 人评价）",
                    "mentions": 0,
                    "examples": [],
                }
            )
    _header, comment_rows = comments_table(session, wave)
    comments = [r for r in comment_rows if r[0] == unit.code]
    if comments and comments[0][5] != "可以":
        notes.append(f"受访者过少（{comments[0][5]}），意见建议不转交单位，未列入清单")
        comments = []
    for group in grouping.group_comments([r[4] for r in comments], aspects=titles):
        drafts.append(
            {
                "aspect": group.aspect,
                "source": "comment",
                "summary": group.summary,
                "mentions": group.count,
                "examples": list(group.members[:MAX_EXAMPLES]),
            }
        )
    if not drafts:
        notes.append("没有低分项，也没有需要整改的意见建议")
    problems = []
    for seq, draft in enumerate(drafts, start=1):
        problem = Problem(
            wave_id=wave.id,
            unit_code=unit.code,
            seq=seq,
            issued_on=issued,
            deadline=deadline,
            **draft,
        )
        session.add(problem)
        problems.append(problem)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="evaluation.problems.build",
        object_type="unit",
        object_id=unit.code,
        wave=wave.id,
        problems=len(problems),
        from_comments=sum(1 for p in problems if p.source == "comment"),
        comments=len(comments),
        deadline=deadline.isoformat(),
    )
    return Built(problems, notes)


def get_problem(session: Session, problem_id: int, user: User) -> Problem:
    """The problem, if ``user`` may see it (unit staff: only their own unit's).

    :raise NotFound: otherwise (a unit never learns that another unit's problem exists).
    """
    problem = session.get(Problem, problem_id)
    if problem is None:
        raise NotFound("整改问题不存在")
    if user.role == Role.UNIT:
        unit = session.get(Unit, user.unit_id) if user.unit_id else None
        if unit is None or unit.code != problem.unit_code:
            raise NotFound("整改问题不存在")
    return problem


def answer_problem(
    *, session: Session, problem: Problem, measure: str, actor: User, today: date | None = None
) -> Problem:
    """The unit's answer: its measure. :raise Forbidden/Conflict/ServiceError."""
    unit = session.get(Unit, actor.unit_id) if actor.unit_id else None
    if actor.role != Role.UNIT or unit is None or unit.code != problem.unit_code:
        raise Forbidden("只有本单位填报员可以答复整改问题")
    if problem.status not in (ProblemStatus.OPEN, ProblemStatus.RETURNED):
        raise Conflict("该问题已答复，等待核验或已销号")
    measure = measure.strip()
    if not measure:
        raise ServiceError("请填写整改措施", where=Where(field="measure"))
    late = (today or today_local()) > problem.deadline
    problem.measure = measure
    problem.status = ProblemStatus.ANSWERED
    problem.answered_at = utcnow()
    session.add(problem)
    audit.record(
        session,
        user=actor,
        action="evaluation.problem.answer",
        object_type="problem",
        object_id=problem.id,
        unit=problem.unit_code,
        late=late,
    )
    return problem


def review_problem(
    *, session: Session, problem: Problem, close: bool, note: str, actor: User
) -> Problem:
    """The office closes the problem (销号) or sends it back (a note is then required)."""
    if problem.status != ProblemStatus.ANSWERED:
        raise Conflict("只有已答复、待核验的问题可以销号或退回")
    note = note.strip()
    if not close and not note:
        raise ServiceError("退回须写明理由", where=Where(field="note"))
    problem.review_note = note
    problem.status = ProblemStatus.CLOSED if close else ProblemStatus.RETURNED
    problem.closed_at = utcnow() if close else None
    session.add(problem)
    audit.record(
        session,
        user=actor,
        action="evaluation.problem.close" if close else "evaluation.problem.return",
        object_type="problem",
        object_id=problem.id,
        unit=problem.unit_code,
        note=note,
    )
    return problem


@dataclass(frozen=True)
class Progress:
    code: str
    name: str
    total: int
    closed: int
    answered: int
    waiting: int  # open or sent back
    overdue: int

    @property
    def share_closed(self) -> float | None:
        return self.closed / self.total if self.total else None


def progress(
    session: Session, wave: SurveyWave, codes: list[str] | None = None, today: date | None = None
) -> list[Progress]:
    """Per unit with a list (or each of ``codes``, in that order): counts by state."""
    problems = session.exec(select(Problem).where(Problem.wave_id == wave.id)).all()
    names = dict(session.exec(select(Unit.code, Unit.name)).all())
    by_unit: dict[str, list[Problem]] = {}
    for problem in problems:
        by_unit.setdefault(problem.unit_code, []).append(problem)
    order = codes if codes is not None else sorted(by_unit)
    out = []
    for code in order:
        mine = by_unit.get(code, [])
        states = Counter(p.status for p in mine)
        out.append(
            Progress(
                code=code,
                name=names.get(code, code),
                total=len(mine),
                closed=states[ProblemStatus.CLOSED],
                answered=states[ProblemStatus.ANSWERED],
                waiting=states[ProblemStatus.OPEN] + states[ProblemStatus.RETURNED],
                overdue=sum(1 for p in mine if is_overdue(p, today)),
            )
        )
    return out


def previous_wave(session: Session, wave: SurveyWave) -> SurveyWave | None:
    return session.exec(
        select(SurveyWave).where(SurveyWave.id < wave.id).order_by(SurveyWave.id.desc())
    ).first()
