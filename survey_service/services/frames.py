"""Sampling frames: the approved lists of a wave, in canonical order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, select

from ..models import Client, ClientList, ListStatus, Unit


@dataclass(frozen=True)
class Frame:
    """The wave's frame: one element per client of an approved list.

    Elements are in canonical order: by unit code, then by the phone's keyed
    hash, then by client id (a tie only for one number listed twice by one
    unit). The order does not depend on upload order or database ids except
    for that tie, so the frame hash is the same for the same approved lists.
    """

    client_id: np.ndarray  # int64
    unit_id: np.ndarray  # int64
    stratum: np.ndarray  # str: unit code (later: unit code + sub-stratum)
    phone_hash: np.ndarray  # str
    list_ids: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(self.client_id.size)


def approved_lists(session: Session, wave_id: int) -> list[ClientList]:
    return list(
        session.exec(
            select(ClientList).where(
                ClientList.wave_id == wave_id, ClientList.status == ListStatus.APPROVED
            )
        ).all()
    )


def build_frame(session: Session, wave_id: int) -> Frame:
    """Read the approved lists of a wave into a canonical frame."""
    lists = approved_lists(session, wave_id)
    list_ids = tuple(sorted(cl.id for cl in lists))
    rows = (
        session.exec(
            select(Client.id, Unit.id, Unit.code, Client.phone_hash)
            .join(ClientList, ClientList.id == Client.list_id)
            .join(Unit, Unit.id == ClientList.unit_id)
            .where(Client.list_id.in_(list_ids))
            .order_by(Unit.code, Client.phone_hash, Client.id)
        ).all()
        if list_ids
        else []
    )
    return Frame(
        client_id=np.array([r[0] for r in rows], dtype=np.int64),
        unit_id=np.array([r[1] for r in rows], dtype=np.int64),
        stratum=np.array([r[2] for r in rows], dtype=object),
        phone_hash=np.array([r[3] for r in rows], dtype=object),
        list_ids=list_ids,
    )
