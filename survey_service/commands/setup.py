"""Commands of the set-up: units, logins, waves, the demo district."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from survey_service.cli import BadInput, _run
from survey_service.db import get_session, transaction
from survey_service.errors import ServiceError

units_cli = AppGroup("units", help="The units under evaluation.")


@units_cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
def units_import(file: Path) -> None:
    """Create or update units from FILE (CSV or XLSX: code, name, category, department).

    Re-running with the same file changes nothing; units are matched by code.
    """
    from survey_service.setup.units import import_units

    if not file.is_file():
        raise BadInput(f"文件不存在: {file}")
    result = _run(lambda s: import_units(session=s, path=file))
    click.echo(
        f"units: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
    )


users_cli = AppGroup("users", help="Logins and roles.")


@users_cli.command("add")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["unit", "reviewer", "agent", "supervisor", "statistician", "admin"]),
)
@click.option("--unit", "unit_code", help="Unit code (required for --role unit).")
@click.option("--name", "display_name", help="Display name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Password (8+ characters); prompted for when omitted.",
)
def users_add(
    username: str, role: str, unit_code: str | None, display_name: str | None, password: str
) -> None:
    """Create a login USERNAME with a role."""
    from survey_service.setup.users import create_user

    user = _run(
        lambda s: create_user(
            session=s,
            username=username,
            password=password,
            role=role,
            unit_code=unit_code,
            display_name=display_name,
        )
    )
    click.echo(f"user {user.username} ({user.role}) created")


waves_cli = AppGroup("waves", help="Survey waves.")


@waves_cli.command("open")
@click.argument("name")
@click.option(
    "--script",
    "script_id",
    default="standard_satisfaction",
    show_default=True,
    help="Questionnaire script id.",
)
@click.option("--year", type=int, help="Year (default: the digits of NAME).")
def waves_open(name: str, script_id: str, year: int | None) -> None:
    """Open the survey wave NAME (e.g. 2017) under a questionnaire script."""
    from survey_service.setup.waves import open_wave

    wave = _run(lambda s: open_wave(session=s, name=name, script_id=script_id, year=year))
    click.echo(f"wave {wave.name} opened (script {wave.script_id} v{wave.script_version})")


@click.command("demo")
@click.option("--seed", default=2017, show_default=True, help="Seed of the demo's generator.")
@click.option(
    "--scale",
    default=0.5,
    show_default=True,
    help="Multiply list sizes (0.05 for a quick demo in tests).",
)
@click.option("--if-empty", is_flag=True, help="Do nothing (but print the logins) if units exist.")
def demo_command(seed: int, scale: float, if_empty: bool) -> None:
    """Fill an empty database with the demo district and print the demo logins."""
    from sqlmodel import select

    from survey_service.demo import DEMO_LOGINS, build_demo
    from survey_service.models import Unit

    session = get_session()
    if session.exec(select(Unit.id)).first() is not None:
        if not if_empty:
            raise BadInput("数据库已有数据；演示数据只能建在空数据库上")
        click.echo("database already holds data; demo logins (if it was built by demo):")
        for username, password, label in DEMO_LOGINS:
            click.echo(f"  {label:<10} {username:<14} {password}")
        return
    try:
        with transaction(session):
            logins = build_demo(
                session,
                vault=current_app.extensions["phone_vault"],
                seed=seed,
                scale=scale,
                echo=lambda m: click.echo(m, err=True),
            )
    except ServiceError as exc:
        raise BadInput(str(exc)) from exc
    click.echo("demo logins (username / password):")
    for username, password, label in logins:
        click.echo(f"  {label:<10} {username:<14} {password}")
