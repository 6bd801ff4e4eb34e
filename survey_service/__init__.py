"""The telephone satisfaction-survey service (社会满意度电话抽访)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config as config_module

if TYPE_CHECKING:
    from flask import Flask


def _instance_secret(app: Flask, filename: str, make) -> str:
    """Read a secret kept in the instance folder, creating it on first use (mode 600)."""
    path = Path(app.instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the Flask app from the environment, then ``config`` on top (tests)."""
    # Flask is imported here, not at the top: the helper process that parses
    # big lists imports this package and has no use for it.
    from flask import Flask

    from . import web_hardening

    app = Flask(__name__, instance_path=os.environ.get("SURVEY_INSTANCE_PATH"))
    web_hardening.install_id_converter(app)
    app.config.from_mapping(config_module.from_environment())
    if config:
        app.config.update(config)

    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'survey.sqlite'}"
    app.config["SURVEY_ENV"] = config_module.normalise_env(app.config["SURVEY_ENV"])
    production = app.config["SURVEY_ENV"] == "production"
    if not app.config.get("SECRET_KEY"):
        if production:
            raise RuntimeError("SECRET_KEY must be set when SURVEY_ENV=production")
        app.config["SECRET_KEY"] = _instance_secret(
            app, "secret_key", lambda: secrets.token_hex(32)
        )
    elif production and len(app.config["SECRET_KEY"]) < 32:
        raise RuntimeError("SECRET_KEY is too short for production (32+ characters)")
    if not app.config.get("SURVEY_DATA_KEY"):
        if production:
            raise RuntimeError("SURVEY_DATA_KEY must be set when SURVEY_ENV=production")
        from survey_service.privacy.vault import new_data_key

        app.config["SURVEY_DATA_KEY"] = _instance_secret(app, "data.key", new_data_key)
    # The default body limit; web_hardening lowers it for log-in and webhooks.
    app.config["MAX_CONTENT_LENGTH"] = web_hardening.body_limit(app.config, None)
    # Flask already defines these keys (SameSite None, Secure off), so a
    # setdefault would never apply: set them unless the caller chose a value.
    cookie = {"HTTPONLY": True, "SAMESITE": "Lax", "SECURE": production}
    for prefix in ("SESSION_COOKIE_", "REMEMBER_COOKIE_"):
        for name, value in cookie.items():
            if prefix + name not in (config or {}):
                app.config[prefix + name] = value

    from survey_service.privacy.vault import PhoneVault

    from . import blueprints, cli, db, errors_web, security

    db.init_app(app)
    app.extensions["phone_vault"] = PhoneVault(app.config["SURVEY_DATA_KEY"])
    web_hardening.init_app(app)
    from survey_service.privacy import files as private_files

    private_files.secure_instance(
        app.extensions["phone_vault"], app.instance_path, app.config["DATABASE_URL"]
    )
    security.init_app(app)
    errors_web.init_app(app)
    blueprints.init_app(app)
    cli.init_app(app)
    return app
