"""HTTP hardening: security headers, a body limit per route, ids bounded to the columns.

* Every response carries a Content-Security-Policy without inline scripts or
  styles (the pages load their JavaScript from static/), frame protection,
  ``nosniff``, a same-origin referrer policy and, in production, HSTS.
  Every response but static files is ``Cache-Control: no-store``: pages show
  names, numbers and results to logged-in users only.
* A request body is limited by route: uploads get ``MAX_UPLOAD_MB``, log-in
  and the IVR webhooks ``SMALL_BODY_KB``; a larger body is refused with 413
  before it is read.
* An uploaded file is received into an encrypted, unlinked file of the
  instance folder's ``tmp/`` (:class:`~survey_service.privacy.files.UploadSpool`).
* ``<int:...>`` in a route accepts only ids that fit the database's integer
  columns, so /units/99999999999999999999 is a 404 on every backend, not an
  overflow error from the driver.
"""

from __future__ import annotations

from typing import IO

from flask import Flask, Request, current_app, request
from flask import Response as FlaskResponse
from werkzeug.routing import IntegerConverter

# Ids are INTEGER columns: 32-bit signed on PostgreSQL (SQLite takes 64 bits).
MAX_ID = 2**31 - 1

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Charts are SVG documents written by matplotlib, which styles them inline.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"

# Blueprints whose requests are small: a log-in form, a provider's webhook.
SMALL_BODY_BLUEPRINTS = frozenset({"auth", "ivr"})


class IdConverter(IntegerConverter):
    """``int`` for ids: a value beyond the integer column is no such record (404)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class LimitedRequest(Request):
    """A request whose body limit depends on the route (see ``body_limit``)."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        if not current_app:
            return super().max_content_length
        return body_limit(current_app.config, self.blueprint)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        """An uploaded file is received sealed in the instance folder's ``tmp/``, never
        in clear (werkzeug's default spools it to the system's ``/tmp``)."""
        from survey_service.privacy import files

        vault = current_app.extensions.get("phone_vault") if current_app else None
        return files.UploadSpool(vault.temp_dir if vault is not None else None)


def body_limit(config, blueprint: str | None) -> int:
    """The largest body accepted by a route of ``blueprint``, in bytes."""
    if blueprint in SMALL_BODY_BLUEPRINTS:
        return int(config["SMALL_BODY_KB"]) * 1024
    # Room for the multipart envelope and the form's other fields.
    return int(config["MAX_UPLOAD_MB"]) * 1024 * 1024 + 65536


def body_limit_text(limit: int) -> str:
    """``limit`` bytes for a message: "64 KB", "64 MB"."""
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)} MB"
    return f"{max(1, limit // 1024)} KB"


def install_id_converter(app: Flask) -> None:
    """Bound ``<int:...>``; must run before any blueprint adds its routes."""
    app.url_map.converters["int"] = IdConverter


def init_app(app: Flask) -> None:
    app.request_class = LimitedRequest
    production = app.config["SURVEY_ENV"] == "production"

    @app.after_request
    def security_headers(response: FlaskResponse) -> FlaskResponse:
        headers = response.headers
        if response.mimetype == "image/svg+xml":
            headers.setdefault("Content-Security-Policy", SVG_POLICY)
        else:
            headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        return response
