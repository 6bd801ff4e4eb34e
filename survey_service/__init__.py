"""The telephone satisfaction-survey service (社会满意度电话抽访)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config as config_module

if TYPE_CHECKING:
    from flask import Flask


def private_dir(path: Path) -> Path:
    """Create ``path`` readable by its owner only (0700), tightening it if it is ours."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(0o700)
    return path


def _instance_secret(app: Flask, filename: str, make) -> str:
    """Read a secret kept in the instance folder, creating it on first use (mode 600)."""
    path = Path(app.instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _new_data_key() -> str:
    from survey_service.privacy.vault import new_data_key  # cryptography: only when made

    return new_data_key()


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

    # The instance folder holds keys and the SQLite database: owner only.
    if not app.config.get("DATABASE_URL") or Path(app.instance_path).is_dir():
        private_dir(Path(app.instance_path))
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'survey.sqlite'}"
    app.config["SURVEY_ENV"] = config_module.normalise_env(app.config["SURVEY_ENV"])
    production = app.config["SURVEY_ENV"] == "production"
    if production:
        from .key_checks import production_problems

        problems = production_problems(app.config)
        if problems:
            raise RuntimeError(
                "refusing to start with SURVEY_ENV=production: " + "; ".join(problems)
            )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(
            app, "secret_key", lambda: secrets.token_hex(32)
        )
    if not app.config.get("SURVEY_DATA_KEY"):
        app.config["SURVEY_DATA_KEY"] = _instance_secret(app, "data.key", _new_data_key)
    # The default body limit; web_hardening lowers it for log-in and webhooks.
    app.config["MAX_CONTENT_LENGTH"] = web_hardening.body_limit(app.config, None)
    # Flask already defines these keys (SameSite None, Secure off), so a
    # setdefault would never apply: set them unless the caller chose a value.
    cookie = {"HTTPONLY": True, "SAMESITE": "Lax", "SECURE": production}
    for prefix in ("SESSION_COOKIE_", "REMEMBER_COOKIE_"):
        for name, value in cookie.items():
            if prefix + name not in (config or {}):
                app.config[prefix + name] = value

    from . import cli, db, errors_web

    # An app created to run a command (``flask --app wsgi COMMAND``) leaves the
    # rest to the commands that need it (see cli.py): ``clients check`` starts
    # without the database, the key vault or the pages.
    for_a_command = cli.loaded_to_run_a_command()
    db.init_app(app, engine=False)
    web_hardening.init_app(app)
    errors_web.init_app(app)
    cli.init_app(app, set_up_the_rest=_set_up_the_rest if for_a_command else None)
    if not for_a_command:
        _set_up_the_rest(app)
    return app


def _set_up_the_rest(app: Flask) -> None:
    """The key vault and its temp folder, the engine, log-in and CSRF, every blueprint."""
    from survey_service.privacy import files as private_files
    from survey_service.privacy.vault import PhoneVault

    from . import blueprints, db, security

    app.extensions["phone_vault"] = PhoneVault(app.config["SURVEY_DATA_KEY"])
    private_files.secure_instance(app.extensions["phone_vault"], app.instance_path)
    db.app_engine(app)
    security.init_app(app)
    blueprints.init_app(app)
