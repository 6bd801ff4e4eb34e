"""A sample in which one number was drawn for two units (the same person served by both)."""

from __future__ import annotations

from sqlmodel import select

from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.db import transaction
from survey_service.models import Case, Client
from survey_service.sample import draws
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave

SHARED = 13800000007  # 客户2 of 奓山街派出所 and 客户1 of 蔡甸区税务局


def make_joint_sample(session, *, calling=ROUND_THE_CLOCK):
    """Two units, two clients each, all drawn; one number is in both lists.

    Returns ``(joint, alone)``: the shared number's two cases (in id order,
    奓山街派出所's first) and the two cases of numbers sampled once.
    """
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session)
        wave.settings = {**wave.settings, "calling": calling}
        session.add(wave)
        first = make_unit(session, code="U001", name="奓山街派出所")
        second = make_unit(session, code="U002", name="蔡甸区税务局")
        for unit, start in ((first, 13800000000), (second, SHARED)):
            make_list(
                session,
                unit=unit,
                wave=wave,
                n=2,
                actor=reviewer,
                content=csv_content(2, start=start),
            )
        draws.draw_sample(session=session, wave=wave, seed=1, per_unit=2, actor=None)
    cases = session.exec(select(Case).order_by(Case.id)).all()
    hashes = {c.id: session.get(Client, c.client_id).phone_hash for c in cases}
    counts = {h: list(hashes.values()).count(h) for h in hashes.values()}
    joint = [c for c in cases if counts[hashes[c.id]] == 2]
    alone = [c for c in cases if counts[hashes[c.id]] == 1]
    return joint, alone
