"""Log in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from survey_service import audit
from survey_service.models import utcnow
from survey_service.setup import login_throttle
from survey_service.setup.users import authenticate, end_sessions

from ..db import get_session, transaction
from ..forms import LoginForm

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log a user in with username and password."""
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        username, address, now = form.username.data, request.remote_addr, utcnow()
        limits = login_throttle.Limits.from_config(current_app.config)
        refusal = login_throttle.refusal(
            session, username=username, address=address, limits=limits, now=now
        )
        if refusal is not None:
            session.rollback()
            flash(refusal.message, "error")
            response = current_app.make_response(
                (render_template("auth/login.html", form=form), 429)
            )
            response.headers["Retry-After"] = str(refusal.seconds)
            return response
        user = authenticate(session=session, username=username, password=form.password.data)
        if user is None:
            with transaction(session):
                login_throttle.record_failure(
                    session, username=username, address=address, limits=limits, now=now
                )
            flash("用户名或密码错误。", "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        with transaction(session):
            login_throttle.record_success(session, username=username)
            audit.record(
                session, user=user, action="auth.login", object_type="user", object_id=user.id
            )
        target = request.args.get("next", "")
        # Only local paths: never redirect to another site after log-in.
        if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
            target = url_for("main.index")
        return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log the current user out and revoke their sessions server-side."""
    if current_user.is_authenticated:
        session = get_session()
        user = current_user._get_current_object()
        with transaction(session):
            end_sessions(user)
            session.add(user)
            audit.record(
                session, user=user, action="auth.logout", object_type="user", object_id=user.id
            )
        logout_user()
    flash("已退出登录。", "success")
    return redirect(url_for("auth.login"))
