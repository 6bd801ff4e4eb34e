"""Call-centre commands: ``flask --app wsgi calls ...`` (the calling rules, by hand).

Registered from :mod:`survey_service.cli`; like the other commands, bad
input goes to stderr naming what and where, with exit status 2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from survey_service.calls import rules
from survey_service.calls.rules import Attempt, RuleError, Rules
from survey_service.cli import needs_no_app

calls_cli = AppGroup("calls", help="Call centre: the calling rules.")


class BadInput(click.ClickException):
    """Bad input: message on stderr, exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"错误: {self.format_message()}", err=True)


@calls_cli.command("plan")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@needs_no_app
def calls_plan(file: Path, as_json: bool) -> None:
    """Apply the calling rules to the case history in FILE, without a database.

    FILE is JSON: {"client_kind": "群众"|"企业"|"未注明", "settings": {...overrides...},
    "now": "...", "attempts": [{"at": "2017-06-05T19:00:00+08:00", "outcome": "3.13",
    "refusal": "soft"|"hard" (2.11 only), "appointment_at": "..." (2.21 only)}]}, times
    in ISO 8601 with their offset ("now" is used when there is no attempt yet). Prints
    final, next_at (in the rules' time zone), day_part, attempts, needs_senior and
    do_not_call.
    """
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"无法读取 {file}：{exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"文件 {file} 不是 UTF-8 JSON：{exc}") from exc
    try:
        case_rules, now, attempts = read_case(data)
        result = rules.plan(attempts, case_rules, now=now)
    except RuleError as exc:
        raise BadInput(str(exc)) from exc
    figures = result.as_json(case_rules.timezone)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
        return
    for key, value in figures.items():
        click.echo(f"{key}: {value}")


def _moment(value: Any, what: str, number: int | None) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise RuleError(f"{what} 不是 ISO 8601 时间：{value!r}", number) from exc
    if moment.utcoffset() is None:
        raise RuleError(f"{what} 缺少时区偏移（如 +08:00）：{value!r}", number)
    return moment


def read_case(data: Any) -> tuple[Rules, datetime, list[Attempt]]:
    """The rules, "now" and the attempts of a ``calls plan`` input (see the command's help).

    :raise RuleError: naming the attempt when one cannot be read.
    """
    if not isinstance(data, Mapping):
        raise RuleError("输入应为 JSON 对象")
    unknown = set(data) - {"client_kind", "settings", "now", "attempts"}
    if unknown:
        raise RuleError(f"未知的字段：{', '.join(sorted(unknown))}")
    kind = data.get("client_kind") or rules.UNKNOWN_KIND
    if kind not in rules.DEFAULT_ALLOWED:
        raise RuleError(f"client_kind 应为 群众、企业 或 未注明，而不是 {kind!r}")
    case_rules = Rules.from_settings(data.get("settings") or {}, kind)
    raw_attempts = data.get("attempts") or []
    if not isinstance(raw_attempts, list):
        raise RuleError("attempts 应为列表")
    now_raw = data.get("now")
    if now_raw is None and not raw_attempts:
        raise RuleError("没有拨打记录时需要 now")
    now = _moment(now_raw, "now", None) if now_raw is not None else None
    attempts = []
    for number, raw in enumerate(raw_attempts, start=1):
        if not isinstance(raw, Mapping) or "at" not in raw or "outcome" not in raw:
            raise RuleError("每次拨打需要 at 和 outcome", number)
        extra = set(raw) - {"at", "outcome", "refusal", "appointment_at"}
        if extra:
            raise RuleError(f"未知的字段：{', '.join(sorted(extra))}", number)
        appointment = raw.get("appointment_at")
        attempts.append(
            Attempt(
                at=_moment(raw["at"], "at", number),
                outcome=str(raw["outcome"]),
                refusal=raw.get("refusal"),
                appointment_at=_moment(appointment, "appointment_at", number)
                if appointment is not None
                else None,
            )
        )
    return case_rules, now or attempts[0].at, attempts
