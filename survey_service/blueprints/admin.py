"""Administrators: users (create, edit, disable, reset password) and the audit log."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import select

from survey_service.audit_labels import ACTION_LABELS, action_label, detail_items, object_label
from survey_service.setup.users import (
    create_user,
    set_active,
    set_password,
    set_senior,
    update_user,
)

from ..db import get_session, transaction
from ..errors import ServiceError
from ..forms import PasswordResetForm, UserEditForm, UserForm
from ..models import ROLE_LABELS, AuditEvent, Role, Unit, User
from ..security import requires_role

bp = Blueprint("admin", __name__)

AUDIT_PAGE_SIZE = 50


@bp.route("/users", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def users():
    """List every user (unit staff too) and create a new one."""
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
        .order_by(User.role, Unit.code, User.username)
    ).all()
    return render_template("admin/users.html", rows=rows, form=form)


def _user_or_404(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires_role(Role.ADMIN)
def user_detail(user_id: int):
    """Show one user; change their name, role, unit and senior flag (changes are audited)."""
    session = get_session()
    user = _user_or_404(user_id)
    unit = session.get(Unit, user.unit_id) if user.unit_id else None
    form = UserEditForm(
        data=None
        if request.method == "POST"
        else {
            "display_name": user.display_name,
            "role": user.role,
            "unit_code": unit.code if unit else "",
            "senior": user.senior,
        }
    )
    if form.validate_on_submit():
        try:
            with transaction(session):
                update_user(
                    session=session,
                    user=user,
                    display_name=form.display_name.data or "",
                    role=form.role.data,
                    unit_code=form.unit_code.data or None,
                    actor=current_user,
                )
                set_senior(
                    session=session, user=user, senior=bool(form.senior.data), actor=current_user
                )
        except ServiceError as exc:
            flash(str(exc), "error")
        else:
            flash(f"已保存用户 {user.username}。", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template(
        "admin/user.html", user=user, unit=unit, form=form, password_form=PasswordResetForm()
    )


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@requires_role(Role.ADMIN)
def reset_password(user_id: int):
    """Give a user a new password; all their sessions end."""
    session = get_session()
    user = _user_or_404(user_id)
    form = PasswordResetForm()
    if not form.validate_on_submit():
        flash("新密码至少 8 位。", "error")
    else:
        with transaction(session):
            set_password(
                session=session, user=user, password=form.password.data, actor=current_user
            )
        flash(f"已重置 {user.username} 的密码，其所有登录会话已失效。", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@requires_role(Role.ADMIN)
def set_user_active(user_id: int):
    """Disable (ending the user's sessions) or enable a login."""
    session = get_session()
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        with transaction(session):
            set_active(session=session, user=user, active=active, actor=current_user)
    except ServiceError as exc:
        flash(str(exc), "error")
    else:
        flash(f"已{'启用' if active else '停用'}用户 {user.username}。", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/audit")
@requires_role(Role.ADMIN)
def audit():
    """The audit log, newest first, paged and filtered by who, what, object and date."""
    session = get_session()
    args = request.args
    filters = {k: args.get(k, "").strip() for k in ("who", "action", "object", "since", "until")}
    query = select(AuditEvent, User).join(User, User.id == AuditEvent.user_id, isouter=True)
    if filters["who"]:
        query = query.where(User.username == filters["who"])
    if filters["action"]:
        query = query.where(AuditEvent.action == filters["action"])
    if filters["object"]:
        kind, _, object_id = filters["object"].partition("#")
        query = query.where(AuditEvent.object_type == kind.strip())
        if object_id.strip():
            query = query.where(AuditEvent.object_id == object_id.strip())
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    for name, op in (("since", "ge"), ("until", "lt")):
        if filters[name]:
            try:
                day = datetime.strptime(filters[name], "%Y-%m-%d").date()
            except ValueError:
                abort(400, description=f"日期格式应为 YYYY-MM-DD：{filters[name]}")
            if name == "until":
                day += timedelta(days=1)
            bound = datetime.combine(day, time(), tzinfo=zone)
            column = AuditEvent.at
            query = query.where(column >= bound if op == "ge" else column < bound)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    page = min(max(1, args.get("page", 1, type=int) or 1), pages)
    rows = session.exec(
        query.order_by(AuditEvent.id.desc())
        .offset((page - 1) * AUDIT_PAGE_SIZE)
        .limit(AUDIT_PAGE_SIZE)
    ).all()
    role_labels = {str(k): v for k, v in ROLE_LABELS.items()}
    entries = [
        {
            "at": event.at,
            "who": user.username if user else "系统",
            "action": action_label(event.action),
            "code": event.action,
            "object": object_label(event.object_type, event.object_id),
            "details": detail_items(event.detail, role_labels),
        }
        for event, user in rows
    ]
    return render_template(
        "admin/audit.html",
        entries=entries,
        filters=filters,
        query={k: v for k, v in filters.items() if v},
        actions=ACTION_LABELS,
        page=page,
        pages=pages,
        total=total,
    )
