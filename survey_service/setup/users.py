"""Users: creation with hashed passwords, and authentication."""

from __future__ import annotations

from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from survey_service import audit
from survey_service.errors import Conflict, NotFound, ServiceError, Where
from survey_service.models import Role, Unit, User


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    unit_code: str | None = None,
    actor: User | None = None,
) -> User:
    """Create a login; unit staff must name their unit, other roles must not.

    :raise ServiceError: on a bad role, a short password or a unit mismatch.
    :raise Conflict: if the username is taken.
    """
    username = username.strip()
    if not username:
        raise ServiceError("用户名不能为空", where=Where(field="username"))
    role = _role(role)
    _check_password(password)
    unit_id = _unit_id(session, role, unit_code)
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"用户名 {username} 已存在", where=Where(field="username"))
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password),
        role=role,
        unit_id=unit_id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        username=username,
        role=role.value,
    )
    return user


def update_user(
    *,
    session: Session,
    user: User,
    display_name: str,
    role: str,
    unit_code: str | None,
    actor: User | None,
) -> None:
    """Change a login's name, role and unit; a role change is audited on its own.

    :raise ServiceError: on a bad role, a unit mismatch, or an admin demoting themself.
    """
    new_role = _role(role)
    unit_id = _unit_id(session, new_role, unit_code)
    if actor is not None and actor.id == user.id and new_role != user.role:
        raise ServiceError("不能修改自己的角色", where=Where(field="role"))
    old_role = user.role
    name = (display_name or "").strip() or user.username
    if name != user.display_name or unit_id != user.unit_id:
        audit.record(
            session,
            user=actor,
            action="user.update",
            object_type="user",
            object_id=user.id,
            username=user.username,
            display_name=name,
            unit=unit_code or None,
        )
    user.display_name, user.unit_id = name, unit_id
    if new_role != old_role:
        user.role = new_role
        user.senior = user.senior and new_role == Role.AGENT
        audit.record(
            session,
            user=actor,
            action="user.role",
            object_type="user",
            object_id=user.id,
            username=user.username,
            old_role=str(old_role),
            new_role=new_role.value,
        )
    session.add(user)


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ServiceError(
            f"未知角色 {role!r}（可选：{allowed}）", where=Where(field="role")
        ) from None


def _unit_id(session: Session, role: Role, unit_code: str | None) -> int | None:
    if role == Role.UNIT:
        if not unit_code:
            raise ServiceError("单位填报员必须指定所属单位", where=Where(field="unit"))
        unit = session.exec(select(Unit).where(Unit.code == unit_code)).first()
        if unit is None:
            raise NotFound(f"单位代码 {unit_code} 不存在", where=Where(field="unit"))
        return unit.id
    if unit_code:
        raise ServiceError("只有单位填报员属于某个单位", where=Where(field="unit"))
    return None


def set_senior(*, session: Session, user: User, senior: bool, actor: User | None) -> None:
    """Mark an agent as senior (offered refusal conversions) or not; audited when it changes.

    :raise ServiceError: if ``user`` is not an agent and ``senior`` is asked for.
    """
    if user.senior == senior:
        return
    if senior and user.role != Role.AGENT:
        raise ServiceError("只有话务员可以设为资深访员", where=Where(field="senior"))
    user.senior = senior
    session.add(user)
    audit.record(
        session,
        user=actor,
        action="user.senior" if senior else "user.not_senior",
        object_type="user",
        object_id=user.id,
        username=user.username,
    )


def end_sessions(user: User) -> None:
    """Make every session cookie issued to ``user`` so far invalid (all nodes)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def set_password(*, session: Session, user: User, password: str, actor: User | None) -> None:
    """Give ``user`` a new password and end all their sessions (audited).

    :raise ServiceError: if the password is shorter than 8 characters.
    """
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)
    session.add(user)
    audit.record(session, user=actor, action="user.password", object_type="user", object_id=user.id)


def set_active(*, session: Session, user: User, active: bool, actor: User | None) -> None:
    """Enable or disable a login; disabling ends all the user's sessions (audited).

    :raise ServiceError: if an administrator tries to disable themself.
    """
    if user.active == active:
        return
    if not active and actor is not None and actor.id == user.id:
        raise ServiceError("不能停用自己的账号", where=Where(field="active"))
    user.active = active
    if not active:
        end_sessions(user)
    session.add(user)
    audit.record(
        session,
        user=actor,
        action="user.enable" if active else "user.disable",
        object_type="user",
        object_id=user.id,
    )


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise ServiceError("密码至少 8 位", where=Where(field="password"))


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active:
        # Compare anyway so that a missing user takes as long as a wrong password.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("timing-equaliser")
