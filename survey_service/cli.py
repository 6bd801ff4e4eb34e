"""Administrators' command line: ``flask --app wsgi COMMAND``.

Every command prints ``--help`` from its docstring, reports bad input on
stderr with what and where, and exits with status 2 on bad input.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import click
from flask import Flask, current_app
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


clients_cli = AppGroup("clients", help="Client lists (服务对象名单).")


@clients_cli.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--area-code", default=None, help="Area code for local numbers (default AREA_CODE).")
@click.option(
    "--sheet", default=None, help="Sheet name (spreadsheets; default the first holding a list)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def clients_check(file: Path, area_code: str | None, sheet: str | None, as_json: bool) -> None:
    """Check FILE as a client list without a database; print the outcome of every row."""
    from survey_service.lists.importing import sheet_limits
    from survey_service.lists.parsing import ClientFileError, check_file

    if not file.is_file():
        raise BadInput(f"文件不存在: {file}")
    config = current_app.config
    try:
        report = check_file(
            file,
            filename=file.name,
            area_code=area_code or config["AREA_CODE"],
            sheet=sheet,
            max_bytes=int(config["MAX_UPLOAD_MB"]) << 20,  # the upload's limit
            limits=sheet_limits(config),
        )
    except ClientFileError as exc:
        raise BadInput(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    where = f"sheet {report['sheet']}" if report["sheet"] else f"delimiter {report['delimiter']!r}"
    click.echo(
        f"encoding {report['encoding']}, {where}: "
        f"{report['accepted']} accepted, {report['rejected']} rejected"
    )
    for row in report["rows"]:
        if row["status"] == "rejected":
            click.echo(f"  row {row['row']}: {row['reason']} ({row['raw']!r})")


@clients_cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--unit", "unit_code", required=True, help="Unit code.")
@click.option("--wave", "wave_name", default=None, help="Wave name (default: the open one).")
@click.option(
    "--sheet", default=None, help="Sheet name (spreadsheets; default the first holding a list)."
)
def clients_import(file: Path, unit_code: str, wave_name: str | None, sheet: str | None) -> None:
    """Store FILE as a new version of a unit's client list and print the counts."""
    from sqlmodel import select

    from survey_service.lists.importing import import_client_list, import_options
    from survey_service.setup.waves import current_wave

    from .models import Unit

    if not file.is_file():
        raise BadInput(f"文件不存在: {file}")

    def work(session):
        unit = session.exec(select(Unit).where(Unit.code == unit_code)).first()
        if unit is None:
            raise ServiceError(f"单位代码 {unit_code} 不存在")
        return import_client_list(
            session=session,
            unit=unit,
            wave=current_wave(session, wave_name),
            content=file,
            filename=file.name,
            vault=current_app.extensions["phone_vault"],
            options=import_options(current_app.config, sheet=sheet),
        )

    cl = _run(work)
    sheet_read = cl.signals.get("sheet")
    click.echo(
        f"list {cl.id} version {cl.version}: {cl.n_accepted} accepted, "
        f"{cl.n_rejected} rejected, {cl.n_skipped} skipped ({cl.encoding}"
        + (f", sheet {sheet_read})" if sheet_read else ")")
    )


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

    from .demo import DEMO_LOGINS, build_demo
    from .models import Unit

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


sample_cli = AppGroup("sample", help="The stratified sample: draw and verify.")


@sample_cli.command("draw")
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed (e.g. numbers read out at a public meeting); default: a random one.",
)
@click.option(
    "--per-unit",
    type=int,
    default=None,
    help="A fixed number of cases per unit instead of the margin-of-error design.",
)
@click.option(
    "--margin",
    type=float,
    default=0.5,
    show_default=True,
    help="Target margin of error on the 10-point scale.",
)
@click.option("--sd", type=float, default=None, help="Assumed SD (default: last wave's, or 2.0).")
@click.option("--minimum", type=int, default=30, show_default=True, help="Minimum completes.")
@click.option("--response-rate", type=float, default=0.5, show_default=True)
@click.option("--eligibility-rate", type=float, default=0.9, show_default=True)
@click.option(
    "--allocation",
    type=click.Choice(["proportional", "neyman", "equal"]),
    default="proportional",
    show_default=True,
    help="Allocation to sub-strata.",
)
@click.option("--no-substrata", is_flag=True, help="Do not sub-stratify units by client kind.")
@click.option("--wave", "wave_name", default=None, help="Wave name (default: the open one).")
def sample_draw(
    seed,
    per_unit,
    margin,
    sd,
    minimum,
    response_rate,
    eligibility_rate,
    allocation,
    no_substrata,
    wave_name,
) -> None:
    """Fix the frame and draw the wave's stratified sample; print its record.

    Each unit is a domain, sub-stratified by client kind; its size comes from
    the margin of error (or --per-unit). On the web the frame is fixed first
    and the seed given afterwards.
    """
    import secrets

    from survey_service.results import estimates
    from survey_service.sample import draws
    from survey_service.setup.waves import current_wave

    seed = secrets.randbelow(2**63) if seed is None else seed

    def work(s):
        wave = current_wave(s, wave_name)
        design = draws.DrawDesign(
            per_unit=per_unit,
            margin=margin,
            sd=sd if sd is not None else estimates.default_sd(s, wave),
            minimum=minimum,
            response_rate=response_rate,
            eligibility_rate=eligibility_rate,
            allocation=allocation,
            substrata=None if no_substrata else "kind",
        )
        return draws.draw_sample(session=s, wave=wave, seed=seed, design=design, actor=None)

    record = _run(work)
    click.echo(
        f"draw {record.id}: seed {record.seed}, frame {record.frame_size} "
        f"(sha256 {record.frame_hash}), planned sample {record.sample_size}"
    )


@sample_cli.command("release")
@click.argument("draw_id", type=int)
@click.argument("units", nargs=-1, required=True)
def sample_release(draw_id: int, units: tuple[str, ...]) -> None:
    """Release the next reserve replicate of draw DRAW_ID for the given unit codes."""
    from survey_service.sample import draws

    count = _run(
        lambda s: draws.release_next_replicate(
            session=s, record=draws.get_draw(s, draw_id), unit_codes=list(units), actor=None
        )
    )
    click.echo(f"released {count} cases")


@sample_cli.command("verify")
@click.argument("draw_id", type=int)
def sample_verify(draw_id: int) -> None:
    """Re-run draw DRAW_ID from the stored frame and seed; exit 1 on any difference."""
    from survey_service.sample import draws

    session = get_session()
    try:
        result = draws.verify_draw(session, draws.get_draw(session, draw_id))
    except ServiceError as exc:
        raise BadInput(str(exc)) from exc
    click.echo(("match: " if result.ok else "DIFFERENT: ") + result.message)
    if not result.ok:
        raise click.exceptions.Exit(1)


scripts_cli = AppGroup("scripts", help="Questionnaire scripts.")


@scripts_cli.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def scripts_check(file: Path) -> None:
    """Validate a script file; print every problem with file, line and path."""
    import call_scripts

    if not file.is_file():
        raise BadInput(f"文件不存在: {file}")
    errors = call_scripts.validate(file)
    if errors:
        for error in errors:
            click.echo(str(error), err=True)
        raise click.exceptions.Exit(2)
    script = call_scripts.load_script(file)
    click.echo(
        f"ok: {script.id} version {script.version}, {len(script.items)} items, "
        f"digest {script.digest[:12]}"
    )


@scripts_cli.command("walk")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--unit-name", default="奓山街派出所", show_default=True)
@click.option("--service", default="户籍办理", show_default=True)
@click.option("--service-date", default="2017年3月", show_default=True)
@click.option("--channel", type=click.Choice(["agent", "ivr"]), default="agent", show_default=True)
def scripts_walk(file: Path, unit_name: str, service: str, service_date: str, channel: str) -> None:
    """Play a script in the terminal, as an agent (option codes) or the IVR (keys)."""
    import call_scripts

    try:
        script = call_scripts.load_script(file)
    except call_scripts.ScriptInvalid as exc:
        raise BadInput(str(exc)) from exc
    context = {"unit_name": unit_name, "service": service, "service_date": service_date}
    result = call_scripts.walk(
        script,
        lambda prompt: click.prompt(prompt, default="", show_default=False),
        click.echo,
        context,
        channel=channel,
    )
    click.echo(f"status: {result.status}")


ivr_cli = AppGroup("ivr", help="Automated IVR calls through the telephony provider.")


@ivr_cli.command("dial")
@click.option("--limit", default=20, show_default=True, help="Most calls to place this round.")
def ivr_dial(limit: int) -> None:
    """Dial the cases due for an IVR call now (inside the calling windows) and print them."""
    from survey_service.calls import ivr as ivr_calls
    from survey_service.calls.telephony import ProviderError, get_provider

    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        raise BadInput("PUBLIC_BASE_URL 未设置：电话服务商需要用它回调本服务")
    try:
        provider = get_provider(current_app.config)
    except (ProviderError, NotImplementedError) as exc:
        raise BadInput(str(exc)) from exc
    result = _run(
        lambda s: ivr_calls.dial_due_cases(
            s,
            provider=provider,
            vault=current_app.extensions["phone_vault"],
            limit=limit,
            webhook_base=base,
            token_key=current_app.config["SECRET_KEY"],
            timezone=current_app.config["TIMEZONE"],
            checkpoint=s.commit,
        )
    )
    if not result.window_open:
        click.echo("outside the calling windows: nothing dialled")
    click.echo(
        f"placed {len(result.placed)}, refused {len(result.failed)}, expired {result.expired}"
    )
    for case_id, outcome, why in result.failed:
        click.echo(f"  case {case_id}: {outcome} ({why})", err=True)


@ivr_cli.command("simulate")
@click.option("--limit", default=5, show_default=True, help="Most calls to simulate.")
@click.option("--keys", default="1,2,1", show_default=True, help="Keys each respondent presses.")
@click.option("--at", "at", default=None, help="Pretend local time, 'YYYY-MM-DD HH:MM' (TIMEZONE).")
def ivr_simulate(limit: int, keys: str, at: str | None) -> None:
    """Dial due cases with the simulated provider and play respondents through the webhooks."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from survey_service.calls import ivr as ivr_calls
    from survey_service.calls.telephony.simulated import (
        FlaskClientTransport,
        SimulatedProvider,
        SimulatedRespondent,
    )

    provider = SimulatedProvider.from_config(current_app.config)
    current_app.extensions["telephony"] = provider
    now = None
    if at:
        try:
            now = datetime.strptime(at, "%Y-%m-%d %H:%M").replace(
                tzinfo=ZoneInfo(current_app.config["TIMEZONE"])
            )
        except ValueError as exc:
            raise BadInput(f"--at 应为 'YYYY-MM-DD HH:MM'，而不是 {at!r}") from exc
    base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost"
    result = _run(
        lambda s: ivr_calls.dial_due_cases(
            s,
            provider=provider,
            vault=current_app.extensions["phone_vault"],
            limit=limit,
            now=now,
            webhook_base=base,
            token_key=current_app.config["SECRET_KEY"],
            timezone=current_app.config["TIMEZONE"],
            checkpoint=s.commit,
        )
    )
    transport = FlaskClientTransport(current_app.test_client(), deliver_to=base)
    for call in provider.take_calls():
        record = SimulatedRespondent(transport, provider.auth_token, keys=keys.split(",")).take(
            call
        )
        click.echo(f"{call.call_id}: pressed {','.join(record.pressed)}; {record.heard[-1]}")
    click.echo(f"simulated {len(result.placed)} calls")


@click.command("worker")
def worker_command() -> None:
    """Run the scheduled jobs (idle-claim release); run exactly one worker per deployment."""
    import logging

    from .scheduler import build_scheduler

    logging.basicConfig(level=logging.INFO)
    scheduler = build_scheduler(current_app._get_current_object())
    click.echo(f"worker: {len(scheduler.get_jobs())} jobs scheduled; Ctrl-C stops")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def init_app(app: Flask) -> None:
    for command in (
        db_cli,
        units_cli,
        users_cli,
        waves_cli,
        clients_cli,
        demo_command,
        sample_cli,
        scripts_cli,
        ivr_cli,
        worker_command,
    ):
        app.cli.add_command(command)
