"""Commands of the call stage: scripts, IVR dialling, the worker."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from survey_service.cli import BadInput, _run, needs_no_app

scripts_cli = AppGroup("scripts", help="Questionnaire scripts.")


@scripts_cli.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@needs_no_app
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
@needs_no_app
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
    """Dial the cases due for an IVR call now, within the calling windows and provider limits.

    The limits are the worker's (``DIAL_*``: per callee a minute, an hour, a
    day; simultaneous calls on the caller number; calls per second), applied
    the same way (:func:`survey_service.calls.pacing.dial_within_limits`).
    """
    from survey_service.calls import pacing
    from survey_service.calls.telephony import ProviderError, get_provider

    config = current_app.config
    base = config.get("PUBLIC_BASE_URL")
    if not base:
        raise BadInput("PUBLIC_BASE_URL 未设置：电话服务商需要用它回调本服务")
    try:
        provider = get_provider(config)
    except (ProviderError, NotImplementedError) as exc:
        raise BadInput(str(exc)) from exc
    result = _run(
        lambda s: pacing.dial_within_limits(
            s,
            provider=provider,
            rules=pacing.provider_limits(config, provider),
            limit=limit,
            vault=current_app.extensions["phone_vault"],
            webhook_base=base,
            token_key=config["SECRET_KEY"],
            config=config,
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

    from survey_service.calls import dialling
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
        lambda s: dialling.dial_due_cases(
            s,
            provider=provider,
            vault=current_app.extensions["phone_vault"],
            limit=limit,
            now=now,
            webhook_base=base,
            token_key=current_app.config["SECRET_KEY"],
            config=current_app.config,
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

    from survey_service.scheduler import build_scheduler

    logging.basicConfig(level=logging.INFO)
    scheduler = build_scheduler(current_app._get_current_object())
    click.echo(f"worker: {len(scheduler.get_jobs())} jobs scheduled; Ctrl-C stops")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
