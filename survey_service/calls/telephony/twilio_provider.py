"""Twilio: places calls through the REST API and signs its webhooks (X-Twilio-Signature).

Twilio stopped placing calls to mainland China numbers on 2023-11-30; it is
the reference design and the provider for deployments elsewhere. Its webhook
dialect (form fields, TwiML answers, HMAC-SHA1 signatures) is shared with the
simulated provider, so the service is tested against exactly what Twilio sends.

The HTTP transport is twilio's own ``HttpClient`` hook: production uses
``TwilioHttpClient``; tests pass a recording fake and Twilio is never reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from survey_service.calls.telephony.base import (
    ANSWERED,
    BUSY,
    CANCELED,
    FAILED,
    INVALID_NUMBER,
    MACHINE,
    NO_ANSWER,
    CallEnd,
    CallRejected,
    ProviderError,
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
# The only status callback event asked for: the call's end (any final CallStatus).
STATUS_CALLBACK_EVENTS = ["completed"]


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

    def call_end(self, params: Mapping[str, Any]) -> CallEnd | None:
        provider_status = params.get("CallStatus") or ""
        status = _FINAL_STATUS.get(provider_status)
        if status is None:
            return None  # queued, initiated, ringing, in-progress: not an end
        if status == FAILED and str(params.get("SipResponseCode") or "") in INVALID_NUMBER_SIP:
            status = INVALID_NUMBER
        if status == ANSWERED and str(params.get("AnsweredBy") or "").startswith("machine"):
            status = MACHINE
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
        # http_client=None: twilio's TwilioHttpClient (real HTTPS). Tests pass a fake.
        self._client = Client(account_sid, auth_token, http_client=http_client)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> TwilioProvider:
        return cls(
            account_sid=config.get("TWILIO_ACCOUNT_SID") or "",
            auth_token=config.get("TWILIO_AUTH_TOKEN") or "",
            from_number=config.get("TWILIO_FROM_NUMBER") or "",
            **kwargs,
        )

    def place_call(self, *, to: str, webhook_url: str, status_callback_url: str) -> str:
        """Create the outbound call; Twilio posts to ``webhook_url`` once it is answered.

        :raise CallRejected: on a Twilio REST error (``invalid_number`` for 21211/21217).
        """
        try:
            call = self._client.calls.create(
                to=to,
                from_=self._from,
                url=webhook_url,
                method="POST",
                status_callback=status_callback_url,
                status_callback_method="POST",
                status_callback_event=STATUS_CALLBACK_EVENTS,
                # The scripts' introduction tells the respondent the call is
                # recorded; Twilio keeps the recording with the call.
                record=True,
            )
        except TwilioRestException as exc:
            raise CallRejected(
                f"Twilio {exc.code}: {exc.msg}", invalid_number=exc.code in INVALID_NUMBER_ERRORS
            ) from exc
        return call.sid
