"""Render an item for the agent's page (a dict) or for the IVR (TwiML).

Both renderings read the same item, so the agent's options and the IVR's keys
cannot disagree: the spoken key menu is built from the options' labels and
keys, never typed by hand.

IVR protocol, for the webhook that uses :func:`twiml_for_item`:

1. Render the item with ``attempt=0``. Any statements just above it (the
   introduction) are read first, then the question and its key menu, all
   inside ``<Gather input="dtmf" numDigits="1" actionOnEmptyResult="true">``
   so the respondent may press a key at any time, and Twilio posts to
   ``action_url`` even when no key was pressed (``Digits`` empty).
2. Pass ``Digits`` to :func:`call_scripts.engine.interpret` with the same
   ``attempt``. On ``store``, move on; on ``repeat`` (key 9), render again
   with the same ``attempt``; on ``invalid``, render with ``attempt + 1`` and
   ``notice=interpretation.message``.
3. Once ``attempt`` exceeds ``ivr.max_retries`` (2: the question is read at
   most three times), the rendering is a polite goodbye and ``<Hangup/>``.

``action_url`` is used as given: the service puts the case, item and attempt
in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from twilio.twiml.voice_response import Gather, VoiceResponse

from call_scripts.engine import DECLINED, SCREENED_OUT, ScriptUsageError
from call_scripts.model import IVR, PLACEHOLDERS, SKIPPED, Item, Script

_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def fill(text: str, context: Mapping[str, Any]) -> str:
    """``text`` with ``{unit_name}``, ``{service}``, ``{service_date}`` filled from ``context``.

    :raise ScriptUsageError: if ``context`` lacks a placeholder the text uses.
    """

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return match.group(0)
        if context.get(name) in (None, ""):
            raise ScriptUsageError(f"no value for placeholder {{{name}}}")
        return str(context[name])

    return _PLACEHOLDER_RE.sub(sub, text)


def agent_view(script: Script, item: Item, context: Mapping[str, Any]) -> dict[str, Any]:
    """What the agent's page shows for ``item``, placeholders filled.

    Keys: ``id``, ``kind``, ``title``, ``preamble`` (statements to read
    first), ``text``, ``options`` (list of ``(code, label)``), ``may_skip``,
    ``skip_value`` (what to post to skip, or None), ``free_text`` (an open
    item), ``script_id``, ``script_version``.
    """
    return {
        "id": item.id,
        "kind": item.kind,
        "title": fill(item.title, context),
        "preamble": [fill(st.text, context) for st in script.preamble(item)],
        "text": fill(item.text, context),
        "options": [(opt.code, fill(opt.label, context)) for opt in item.options],
        "may_skip": item.may_skip,
        "skip_value": SKIPPED if item.may_skip else None,
        "free_text": not item.is_choice,
        "script_id": script.id,
        "script_version": script.version,
    }


def key_menu(script: Script, item: Item) -> str:
    """The spoken key menu, e.g. "非常满意请按1，满意请按2，……重听请按9。"."""
    phrases = [
        script.ivr.option_phrase.format(label=opt.spoken_label, key=opt.key) for opt in item.options
    ]
    phrases.append(script.ivr.repeat_phrase.format(key=script.ivr.repeat_key))
    return "，".join(phrases) + "。"


def _say(script: Script, parent: VoiceResponse | Gather, text: str) -> None:
    parent.say(text, voice=script.ivr.voice, language=script.ivr.language)


def twiml_give_up(script: Script, context: Mapping[str, Any]) -> str:
    """A polite goodbye and ``<Hangup/>`` after too many tries without a valid key."""
    response = VoiceResponse()
    _say(script, response, fill(script.ivr.goodbye, context))
    response.hangup()
    return str(response)


def twiml_for_item(
    script: Script,
    item: Item,
    context: Mapping[str, Any],
    action_url: str,
    attempt: int = 0,
    *,
    notice: str | None = None,
) -> str:
    """TwiML that reads ``item`` and gathers one key (see the module docstring).

    :raise ScriptUsageError: if the item is not asked by IVR.
    """
    if IVR not in item.channels or not item.is_choice:
        raise ScriptUsageError(f"item {item.id!r} is not asked by IVR")
    if attempt > script.ivr.max_retries:
        return twiml_give_up(script, context)
    response = VoiceResponse()
    if notice:
        _say(script, response, fill(notice, context))
    gather = Gather(
        input="dtmf",
        num_digits=1,
        action=action_url,
        method="POST",
        timeout=script.ivr.timeout,
        action_on_empty_result=True,
    )
    if attempt == 0:
        for statement in script.preamble(item):
            if IVR in statement.channels:
                _say(script, gather, fill(statement.ivr_text or statement.text, context))
    _say(script, gather, fill(item.ivr_text or item.text, context))
    _say(script, gather, key_menu(script, item))
    response.append(gather)
    return str(response)


def closing_text(script: Script, context: Mapping[str, Any], outcome: str = "complete") -> str:
    """The agent's closing words for ``outcome``: complete, screened_out or declined."""
    return fill(script.closing[_closing_key(outcome)], context)


def twiml_closing(script: Script, context: Mapping[str, Any], outcome: str = "complete") -> str:
    """TwiML that says the closing for ``outcome`` and hangs up.

    ``outcome`` is a :func:`call_scripts.engine.status` value: complete (also
    used for partial), screened_out or declined.
    """
    response = VoiceResponse()
    _say(script, response, fill(script.closing_ivr[_closing_key(outcome)], context))
    response.hangup()
    return str(response)


def _closing_key(outcome: str) -> str:
    if outcome in (SCREENED_OUT, DECLINED):
        return outcome
    if outcome in ("complete", "partial"):
        return "complete"
    raise ScriptUsageError(f"no closing for outcome {outcome!r}")
