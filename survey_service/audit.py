"""Writing the audit log."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from survey_service.models import AuditEvent, User


def record(
    session: Session,
    *,
    user: User | None,
    action: str,
    object_type: str,
    object_id: Any = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the session (committed with the caller's transaction)."""
    event = AuditEvent(
        user_id=user.id if user is not None else None,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    session.add(event)
    return event
