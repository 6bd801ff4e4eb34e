"""The office's review of submitted lists, and the signals that show padding."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import Conflict, ServiceError, Where
from survey_service.models import Client, ClientList, ListStatus, StaffNumber, Unit, User, utcnow


def approve_list(
    *, session: Session, client_list: ClientList, reviewer: User, note: str | None = None
) -> ClientList:
    """Approve a submitted list; it becomes the unit's sampling frame for the wave.

    An earlier approved version of the same unit and wave is superseded
    (set back to rejected with a note), unless a sample froze it.

    :raise Conflict: if the list is not submitted, or the unit's frame is frozen.
    """
    if client_list.status != ListStatus.SUBMITTED:
        raise Conflict("只有待审核的名单可以审核")
    previous = session.exec(
        select(ClientList).where(
            ClientList.unit_id == client_list.unit_id,
            ClientList.wave_id == client_list.wave_id,
            ClientList.status == ListStatus.APPROVED,
        )
    ).all()
    for old in previous:
        if old.frozen:
            raise Conflict("该单位已有名单用于抽样（已冻结），不能再审核通过新版本")
        old.status = ListStatus.REJECTED
        old.review_note = f"已被第 {client_list.version} 版取代"
        session.add(old)
    client_list.status = ListStatus.APPROVED
    client_list.reviewed_by = reviewer.id
    client_list.reviewed_at = utcnow()
    client_list.review_note = (note or "").strip() or None
    session.add(client_list)
    audit.record(
        session,
        user=reviewer,
        action="list.approve",
        object_type="client_list",
        object_id=client_list.id,
        note=client_list.review_note,
    )
    return client_list


def reject_list(
    *, session: Session, client_list: ClientList, reviewer: User, note: str
) -> ClientList:
    """Reject a submitted list with a reason the unit will read.

    :raise ServiceError: if the reason is empty.
    :raise Conflict: if the list is not submitted.
    """
    if client_list.status != ListStatus.SUBMITTED:
        raise Conflict("只有待审核的名单可以审核")
    note = (note or "").strip()
    if not note:
        raise ServiceError("退回时必须填写原因", where=Where(field="note"))
    client_list.status = ListStatus.REJECTED
    client_list.reviewed_by = reviewer.id
    client_list.reviewed_at = utcnow()
    client_list.review_note = note
    session.add(client_list)
    audit.record(
        session,
        user=reviewer,
        action="list.reject",
        object_type="client_list",
        object_id=client_list.id,
        note=note,
    )
    return client_list


@dataclass(frozen=True)
class ListSignals:
    """Warning signs that a list was padded."""

    size: int
    category_median: float | None
    size_ratio: float | None
    rejected_share: float
    shared_numbers: int  # numbers also on another unit's current list
    staff_numbers: int  # numbers among the staff numbers of any unit
    consecutive_runs: int  # runs of 3+ consecutive mobile numbers
    numbers_in_runs: int
    names_with_many_numbers: int  # one name listed with 3 or more numbers


def list_signals(session: Session, client_list: ClientList) -> ListSignals:
    """Compute the review signals of one list."""
    unit = session.get(Unit, client_list.unit_id)
    sizes = session.exec(
        select(ClientList.n_accepted)
        .join(Unit, Unit.id == ClientList.unit_id)
        .where(
            ClientList.wave_id == client_list.wave_id,
            Unit.category == unit.category,
            ClientList.status.in_([ListStatus.SUBMITTED, ListStatus.APPROVED]),
            ClientList.unit_id != client_list.unit_id,
        )
    ).all()
    median = None
    if sizes:
        ordered = sorted(sizes)
        mid = len(ordered) // 2
        median = float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    total = client_list.n_accepted + client_list.n_rejected
    other_lists = select(ClientList.id).where(
        ClientList.wave_id == client_list.wave_id,
        ClientList.unit_id != client_list.unit_id,
        ClientList.status.in_([ListStatus.SUBMITTED, ListStatus.APPROVED]),
    )
    other_hashes = select(Client.phone_hash).where(Client.list_id.in_(other_lists))
    shared = session.exec(
        select(func.count(func.distinct(Client.phone_hash))).where(
            Client.list_id == client_list.id, Client.phone_hash.in_(other_hashes)
        )
    ).one()
    staff = session.exec(
        select(func.count(func.distinct(Client.phone_hash))).where(
            Client.list_id == client_list.id,
            Client.phone_hash.in_(
                select(StaffNumber.phone_hash).where(StaffNumber.wave_id == client_list.wave_id)
            ),
        )
    ).one()
    # Counted at import: the stored names are encrypted (random nonces), so equal
    # names no longer group in SQL; lists stored before that are counted here.
    names_many = client_list.signals.get("names_with_many_numbers")
    if names_many is None:
        many = (
            select(Client.name)
            .where(Client.list_id == client_list.id, Client.name.is_not(None))
            .group_by(Client.name)
            .having(func.count(func.distinct(Client.phone_hash)) >= 3)
            .subquery()
        )
        names_many = session.exec(select(func.count()).select_from(many)).one()
    return ListSignals(
        size=client_list.n_accepted,
        category_median=median,
        size_ratio=(client_list.n_accepted / median) if median else None,
        rejected_share=(client_list.n_rejected / total) if total else 0.0,
        shared_numbers=int(shared),
        staff_numbers=int(staff),
        consecutive_runs=int(client_list.signals.get("consecutive_runs", 0)),
        numbers_in_runs=int(client_list.signals.get("numbers_in_runs", 0)),
        names_with_many_numbers=int(names_many),
    )
