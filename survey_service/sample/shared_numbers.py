"""Numbers drawn for several units of a wave: link their cases, so one call covers them.

The same person may be in two units' lists and drawn for both. Each such
case gets ``number_group``: the smallest id among the wave's cases of that
number (matched by the lookup hash, never the plaintext); a number drawn once
keeps None. The calls stage claims a group's cases together
(``calls.queue.claim_number``) through the indexed column, without reading the
client table's unindexed hashes at claim time. The column is an id, not
personal data: the retention purge has nothing to remove from it.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from survey_service.models import Case, Client, SampleDraw


def link_shared_numbers(session: Session, wave_id: int) -> int:
    """Set ``number_group`` on every case of the wave whose number was drawn more than once.

    Returns how many cases share a number. Re-running changes nothing.
    """
    rows = session.exec(
        select(Case.id, Client.phone_hash)
        .join(Client, Client.id == Case.client_id)
        .join(SampleDraw, SampleDraw.id == Case.draw_id)
        .where(SampleDraw.wave_id == wave_id)
    ).all()
    by_number: dict[str, list[int]] = defaultdict(list)
    for case_id, phone_hash in rows:
        if phone_hash:  # a purged wave's hashes are empty: nothing to link
            by_number[phone_hash].append(case_id)
    links = [
        {"case": case_id, "group": min(ids)}
        for ids in by_number.values()
        if len(ids) > 1
        for case_id in ids
    ]
    if links:
        session.connection().execute(
            update(Case.__table__)
            .where(Case.__table__.c.id == bindparam("case"))
            .values(number_group=bindparam("group")),
            links,
        )
    return len(links)
