"""An agent's held case with what a request about it reads: draw, wave, unit, client.

One query instead of one per object, and the objects stay referenced for the
rest of the request (``Session.info``): SQLAlchemy's identity map holds
objects weakly, so a draw or wave loaded by one helper and dropped was
loaded again by the next (``calls.settings.for_case``,
``calls.interviews`` and ``calls.attempts`` each look them up).
"""

from __future__ import annotations

from sqlmodel import Session, select

from survey_service.errors import NotFound
from survey_service.models import Case, CaseStatus, Client, SampleDraw, SurveyWave, Unit, User

PINNED = "pinned_objects"


def held_case_with_context(session: Session, case_id: int, agent: User) -> Case:
    """As :func:`survey_service.calls.queue.get_held_case`, with the case's objects loaded.

    :raise NotFound: if the case does not exist or the agent does not hold it.
    """
    row = session.exec(
        select(Case, SampleDraw, SurveyWave, Unit, Client)
        .join(SampleDraw, SampleDraw.id == Case.draw_id)
        .join(SurveyWave, SurveyWave.id == SampleDraw.wave_id)
        .join(Unit, Unit.id == Case.unit_id)
        .join(Client, Client.id == Case.client_id)
        .where(Case.id == case_id)
    ).first()
    case = row[0] if row is not None else None
    if case is None or case.claimed_by != agent.id or case.status != CaseStatus.IN_PROGRESS:
        raise NotFound("该样本不存在或不在您名下")
    session.info.setdefault(PINNED, []).append(tuple(row))
    return case
