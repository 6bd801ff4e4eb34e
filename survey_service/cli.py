"""Administrators' command line: ``flask --app wsgi COMMAND``.

Every command prints ``--help`` from its docstring, reports bad input on
stderr with what and where, and exits with status 2 on bad input.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .db import get_engine, get_session, transaction
from .errors import ServiceError


class BadInput(click.ClickException):
    """Bad input: message on stderr, exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"错误: {self.format_message()}", err=True)


def _run(work):
    """Run ``work(session)`` in one transaction, turning service errors into exit 2."""
    session = get_session()
    try:
        with transaction(session):
            return work(session)
    except ServiceError as exc:
        raise BadInput(str(exc)) from exc


db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Bring the database to the current schema (creates it if empty)."""
    from . import migrations

    migrations.upgrade(get_engine(), revision)
    click.echo(f"database at revision {migrations.current(get_engine())}")


@db_cli.command("current")
def db_current() -> None:
    """Print the database's schema revision."""
    from . import migrations

    click.echo(migrations.current(get_engine()) or "(empty)")


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (developers)."""
    from . import migrations

    migrations.revision(get_engine(), message)


def init_app(app: Flask) -> None:
    from survey_service.commands import calls, calls_plan, lists, privacy, sample, setup

    for command in (
        db_cli,
        setup.units_cli,
        setup.users_cli,
        setup.waves_cli,
        lists.clients_cli,
        setup.demo_command,
        sample.sample_cli,
        calls.scripts_cli,
        calls.ivr_cli,
        calls_plan.calls_cli,
        calls.worker_command,
        privacy.privacy_cli,
    ):
        app.cli.add_command(command)
    for command in privacy.WAVE_COMMANDS:
        setup.waves_cli.add_command(command)
