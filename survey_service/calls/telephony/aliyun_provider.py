"""Alibaba Cloud 语音服务 ``SmartCall``: the provider for mainland China numbers.

Twilio no longer calls mainland China numbers; of Alibaba's voice APIs only
``SmartCall`` works like Twilio (one HTTP callback per turn, the reply names
what to play next, a ``DynamicId`` echoed on each callback). The call is
placed with the official SDK (``alibabacloud-dyvmsapi20170525``,
``Client.smart_call_with_options``) with the documented parameters:

- ``CalledNumber`` the respondent (national form, mainland numbers only),
  ``CalledShowNumber`` the caller number bought with DTMF support;
- ``VoiceCode``/``VoiceCodeParam`` the opening: an approved voice file
  (``ALIYUN_OPENING_VOICE_CODE``) or TTS of ``ALIYUN_OPENING_TEXT``;
- ``DynamicId`` the attempt, ``-`` (not started) and try 0, signed
  (:mod:`~survey_service.calls.telephony.aliyun_turns`); ``OutId`` the
  attempt id, echoed in the receipts;
- ``RecordFlag`` true (the introduction says the call is recorded);
  ``MuteTime`` how long a turn waits for a key; ``SessionTimeout`` the
  longest call. SmartCall documents no ring timeout: the carrier's applies.

The per-turn callbacks go to the one URL set in Alibaba's console
(``/ivr/aliyun/turn/<ALIYUN_CALLBACK_TOKEN>``, blueprint ``ivr_aliyun``);
receipts come from MNS (:mod:`~survey_service.calls.telephony.aliyun_receipts`).
The SDK's HTTP layer is ``requests``: tests mount a recording adapter
(``transport=``) so the SDK's own request building and signing run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from alibabacloud_dyvmsapi20170525 import models as vms_models
from alibabacloud_dyvmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi_models
from darabonba.core import DaraCore
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException

from survey_service.calls.telephony import aliyun_codes
from survey_service.calls.telephony.aliyun_turns import (
    NOT_STARTED,
    Prompt,
    TurnState,
    dynamic_id,
    parse_turn,
)
from survey_service.calls.telephony.base import CallEnd, CallRejected, ProviderError

DEFAULT_ENDPOINT = "dyvmsapi.aliyuncs.com"
DEFAULT_OPENING = "您好，这里是政务服务满意度回访。"
# API error codes of SmartCall that say the called number is wrong (AAPOR 4.31).
INVALID_NUMBER_ERRORS = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "isv.CALLED_NUMBER_ILLEGAL"})
# The attempt id in the voice URL the dialler hands every provider (calls.ivr.VOICE_PATH).
_ATTEMPT_IN_URL = re.compile(r"/ivr/call/(\d+)/[^/]+/voice$")


def mount_transport(endpoint: str, adapter: Any) -> None:
    """Route the SDK's HTTPS requests to ``endpoint`` through ``adapter`` (tests only).

    darabonba keeps one ``requests.Session`` per endpoint and pool size; the
    adapter is mounted on the very session the SDK will use.
    """
    pool = DaraCore._resolve_pool_maxsize({})
    key = f"https://{endpoint}:80:pool={pool}"
    session = DaraCore._get_session(session_key=key, protocol="HTTPS", verify=True, pool_size=pool)
    session.mount("https://", adapter)


def national_number(e164: str) -> str:
    """``+8613912345678`` -> ``13912345678``; ``+862787654321`` -> ``02787654321``."""
    number = e164.strip()
    if number.startswith("+86"):
        rest = number[3:]
        return rest if rest.startswith("1") else "0" + rest
    return number


def attempt_of(webhook_url: str) -> int:
    """The attempt id in the voice URL the dialler passes to :meth:`AliyunProvider.place_call`."""
    match = _ATTEMPT_IN_URL.search(webhook_url)
    if match is None:
        raise ProviderError(f"no attempt id in the voice URL {webhook_url!r}")
    return int(match[1])


class AliyunProvider:
    """Places calls with ``SmartCall``; reads turns and receipts in Alibaba's format."""

    name = "aliyun"
    # No documented signature: callbacks are checked by token, source and DynamicId HMAC.
    signature_header = ""

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        caller_number: str,
        secret_key: str,
        callback_token: str,
        endpoint: str = DEFAULT_ENDPOINT,
        opening_voice_code: str = "",
        opening_text: str = DEFAULT_OPENING,
        mute_time_ms: int = 8000,
        session_timeout_s: int = 600,
        record: bool = True,
        connect_timeout_ms: int = 3000,
        read_timeout_ms: int = 5000,
        transport: Any = None,
    ):
        missing = [
            name
            for name, value in (
                ("ALIYUN_ACCESS_KEY_ID", access_key_id),
                ("ALIYUN_ACCESS_KEY_SECRET", access_key_secret),
                ("ALIYUN_CALLER_NUMBER", caller_number),
                ("ALIYUN_CALLBACK_TOKEN", callback_token),
                ("SECRET_KEY", secret_key),
            )
            if not value
        ]
        if missing:
            raise ProviderError(f"the aliyun provider needs {', '.join(missing)}")
        self.caller_number = caller_number
        self.callback_token = callback_token
        self._key = secret_key
        self._opening_voice_code = opening_voice_code
        self._opening_text = opening_text
        self.mute_time_ms = mute_time_ms
        self._session_timeout = session_timeout_s
        self._record = record
        self._runtime = RuntimeOptions(
            connect_timeout=connect_timeout_ms, read_timeout=read_timeout_ms, autoretry=False
        )
        config = openapi_models.Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            endpoint=endpoint,
            connect_timeout=connect_timeout_ms,
            read_timeout=read_timeout_ms,
        )
        self._client = Client(config)
        if transport is not None:
            mount_transport(endpoint, transport)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> AliyunProvider:
        return cls(
            access_key_id=config.get("ALIYUN_ACCESS_KEY_ID") or "",
            access_key_secret=config.get("ALIYUN_ACCESS_KEY_SECRET") or "",
            caller_number=config.get("ALIYUN_CALLER_NUMBER") or "",
            secret_key=config.get("SECRET_KEY") or "",
            callback_token=config.get("ALIYUN_CALLBACK_TOKEN") or "",
            endpoint=config.get("ALIYUN_VMS_ENDPOINT") or DEFAULT_ENDPOINT,
            opening_voice_code=config.get("ALIYUN_OPENING_VOICE_CODE") or "",
            opening_text=config.get("ALIYUN_OPENING_TEXT") or DEFAULT_OPENING,
            mute_time_ms=int(config.get("ALIYUN_MUTE_TIME_MS") or 8000),
            session_timeout_s=int(config.get("ALIYUN_SESSION_TIMEOUT") or 600),
            record=str(config.get("ALIYUN_RECORD", "true")).lower() not in ("0", "false", "no"),
            **kwargs,
        )

    def opening(self) -> Prompt:
        prompt = Prompt()
        if self._opening_voice_code:
            prompt.play(self._opening_voice_code)
        else:
            prompt.say(self._opening_text)
        return prompt

    def place_call(self, *, to: str, webhook_url: str, status_callback_url: str) -> str:
        """Place the SmartCall; the turns and receipts arrive at the console-configured URLs.

        :raise CallRejected: if Alibaba refuses (``invalid_number`` for a bad called number).
        """
        attempt_id = attempt_of(webhook_url)
        voice_code, params = self.opening().voice_code()
        request = vms_models.SmartCallRequest(
            called_number=national_number(to),
            called_show_number=self.caller_number,
            voice_code=voice_code,
            voice_code_param=json.dumps(params, ensure_ascii=False) if params else None,
            dynamic_id=dynamic_id(self._key, TurnState(attempt_id, NOT_STARTED, 0)),
            out_id=str(attempt_id),
            record_flag=self._record,
            mute_time=self.mute_time_ms,
            session_timeout=self._session_timeout,
            action_code_break=False,
        )
        try:
            response = self._client.smart_call_with_options(request, self._runtime)
        except TeaException as exc:
            code = str(getattr(exc, "code", "") or "")
            data = getattr(exc, "data", None)
            message = data.get("Message") if isinstance(data, dict) else None
            raise CallRejected(
                f"Aliyun {code}: {message or getattr(exc, 'message', exc)}",
                invalid_number=code in INVALID_NUMBER_ERRORS,
            ) from exc
        body = response.body
        if body is None or body.code != "OK" or not body.call_id:
            code = body.code if body is not None else ""
            raise CallRejected(
                f"Aliyun {code}: {body.message if body is not None else 'empty answer'}",
                invalid_number=code in INVALID_NUMBER_ERRORS,
            )
        return body.call_id

    # The Provider interface's readers, over Alibaba's fields.
    def validate_request(self, url: str, params: Mapping[str, Any], signature: str) -> bool:
        """Alibaba signs nothing: the URL must end in the configured callback token."""
        return bool(self.callback_token) and url.split("?", 1)[0].rstrip("/").endswith(
            "/" + self.callback_token
        )

    def call_id(self, params: Mapping[str, Any]) -> str | None:
        return str(params.get("call_id") or "") or None

    def digits(self, params: Mapping[str, Any]) -> str:
        return parse_turn(params).digits

    def call_end(self, params: Mapping[str, Any]) -> CallEnd | None:
        return aliyun_codes.call_end(params)

    def recording(self, params: Mapping[str, Any]) -> None:
        """Aliyun sends no recording callback to the service's recording route."""
        return None
