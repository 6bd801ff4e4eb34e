"""Rejected rows as shown: masked by default, in full only on an audited reveal.

A rejected row keeps its cell as written and its name encrypted, each with
a masked copy, and its service as the clients' is.
Pages and downloads show the mask; the full values are decrypted only for
a role allowed to see them (the office's reviewer, and a unit's own staff
for their own unit's list: the caller has checked that the list is theirs),
and each reveal is written to the audit log with who, which list, how many
rows and where (page or CSV).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from survey_service import audit
from survey_service.errors import Forbidden
from survey_service.models import Client, ClientList, ListRowIssue, Role, User
from survey_service.privacy.vault import ISSUE_NAME, RAW_VALUE, PhoneVault, mask_raw

REVEAL_ROLES = frozenset({Role.REVIEWER, Role.UNIT})


def client_number(
    session: Session, vault: PhoneVault, client_id: int, *, actor: User, **where
) -> str:
    """A client's full number to dial, the reveal written to the audit log (``phone.view``).

    ``where`` names what it was shown for (the case, the review); the caller
    has checked the actor may see it and commits the audit entry.
    """
    client = session.get(Client, client_id)
    number = vault.decrypt(client.phone_enc)
    audit.record(
        session,
        user=actor,
        action="phone.view",
        object_type="client",
        object_id=client.id,
        **where,
    )
    return number


@dataclass(frozen=True)
class RejectedRow:
    row_number: int
    field: str
    value: str  # masked unless revealed
    reason: str
    name: str = ""  # masked unless revealed
    service: str = ""


def may_reveal(user: User, client_list: ClientList) -> bool:
    """May ``user`` see the full rejected values of ``client_list``?"""
    if user.role == Role.UNIT:
        return user.unit_id == client_list.unit_id
    return user.role in REVEAL_ROLES


def rejected_rows(
    session: Session,
    client_list: ClientList,
    vault: PhoneVault,
    *,
    limit: int | None = None,
    offset: int = 0,
    reveal_for: User | None = None,
    where: str = "page",
) -> list[RejectedRow]:
    """The list's rejected rows in row order, masked, or in full for ``reveal_for``.

    :raise Forbidden: if ``reveal_for`` may not see this list's full values.
    """
    if reveal_for is not None and not may_reveal(reveal_for, client_list):
        raise Forbidden("无权查看完整原始值")
    query = (
        select(ListRowIssue)
        .where(ListRowIssue.list_id == client_list.id)
        .order_by(ListRowIssue.row_number, ListRowIssue.id)  # stable pages
        .offset(offset)
    )
    issues = session.exec(query if limit is None else query.limit(limit)).all()
    rows = []
    for issue in issues:
        if reveal_for is not None:
            value = vault.decrypt_text(issue.raw_value, RAW_VALUE)
        elif issue.raw_masked is not None or issue.raw_value is None:
            value = issue.raw_masked
        else:  # a row stored in clear, before raw values were encrypted
            value = mask_raw(issue.raw_value)
        if reveal_for is not None:
            name = vault.decrypt_text(issue.name, ISSUE_NAME)
        else:
            name = issue.name_masked
        rows.append(
            RejectedRow(
                issue.row_number,
                issue.field,
                value or "",
                issue.reason,
                name or "",
                issue.service or "",
            )
        )
    if reveal_for is not None:
        audit.record(
            session,
            user=reveal_for,
            action="list.issues.reveal",
            object_type="client_list",
            object_id=client_list.id,
            rows=len(rows),
            where=where,
        )
    return rows
