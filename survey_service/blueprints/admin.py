"""Administrators: users and the audit log."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlmodel import select

from survey_service.setup.users import create_user

from ..db import get_session, transaction
from ..errors import ServiceError
from ..forms import UserForm
from ..models import AuditEvent, Role, Unit, User
from ..security import requires_role

bp = Blueprint("admin", __name__)


@bp.route("/users", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def users():
    """List users and create a new one."""
    session = get_session()
    form = UserForm()
    if form.validate_on_submit():
        try:
            with transaction(session):
                user = create_user(
                    session=session,
                    username=form.username.data,
                    password=form.password.data,
                    role=form.role.data,
                    display_name=form.display_name.data or None,
                    unit_code=form.unit_code.data or None,
                    actor=current_user,
                )
        except ServiceError as exc:
            flash(str(exc), "error")
        else:
            flash(f"已创建用户 {user.username}。", "success")
            return redirect(url_for("admin.users"))
    rows = session.exec(
        select(User, Unit)
        .join(Unit, Unit.id == User.unit_id, isouter=True)
        .where(User.role != Role.UNIT)
        .order_by(User.role, User.username)
    ).all()
    unit_users = session.exec(select(User).where(User.role == Role.UNIT)).all()
    return render_template(
        "admin/users.html", rows=rows, form=form, unit_user_count=len(unit_users)
    )


@bp.route("/audit")
@requires_role(Role.ADMIN)
def audit():
    """Show the latest 300 audit events."""
    session = get_session()
    rows = session.exec(
        select(AuditEvent, User)
        .join(User, User.id == AuditEvent.user_id, isouter=True)
        .order_by(AuditEvent.id.desc())
        .limit(300)
    ).all()
    return render_template("admin/audit.html", rows=rows)
