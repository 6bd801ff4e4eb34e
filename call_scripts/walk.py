"""Walk a script in a terminal, as an agent or as the IVR would.

This is what ``flask --app wsgi scripts walk FILE`` runs; ``input_fn`` and
``output_fn`` are ``input`` and ``print`` there, and scripted functions in
tests.

Agent mode: type an option's key digit (the same digit the IVR uses) or its
code; free text for an open item; an empty line skips a skippable item; ``<``
goes back one item. IVR mode: type the key pressed; an empty line is "no key";
the repeat key reads the item again; after ``ivr.max_retries`` repeats
without a valid key the call is given up. End of input stops the walk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from call_scripts.engine import (
    INVALID,
    REPEAT,
    ScriptUsageError,
    back,
    interpret,
    next_item,
    status,
)
from call_scripts.model import AGENT, IVR, OPEN, Script
from call_scripts.render import closing_text, fill, key_menu
from call_scripts.scoring import respondent_score

BACK = "<"


@dataclass
class WalkResult:
    """Where a walk ended: the answers, the status, and whether the IVR gave up."""

    answers: dict[str, str] = field(default_factory=dict)
    status: str = "in_progress"
    gave_up: bool = False
    stopped: bool = False


def walk(
    script: Script,
    input_fn: Callable[[str], str],
    output_fn: Callable[[str], Any],
    context: Mapping[str, Any],
    *,
    channel: str = AGENT,
    answers: Mapping[str, str] | None = None,
) -> WalkResult:
    """Run the interview in a terminal and return the answers given."""
    result = WalkResult(answers=dict(answers or {}))
    output_fn(f"== {script.title} ({script.id} v{script.version}, {channel}) ==")
    attempt = 0
    shown: str | None = None
    while (item := next_item(script, result.answers, channel)) is not None:
        if shown != item.id:
            for statement in script.preamble(item):
                if channel in statement.channels:
                    words = statement.ivr_text if channel == IVR else statement.text
                    output_fn(fill(words or statement.text, context))
            attempt = 0
        shown = item.id
        _show(script, item, context, channel, output_fn)
        try:
            raw = input_fn("> ")
        except EOFError:
            result.stopped = True
            break
        raw = raw.strip()
        if channel == AGENT and raw == BACK:
            try:
                _went_to, result.answers = back(script, result.answers)
            except ScriptUsageError as exc:
                output_fn(str(exc))
            shown = None
            continue
        if channel == AGENT and item.kind != OPEN:
            option = item.option_for_key(raw)
            raw = option.code if option else raw
        meaning = interpret(script, item.id, raw, channel, attempt=attempt)
        if meaning.action == REPEAT:
            continue
        if meaning.action == INVALID:
            output_fn(meaning.message or "")
            attempt += 1
            if channel == IVR and attempt > script.ivr.max_retries:
                output_fn(fill(script.ivr.goodbye, context))
                result.gave_up = True
                break
            continue
        result.answers = {**result.answers, item.id: meaning.value or ""}
    result.status = status(script, result.answers, channel)
    if not (result.gave_up or result.stopped):
        output_fn(closing_text(script, context, result.status))
    output_fn(f"-- status: {result.status}")
    score = respondent_score(script, result.answers)
    output_fn(f"-- score: {'none' if score is None else f'{score:.2f}'}")
    return result


def _show(
    script: Script, item: Any, context: Mapping[str, Any], channel: str, output_fn: Callable
) -> None:
    if channel == IVR:
        output_fn(fill(item.ivr_text or item.text, context))
        output_fn(key_menu(script, item))
        return
    output_fn(f"[{fill(item.title, context)}] {fill(item.text, context)}")
    for opt in item.options:
        output_fn(f"  {opt.key}) {fill(opt.label, context)}  ({opt.code})")
    if item.kind == OPEN:
        output_fn("  (记录回答原话)")
    if item.may_skip:
        output_fn("  (空行：跳过)")
