"""The home page sends each role to its own work."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from ..models import Role

bp = Blueprint("main", __name__)

HOME = {
    Role.UNIT: "units.index",
    Role.REVIEWER: "review.index",
    Role.AGENT: "calls.index",
    Role.SUPERVISOR: "calls.progress",
    Role.STATISTICIAN: "statistics.index",
    Role.ADMIN: "admin.users",
}


@bp.route("/")
@login_required
def index():
    """Redirect to the current user's home page."""
    return redirect(url_for(HOME[Role(current_user.role)]))


@bp.route("/healthz")
def healthz():
    """Tell a load balancer that this node answers."""
    return {"status": "ok"}
