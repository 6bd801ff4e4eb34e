"""The agent's case after its wave closed: released, and said so (never a dead end).

Closing a wave releases every case agents hold
(:func:`survey_service.calls.supervision.release_wave_holds`); an agent's old
tab then posts to a case no longer held. :func:`held` turns that into
:class:`WaveClosed`, which the calls blueprint renders as a page in words
with the way back to the workbench.
"""

from __future__ import annotations

from flask_login import current_user
from sqlmodel import select

from survey_service.calls import queue

from ..errors import NotFound
from ..models import CallAttempt, Case, SampleDraw, SurveyWave, WaveStatus


class WaveClosed(Exception):
    """The case's wave was closed while the agent had it: nothing more may be recorded."""

    def __init__(self, wave: SurveyWave):
        super().__init__(wave.name)
        self.wave = wave


def wave_of(session, case: Case) -> SurveyWave:
    return session.exec(
        select(SurveyWave)
        .join(SampleDraw, SampleDraw.wave_id == SurveyWave.id)
        .where(SampleDraw.id == case.draw_id)
    ).one()


def held(session, case_id: int, *, load=queue.get_held_case) -> Case:
    """The case the agent holds; :class:`WaveClosed` if it was released by closing its wave.

    The wave is looked up only when the case is not held (closing releases every
    held case), so a request on a held case costs no extra statement. ``load``
    reads the held case (e.g. :func:`survey_service.calls.held.held_case_with_context`).
    """
    try:
        return load(session, case_id, current_user)
    except NotFound:
        case = session.get(Case, case_id)
        if case is not None:
            wave = wave_of(session, case)
            if wave.status != WaveStatus.OPEN:
                raise WaveClosed(wave) from None
        raise


def closed_while_calling(session) -> SurveyWave | None:
    """The closed wave of the agent's last call if it closed mid-call (no outcome recorded)."""
    row = session.exec(
        select(CallAttempt.outcome, SurveyWave)
        .join(Case, Case.id == CallAttempt.case_id)
        .join(SampleDraw, SampleDraw.id == Case.draw_id)
        .join(SurveyWave, SurveyWave.id == SampleDraw.wave_id)
        .where(CallAttempt.agent_id == current_user.id)
        .order_by(CallAttempt.started_at.desc(), CallAttempt.id.desc())
        .limit(1)
    ).first()
    if row is None or row[0] is not None or row[1].status == WaveStatus.OPEN:
        return None
    return row[1]
