"""HTTP error pages; a service error becomes its status code with its message."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from werkzeug.exceptions import HTTPException

from .errors import ServiceError

TITLES = {400: "请求有误", 403: "无权访问", 404: "未找到", 409: "状态冲突", 413: "文件过大"}


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
        message = error.description if error.code not in (403, 404) else None
        return _render(error.code or 500, message)

    @app.errorhandler(500)
    def internal_error(error):
        _rollback()
        return _render(500, None)


def _render(code: int, message: str | None):
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/ivr/"):
        return {"error": message or TITLES.get(code, "服务器错误"), "status": code}, code
    return (
        render_template(
            "error.html", code=code, title=TITLES.get(code, "服务器错误"), message=message
        ),
        code,
    )
