"""Twilio: places calls through the REST API and signs its webhooks (X-Twilio-Signature).

Twilio stopped placing calls to mainland China numbers on 2023-11-30; it is
the reference design and the provider for deployments elsewhere. Its webhook
dialect (form fields, TwiML answers, HMAC-SHA1 signatures) is shared with the
simulated provider, so the service is tested against exactly what Twilio sends.

The HTTP transport is twilio's own ``HttpClient`` hook: production uses
``TwilioHttpClient``; tests pass a recording fake and Twilio is never reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from survey_service.calls.telephony.base import (
    ANSWERED,
    BUSY,
    CANCELED,
    FAILED,
    FAX,
    INVALID_NUMBER,
    MACHINE,
    NO_ANSWER,
    CallEnd,
    CallRejected,
    CallUncertain,
    ProviderError,
    Recording,
    recording_callback_url,
)

# REST errors on calls.create that say the number itself is bad (AAPOR 4.31):
# 21211 invalid 'To' number, 21217 "phone number does not appear to be valid".
INVALID_NUMBER_ERRORS = frozenset({21211, 21217})
# SIP codes in a failed call's status callback that say the number does not
# exist: 404 not found, 410 gone, 484 address incomplete, 604 does not exist anywhere.
INVALID_NUMBER_SIP = frozenset({"404", "410", "484", "604"})
# Twilio's final CallStatus values and what they mean here.
_FINAL_STATUS = {
    "completed": ANSWERED,
    "no-answer": NO_ANSWER,
    "busy": BUSY,
    "failed": FAILED,
    "canceled": CANCELED,
}
# Every status callback event: each is numbered (SequenceNumber), so one that
# arrives late or twice changes nothing; only a final CallStatus ends the attempt.
STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Defaults of the settings TWILIO_RING_TIMEOUT, TWILIO_HTTP_TIMEOUT, TWILIO_MAX_RETRIES.
RING_TIMEOUT = 30  # seconds a call rings before it is no-answer
HTTP_TIMEOUT = 10.0  # seconds for a REST request (twilio's client has no default)
MAX_RETRIES = 3  # REST 429 (too many requests) retries, with exponential backoff


class TwilioWebhooks:
    """Reading and checking Twilio-style webhook requests (shared with the simulator)."""

    signature_header = "X-Twilio-Signature"

    def __init__(self, auth_token: str):
        if not auth_token:
            raise ProviderError("TWILIO_AUTH_TOKEN must be set to validate webhooks")
        self._validator = RequestValidator(auth_token)

    def validate_request(self, url: str, params: Mapping[str, Any], signature: str) -> bool:
        """Check the X-Twilio-Signature of a request to ``url`` with form ``params``."""
        if not signature:
            return False
        return self._validator.validate(url, params, signature)

    def call_id(self, params: Mapping[str, Any]) -> str | None:
        return params.get("CallSid") or None

    def digits(self, params: Mapping[str, Any]) -> str:
        return (params.get("Digits") or "").strip()

    def sequence_number(self, params: Mapping[str, Any]) -> int | None:
        value = str(params.get("SequenceNumber") or "")
        return int(value) if value.isdigit() else None

    def recording(self, params: Mapping[str, Any]) -> Recording | None:
        """RecordingSid and RecordingUrl of a completed recording (Twilio's recording callback)."""
        sid = str(params.get("RecordingSid") or "").strip()
        if not sid or (params.get("RecordingStatus") or "completed") != "completed":
            return None
        return Recording(sid=sid, url=str(params.get("RecordingUrl") or "").strip() or None)

    def call_end(self, params: Mapping[str, Any]) -> CallEnd | None:
        provider_status = params.get("CallStatus") or ""
        status = _FINAL_STATUS.get(provider_status)
        if status is None:
            return None  # queued, initiated, ringing, in-progress: not an end
        if status == FAILED and str(params.get("SipResponseCode") or "") in INVALID_NUMBER_SIP:
            status = INVALID_NUMBER
        answered_by = str(params.get("AnsweredBy") or "")
        if status == ANSWERED and answered_by.startswith("machine"):
            status = MACHINE
        elif status == ANSWERED and answered_by == "fax":
            status = FAX
        duration = params.get("CallDuration")
        return CallEnd(
            status=status,
            provider_status=provider_status,
            duration_seconds=int(duration) if str(duration or "").isdigit() else None,
        )


class TwilioProvider(TwilioWebhooks):
    """Places calls with ``twilio.rest.Client(...).calls.create``."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        http_client: HttpClient | None = None,
        ring_timeout: int = RING_TIMEOUT,
        http_timeout: float = HTTP_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(auth_token)
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", account_sid),
                ("TWILIO_FROM_NUMBER", from_number),
            )
            if not value
        ]
        if missing:
            raise ProviderError(f"the twilio provider needs {', '.join(missing)}")
        self._from = from_number
        self._ring_timeout = int(ring_timeout)
        self._max_retries = int(max_retries)
        self._sleep = sleep
        # http_client=None: twilio's TwilioHttpClient (real HTTPS), with a timeout:
        # its default waits for ever. Tests pass a recording fake.
        if http_client is None:
            http_client = TwilioHttpClient(timeout=float(http_timeout))
        self._client = Client(account_sid, auth_token, http_client=http_client)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> TwilioProvider:
        return cls(
            account_sid=config.get("TWILIO_ACCOUNT_SID") or "",
            auth_token=config.get("TWILIO_AUTH_TOKEN") or "",
            from_number=config.get("TWILIO_FROM_NUMBER") or "",
            ring_timeout=int(config.get("TWILIO_RING_TIMEOUT") or RING_TIMEOUT),
            http_timeout=float(config.get("TWILIO_HTTP_TIMEOUT") or HTTP_TIMEOUT),
            max_retries=int(config.get("TWILIO_MAX_RETRIES") or MAX_RETRIES),
            **kwargs,
        )

    def place_call(self, *, to: str, webhook_url: str, status_callback_url: str) -> str:
        """Create the outbound call; Twilio posts to ``webhook_url`` once it is answered.

        Asks for every status callback event, answering-machine detection (a
        machine is 3.14, or 2.22 once the respondent is known; a fax 4.20) and
        a ring timeout. A REST 429 is retried with exponential backoff.

        :raise CallRejected: on a Twilio REST error (``invalid_number`` for 21211/21217).
        :raise CallUncertain: on a timeout, a lost connection or a server error (5xx):
            the call may exist; :meth:`find_call` says.
        """
        recording = {}
        recording_url = recording_callback_url(status_callback_url)
        if recording_url is not None:
            # Twilio posts RecordingSid/RecordingUrl here once the recording is stored.
            recording = {
                "recording_status_callback": recording_url,
                "recording_status_callback_method": "POST",
                "recording_status_callback_event": ["completed"],
            }
        for attempt in range(self._max_retries + 1):
            try:
                call = self._client.calls.create(
                    to=to,
                    from_=self._from,
                    url=webhook_url,
                    method="POST",
                    status_callback=status_callback_url,
                    status_callback_method="POST",
                    status_callback_event=STATUS_CALLBACK_EVENTS,
                    timeout=self._ring_timeout,
                    machine_detection="Enable",
                    # The scripts' introduction tells the respondent the call is
                    # recorded; Twilio keeps the recording with the call.
                    record=True,
                    **recording,
                )
                return call.sid
            except TwilioRestException as exc:
                if exc.status == 429 and attempt < self._max_retries:
                    self._sleep(0.5 * 2**attempt)
                    continue
                if exc.status >= 500:
                    raise CallUncertain(f"Twilio {exc.status}: {exc.msg}") from exc
                raise CallRejected(
                    f"Twilio {exc.code}: {exc.msg}",
                    invalid_number=exc.code in INVALID_NUMBER_ERRORS,
                ) from exc
            except OSError as exc:  # requests' Timeout and ConnectionError are OSErrors
                raise CallUncertain(f"{type(exc).__name__}: {exc}") from exc
        raise CallRejected("Twilio 429: too many requests")  # pragma: no cover - loop returns

    def find_call(self, *, to: str, since: datetime) -> str | None:
        """The id of a call to ``to`` created since ``since``, if Twilio has one."""
        calls = self._client.calls.list(to=to, start_time_after=since, limit=20)
        for call in calls:
            if getattr(call, "from_", None) in (None, self._from):
                return call.sid
        return None
