"""One turn of an Alibaba ``SmartCall``: the callback's fields, the DynamicId, the reply.

SmartCall calls the service back on every event of the call (the
"智能外呼回调" HTTP interface, one URL configured in the console): POST with
``call_id``, ``timestamp``, ``content_type`` (``normal`` speech, ``mute``
silence, ``timebreak``, ``dtmf`` a key, ``parallel_transfer``) and
``content``, a JSON object that carries the ``dynamic_id`` the previous
reply set. The reply names what to play next.

State rides in the DynamicId, never in a server session::

    <attempt id>.<item id or ->.<try>.<hmac>

``-`` means the interview has not started (the opening is playing). The
HMAC (SHA-256 under the app's secret key, 16 hex digits) makes it
unforgeable; Alibaba forbids ``@ = : " $ { } ^ * ¥`` in callbacks, and the
id uses none of them.

How a turn is answered (the same engine calls as the Twilio webhooks):

- any event while ``-``: the introduction and the first item;
- ``dtmf``: the key is the answer to the item named in the DynamicId;
- ``mute``: no key within the wait, the same as Twilio's empty ``<Gather>``;
- ``normal``/``timebreak`` (the respondent spoke): ignored, the prompt goes on
  (the IVR takes keys only).

The reply (:func:`reply`) is a JSON object: ``dynamic_id``, ``voice_code``
(comma-separated approved voice-file codes and ``$pN$`` text-to-speech
variables, as in SmartCall's ``VoiceCode``), ``voice_code_param`` (the
variables' text, JSON, as in ``VoiceCodeParam``), ``action_break``,
``mute_time`` (ms to wait for a key) and ``hangup``. Which prompt source an
item uses is a setting (``ALIYUN_VOICE_FILES``: item id, or ``script:item``,
to an approved voice-file code); every other item is read by TTS.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import call_scripts
from call_scripts import Item, Script

NOT_STARTED = "-"
# Characters Alibaba does not allow anywhere in a SmartCall callback.
FORBIDDEN_CHARS = re.compile(r"[@=:\"$\{\}\^\*¥]")
_DYNAMIC_ID = re.compile(r"^(\d+)\.([a-z][a-z0-9_]*|-)\.(\d+)\.([0-9a-f]{16})$")

DTMF = "dtmf"
MUTE = "mute"
SPEECH_TYPES = frozenset({"normal", "timebreak", "parallel_transfer"})


@dataclass(frozen=True)
class TurnState:
    """What the DynamicId says: which attempt, which item is asked, which try."""

    attempt_id: int
    item_id: str  # NOT_STARTED before the introduction
    try_no: int = 0


def _sig(key: str | bytes, attempt_id: int, item_id: str, try_no: int) -> str:
    secret = key.encode() if isinstance(key, str) else key
    message = f"aliyun-turn|{attempt_id}|{item_id}|{try_no}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:16]


def dynamic_id(key: str | bytes, state: TurnState) -> str:
    """The DynamicId that carries ``state`` to the next callback."""
    sig = _sig(key, state.attempt_id, state.item_id, state.try_no)
    return f"{state.attempt_id}.{state.item_id}.{state.try_no}.{sig}"


def parse_dynamic_id(key: str | bytes, value: str) -> TurnState | None:
    """The state in a DynamicId, or None if it is malformed or not signed by us."""
    match = _DYNAMIC_ID.match(value or "")
    if match is None:
        return None
    attempt_id, item_id, try_no = int(match[1]), match[2], int(match[3])
    if not hmac.compare_digest(_sig(key, attempt_id, item_id, try_no), match[4]):
        return None
    return TurnState(attempt_id, item_id, try_no)


@dataclass(frozen=True)
class Turn:
    """One callback request, read."""

    call_id: str
    content_type: str
    dynamic_id: str
    digits: str
    timestamp: str


def parse_turn(params: Mapping[str, Any]) -> Turn:
    """Read a callback's fields (query string or form); a bad ``content`` reads as empty."""
    raw = params.get("content") or "{}"
    try:
        content = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except (TypeError, ValueError):
        content = {}
    if not isinstance(content, dict):
        content = {}
    content_type = str(params.get("content_type") or "").strip()
    digits = ""
    if content_type == DTMF:
        digits = str(content.get("dtmf") or content.get("words") or "").strip()
    return Turn(
        call_id=str(params.get("call_id") or ""),
        content_type=content_type,
        dynamic_id=str(content.get("dynamic_id") or ""),
        digits=digits,
        timestamp=str(params.get("timestamp") or ""),
    )


@dataclass
class Prompt:
    """What to play: approved voice files and text-to-speech, in order."""

    parts: list[tuple[str, str]] = field(default_factory=list)  # ("file", code) / ("tts", text)

    def say(self, text: str) -> None:
        text = FORBIDDEN_CHARS.sub("", text).strip()
        if not text:
            return
        if self.parts and self.parts[-1][0] == "tts":
            self.parts[-1] = ("tts", self.parts[-1][1] + text)
        else:
            self.parts.append(("tts", text))

    def play(self, code: str) -> None:
        self.parts.append(("file", code))

    def voice_code(self) -> tuple[str, dict[str, str]]:
        """SmartCall's ``VoiceCode`` and the ``VoiceCodeParam`` variables."""
        codes: list[str] = []
        params: dict[str, str] = {}
        for kind, value in self.parts:
            if kind == "file":
                codes.append(value)
            else:
                name = f"p{len(params) + 1}"
                params[name] = value
                codes.append(f"${name}$")
        return ",".join(codes), params


def voice_file(voice_files: Mapping[str, str], script: Script, key: str) -> str | None:
    """The approved voice-file code for ``key`` in ``script``, if the settings name one."""
    return voice_files.get(f"{script.id}:{key}") or voice_files.get(key) or None


def _segment(prompt: Prompt, voice_files, script: Script, key: str, text: str) -> None:
    code = voice_file(voice_files, script, key)
    if code:
        prompt.play(code)
    else:
        prompt.say(text)


def item_prompt(
    script: Script,
    item: Item,
    context: Mapping[str, Any],
    try_no: int = 0,
    *,
    notice: str | None = None,
    voice_files: Mapping[str, str] | None = None,
) -> Prompt:
    """The item read aloud as Twilio's ``twiml_for_item`` reads it (same texts, same order)."""
    voice_files = voice_files or {}
    prompt = Prompt()
    if notice:
        prompt.say(call_scripts.fill(notice, context))
    if try_no == 0:
        for statement in script.preamble(item):
            if call_scripts.IVR in statement.channels:
                text = call_scripts.fill(statement.ivr_text or statement.text, context)
                _segment(prompt, voice_files, script, statement.id, text)
    text = call_scripts.fill(item.ivr_text or item.text, context)
    code = voice_file(voice_files, script, item.id)
    if code:
        prompt.play(code)  # the approved recording includes the key menu
    else:
        prompt.say(text)
        prompt.say(call_scripts.key_menu(script, item))
    return prompt


def closing_prompt(
    script: Script,
    context: Mapping[str, Any],
    outcome: str,
    *,
    voice_files: Mapping[str, str] | None = None,
) -> Prompt:
    """The closing words for ``outcome`` (complete, partial, screened_out, declined)."""
    key = outcome if outcome in (call_scripts.SCREENED_OUT, call_scripts.DECLINED) else "complete"
    prompt = Prompt()
    text = call_scripts.fill(script.closing_ivr[key], context)
    _segment(prompt, voice_files or {}, script, f"closing_{key}", text)
    return prompt


def give_up_prompt(
    script: Script, context: Mapping[str, Any], *, voice_files: Mapping[str, str] | None = None
) -> Prompt:
    """The goodbye after too many tries without a valid key."""
    prompt = Prompt()
    text = call_scripts.fill(script.ivr.goodbye, context)
    _segment(prompt, voice_files or {}, script, "goodbye", text)
    return prompt


def reply(
    prompt: Prompt | None,
    next_id: str,
    *,
    hangup: bool = False,
    mute_time_ms: int | None = None,
    action_break: bool = False,
) -> dict[str, Any]:
    """The callback's answer; ``prompt`` None keeps the current prompt going."""
    body: dict[str, Any] = {"dynamic_id": next_id, "hangup": hangup}
    if prompt is not None:
        code, params = prompt.voice_code()
        body["voice_code"] = code
        if params:
            body["voice_code_param"] = json.dumps(params, ensure_ascii=False)
        body["action_break"] = action_break
    if mute_time_ms is not None:
        body["mute_time"] = mute_time_ms
    return body
