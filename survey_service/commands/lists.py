"""Commands of the client-list stage: check a file, import a list."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from survey_service.cli import BadInput, _run, needs_no_app
from survey_service.errors import ServiceError

clients_cli = AppGroup("clients", help="Client lists (服务对象名单).")


@clients_cli.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--area-code", default=None, help="Area code for local numbers (default AREA_CODE).")
@click.option(
    "--sheet", default=None, help="Sheet name (spreadsheets; default the first holding a list)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--full", is_flag=True, help="Full numbers, not masked (written to the audit log).")
@needs_no_app
def clients_check(
    file: Path, area_code: str | None, sheet: str | None, as_json: bool, full: bool
) -> None:
    """Check FILE as a client list without a database; print the outcome of every row.

    Numbers are masked unless --full, which needs the database for its audit entry.
    """
    from survey_service.commands.privacy import checked_report
    from survey_service.lists.parsing import ClientFileError, check_file
    from survey_service.lists.parsing.workbook import SheetLimits

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
            limits=SheetLimits.from_settings(config),
        )
    except ClientFileError as exc:
        raise BadInput(str(exc)) from exc
    report = checked_report(report, file, full)
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
    from survey_service.models import Unit
    from survey_service.setup.waves import current_wave

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
