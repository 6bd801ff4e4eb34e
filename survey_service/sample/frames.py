"""Sampling frames: the approved lists of a wave, in canonical order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, select

import sampling
from survey_service.models import Client, ClientList, ListStatus, Unit

UNKNOWN_KIND = "未注明"


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
    unit: np.ndarray  # str: unit code (the domain)
    kind: np.ndarray  # str: client kind 群众/企业, or 未注明
    phone_hash: np.ndarray  # str
    list_ids: tuple[int, ...]

    def strata(self, substrata: str | None) -> np.ndarray:
        """Stratum label per element: the unit code, or ``code/kind`` with sub-strata."""
        if substrata is None:
            return self.unit.astype(str)
        if substrata != "kind":
            raise ValueError(f"unknown sub-stratification {substrata!r}")
        return np.char.add(np.char.add(self.unit.astype(str), "/"), self.kind.astype(str))

    def hash(self) -> str:
        """SHA-256 of the frame in canonical order (unit, kind, phone hash per element)."""
        return sampling.frame_hash(
            self.unit.astype(str), self.kind.astype(str), self.phone_hash.astype(str)
        )

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
            select(Client.id, Unit.id, Unit.code, Client.kind, Client.phone_hash)
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
        unit=np.array([r[2] for r in rows], dtype=object),
        kind=np.array([r[3] or UNKNOWN_KIND for r in rows], dtype=object),
        phone_hash=np.array([r[4] for r in rows], dtype=object),
        list_ids=list_ids,
    )
