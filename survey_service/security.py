"""Log-in, roles, CSRF and the phone-masking filter."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Flask, abort, session
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from survey_service.privacy.vault import mask_phone

from .models import ROLE_LABELS, Role, User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"
csrf = CSRFProtect()

# Messages waiting in the session for the next page shown, at most: a client that posts
# without loading the pages in between (a stale tab, a script) would otherwise grow the
# signed cookie with every message, past the 4 KB a browser keeps, and every request
# would decode and re-sign all of them.
MAX_PENDING_FLASHES = 5


@login_manager.user_loader
def _load_user(session_user_id: str) -> User | None:
    """Load the session's user if the session is still current (see ``User.get_id``).

    A cookie issued before the user's last log-out, password change or
    disabling carries an older epoch and is refused, as is any older format.
    """
    from .db import get_session

    user_id, _, epoch = session_user_id.partition(":")
    if not (user_id.isdigit() and epoch.isdigit()) or len(user_id) > 10:
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.active or str(user.session_epoch) != epoch:
        return None
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    csrf.init_app(app)
    app.jinja_env.filters["masked"] = mask_phone
    zone = ZoneInfo(app.config["TIMEZONE"])
    app.jinja_env.filters["localtime"] = lambda value: (
        "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    )
    app.jinja_env.globals["ROLE_LABELS"] = ROLE_LABELS
    app.jinja_env.globals["Role"] = Role

    @app.after_request
    def _cap_pending_flashes(response):
        pending = session.get("_flashes")
        if pending is not None and len(pending) > MAX_PENDING_FLASHES:
            session["_flashes"] = pending[-MAX_PENDING_FLASHES:]  # the latest ones
        return response


def requires_role(*roles: Role) -> Callable:
    """Let in only logged-in users whose role is one of ``roles`` (else login or 403)."""
    allowed = {Role(r) for r in roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed  # read by the role-matrix test
        return wrapped

    return decorator
