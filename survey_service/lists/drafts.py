"""A unit's list versions outside the import: deleting a draft, and why a list is frozen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import Conflict
from survey_service.models import (
    Client,
    ClientList,
    ListRowIssue,
    ListStatus,
    SampleDraw,
    StoredFile,
    StoredFileChunk,
    SurveyWave,
    Unit,
    User,
)


@dataclass(frozen=True)
class Freeze:
    """Why a unit's list takes no new version: the frame (and maybe the sample) was fixed."""

    version: int
    fixed_at: datetime
    drawn_at: datetime | None


def list_freeze(session: Session, unit: Unit, wave: SurveyWave) -> Freeze | None:
    """The frozen version of the unit's list and when its frame was fixed and drawn, if any."""
    frozen = session.exec(
        select(ClientList)
        .where(ClientList.unit_id == unit.id, ClientList.wave_id == wave.id, ClientList.frozen)
        .order_by(ClientList.version.desc())
    ).first()
    if frozen is None:
        return None
    draw = session.exec(
        select(SampleDraw).where(SampleDraw.wave_id == wave.id).order_by(SampleDraw.id.desc())
    ).first()
    if draw is None:  # frozen by hand or by an older release: say so without dates
        return Freeze(frozen.version, frozen.reviewed_at or frozen.uploaded_at, None)
    return Freeze(frozen.version, draw.created_at, draw.drawn_at)


def delete_draft(*, session: Session, client_list: ClientList, actor: User) -> int:
    """Delete a draft version with its rows, issues and stored file; return its version.

    :raise Conflict: if the list is not a draft (submitted, approved, rejected or frozen).
    """
    if client_list.status != ListStatus.DRAFT or client_list.frozen:
        raise Conflict("只有草稿状态的名单可以删除")
    list_id, file_id, version = client_list.id, client_list.file_id, client_list.version
    counts = (client_list.n_accepted, client_list.n_rejected)
    session.execute(Client.__table__.delete().where(Client.list_id == list_id))
    session.execute(ListRowIssue.__table__.delete().where(ListRowIssue.list_id == list_id))
    session.delete(client_list)
    session.flush()
    shared = session.exec(select(ClientList.id).where(ClientList.file_id == file_id)).first()
    if shared is None:  # the same bytes may back another version
        session.execute(
            StoredFileChunk.__table__.delete().where(StoredFileChunk.file_id == file_id)
        )
        session.execute(StoredFile.__table__.delete().where(StoredFile.id == file_id))
    audit.record(
        session,
        user=actor,
        action="list.delete",
        object_type="client_list",
        object_id=list_id,
        version=version,
        file=client_list.file_name,
        accepted=counts[0],
        rejected=counts[1],
    )
    return version
