"""Commands of the privacy stage: the retention purge, and ``clients check``'s masking.

The purge commands are registered under ``flask --app wsgi waves`` by
:mod:`survey_service.cli`.
"""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from survey_service.cli import BadInput, _run
from survey_service.db import get_engine, get_session
from survey_service.errors import ServiceError


def _bad_input(message: str) -> click.ClickException:
    return BadInput(message)


def _operator() -> str:
    """Who runs the command, as the system knows them (for the audit log)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.command("purge")
@click.argument("name", required=False)
@click.option("--due", is_flag=True, help="Purge every closed wave whose purge date has come.")
@click.option(
    "--no-compact", is_flag=True, help="Do not rewrite the database files afterwards (VACUUM)."
)
def waves_purge(name: str | None, due: bool, no_compact: bool) -> None:
    """Delete closed wave NAME's names, numbers, stored files and staff-number hashes.

    Answers stay under the cases' pseudonyms and the frozen figures stay as
    published; the purge is written to the audit log. An open wave is refused.
    """
    from survey_service.privacy import files, retention
    from survey_service.setup.waves import current_wave

    if bool(name) == due:
        raise _bad_input("请给出轮次名称 NAME，或 --due（二者取一）")
    by = _operator()

    def work(session):
        waves = retention.due_waves(session, date.today()) if due else [current_wave(session, name)]
        return [retention.purge_wave(session=session, wave=w, by=by) for w in waves]

    reports = _run(work)
    for report in reports:
        click.echo(
            f"wave {report.wave} purged: {report.clients_deleted} clients deleted, "
            f"{report.clients_emptied} emptied (sampled), {report.files} files "
            f"({report.chunks} chunks), {report.rejected_rows} rejected rows, "
            f"{report.staff_numbers} staff numbers, {report.notes_redacted} notes and "
            f"{report.answers_redacted} answers with numbers redacted; "
            f"{report.do_not_call_unlinked} do-not-call entries unlinked from their case"
        )
    if due and not reports:
        click.echo("no wave is due for purging")
    vault = current_app.extensions["phone_vault"]
    files.sweep_temp_dir(vault.temp_dir)
    if reports and not no_compact:
        get_session().close()
        click.echo(retention.compact(get_engine()))


@click.command("purge-after")
@click.argument("name")
@click.argument("when")
def waves_purge_after(name: str, when: str) -> None:
    """Set the date (YYYY-MM-DD) from which `waves purge --due` purges wave NAME."""
    from survey_service.privacy import retention
    from survey_service.setup.waves import current_wave

    def work(session):
        wave = current_wave(session, name)
        return retention.set_purge_after(
            session=session, wave=wave, when=retention.parse_date(when)
        )

    wave = _run(work)
    click.echo(f"wave {wave.name}: personal data to be purged from {when}")


WAVE_COMMANDS = (waves_purge, waves_purge_after)

privacy_cli = AppGroup("privacy", help="Personal data at rest.")


@privacy_cli.command("seal-existing")
def privacy_seal_existing() -> None:
    """Encrypt names, rejected raw values and stored files kept in clear by older versions.

    Run once after `db upgrade` to revision 0003 on a database that holds lists;
    running it again finds nothing to do.
    """
    from survey_service.privacy.legacy import seal_existing

    vault = current_app.extensions["phone_vault"]
    counts = _run(lambda session: seal_existing(session, vault))
    click.echo(
        f"sealed {counts.names} names, {counts.raw_values} rejected raw values, "
        f"{counts.files} stored files"
    )


def checked_report(report: dict, file: Path, full: bool) -> dict:
    """``clients check``'s report masked, or in full with an audit entry (needs the database)."""
    if not full:
        return mask_check_report(report)
    from survey_service import audit

    by = _operator()

    def work(session):
        audit.record(
            session,
            user=None,
            action="clients.check.reveal",
            object_type="file",
            object_id=file.name[:64],
            by=by,
            rows=len(report.get("rows", [])),
        )

    try:
        _run(work)
    except (ServiceError, click.ClickException):
        raise
    except Exception as exc:  # no database to write the audit entry to
        raise _bad_input(f"--full 需要写入审计日志，但数据库不可用：{type(exc).__name__}") from exc
    return report


def mask_check_report(report: dict) -> dict:
    """``clients check --json``'s report with every number masked (raw and E.164)."""
    from survey_service.privacy.vault import mask_phone, mask_raw

    rows = [
        {**row, "raw": mask_raw(row.get("raw")), "phone_e164": mask_phone(row.get("phone_e164"))}
        if row.get("phone_e164")
        else {**row, "raw": mask_raw(row.get("raw"))}
        for row in report.get("rows", [])
    ]
    return {**report, "rows": rows}
