"""HTTP error pages; a service error becomes its status code with its message."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from werkzeug.exceptions import HTTPException

from .errors import ServiceError, StillComputing
from .web_hardening import SMALL_BODY_BLUEPRINTS, body_limit_text

TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "未找到",
    409: "状态冲突",
    413: "请求内容过大",
    429: "请求过于频繁",
}


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        _rollback()
        return _render(error.status_code, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code and error.code >= 500:
            _rollback()
        if error.code == 413:
            message = _too_large_message()
        elif error.code in (403, 404):
            message = None
        else:
            message = error.description
        return _render(error.code or 500, message)

    @app.errorhandler(StillComputing)
    def still_computing(error: StillComputing):
        """202 at once: the first figures are computed apart; the page refreshes itself."""
        _rollback()
        seconds = error.refresh_seconds
        headers = {"Retry-After": str(seconds), "Cache-Control": "no-store"}
        if request.accept_mimetypes.best == "application/json":
            return {"status": "computing", "retry_after": seconds}, 202, headers
        page = render_template(  # a form sent is not sent again by a refresh
            "computing.html",
            started_at=error.started_at,
            refresh_seconds=seconds if request.method in ("GET", "HEAD") else None,
        )
        return page, 202, headers

    @app.errorhandler(500)
    def internal_error(error):
        _rollback()
        return _render(500, None)


def _too_large_message() -> str:
    limit = body_limit_text(request.max_content_length or 0)
    if request.blueprint in SMALL_BODY_BLUEPRINTS:
        return f"请求内容过大：此处最多接受 {limit}。"
    return f"上传的文件过大：最多接受 {limit}，请拆分后分批上传。"


def _render(code: int, message: str | None):
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/ivr/"):
        return {"error": message or TITLES.get(code, "服务器错误"), "status": code}, code
    return (
        render_template(
            "error.html", code=code, title=TITLES.get(code, "服务器错误"), message=message
        ),
        code,
    )
