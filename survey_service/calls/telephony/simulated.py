"""A simulated provider, and respondents that answer its calls with signed webhooks.

:class:`SimulatedProvider` "places" a call by writing it down. A
:class:`SimulatedRespondent` then plays the person called: it answers (or
lets the phone ring out, is busy, or the call fails), listens to the TwiML,
presses its scripted keys, may hang up early, and finally sends the status
callback, each request signed with the same algorithm and token as Twilio's
(``twilio.request_validator.RequestValidator``). The requests go through a
:class:`Transport`: the Flask test client in tests, HTTP for a live server.

Used by the tests and the demo; never in production (the provider refuses
``SURVEY_ENV=production``), since no real phone rings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from twilio.request_validator import RequestValidator

from survey_service.calls.telephony.base import (
    CallRejected,
    ProviderError,
    recording_callback_url,
)
from survey_service.calls.telephony.twilio_provider import TwilioWebhooks

SIMULATED_ACCOUNT = "ACsimulated0000000000000000000000"
SIMULATED_FROM = "+862700000000"
RECORDINGS_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SIMULATED_ACCOUNT}/Recordings"
# What a respondent does with the call (the final CallStatus if it is not answered).
ANSWER = "answer"
NOT_ANSWERED = ("no-answer", "busy", "failed", "canceled")
# Twilio's status callback events before the end, as (event, CallStatus).
EARLY_EVENTS = (("initiated", "initiated"), ("ringing", "ringing"), ("answered", "in-progress"))


def simulated_token(secret_key: str) -> str:
    """The webhook token of the simulated provider when TWILIO_AUTH_TOKEN is unset."""
    return hmac.new(secret_key.encode(), b"simulated-telephony-v1", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PlacedCall:
    """A call the simulated provider was asked to place."""

    call_id: str
    to: str
    webhook_url: str
    status_callback_url: str


class SimulatedProvider(TwilioWebhooks):
    """Records calls instead of placing them; speaks Twilio's webhook dialect.

    ``invalid_numbers`` are refused as non-existent (as Twilio's 21211), to
    exercise the 4.31 path. ``seed`` makes the call ids reproducible.
    """

    name = "simulated"

    def __init__(
        self, auth_token: str, *, invalid_numbers: Iterable[str] = (), seed: int | None = None
    ):
        super().__init__(auth_token)
        self.auth_token = auth_token
        self.invalid_numbers = frozenset(invalid_numbers)
        self.calls: list[PlacedCall] = []
        self._ids = random.Random(seed) if seed is not None else None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> SimulatedProvider:
        if config.get("SURVEY_ENV") == "production":
            raise ProviderError(
                "TELEPHONY_PROVIDER=simulated places no real calls; "
                "choose a real provider when SURVEY_ENV=production"
            )
        token = config.get("TWILIO_AUTH_TOKEN") or simulated_token(str(config["SECRET_KEY"]))
        return cls(token, **kwargs)

    def place_call(self, *, to: str, webhook_url: str, status_callback_url: str) -> str:
        if to in self.invalid_numbers:
            raise CallRejected(f"simulated: {to} is not a valid number", invalid_number=True)
        suffix = f"{self._ids.getrandbits(128):032x}" if self._ids else secrets.token_hex(16)
        call = PlacedCall("CA" + suffix, to, webhook_url, status_callback_url)
        self.calls.append(call)
        return call.call_id

    def take_calls(self) -> list[PlacedCall]:
        """The calls placed since the last take, oldest first."""
        calls, self.calls = self.calls, []
        return calls


class Transport(Protocol):
    """Delivers one webhook POST and returns ``(status, body)``."""

    def post(self, url: str, params: Mapping[str, str], headers: Mapping[str, str]) -> Any: ...


def _deliver(url: str, deliver_to: str | None) -> str:
    """``url`` with its scheme and host replaced by ``deliver_to``'s (a proxy in front)."""
    if not deliver_to:
        return url
    parts = urllib.parse.urlsplit(url)
    base = urllib.parse.urlsplit(deliver_to)
    return urllib.parse.urlunsplit(parts._replace(scheme=base.scheme, netloc=base.netloc))


class FlaskClientTransport:
    """Posts through a Flask test client (the URL's host becomes the request's host).

    ``deliver_to`` (e.g. ``http://localhost``) replaces the scheme and host the
    request is sent to, as a reverse proxy would, while the signature stays
    over the public URL.
    """

    def __init__(self, client: Any, *, deliver_to: str | None = None):
        self._client = client
        self._deliver_to = deliver_to

    def post(self, url: str, params: Mapping[str, str], headers: Mapping[str, str]):
        target = _deliver(url, self._deliver_to)
        response = self._client.post(target, data=dict(params), headers=dict(headers))
        return response.status_code, response.get_data(as_text=True)


class HttpTransport:
    """Posts over HTTP to a running server (``deliver_to`` as for the Flask transport)."""

    def __init__(self, deliver_to: str | None = None, timeout: float = 10.0):
        self._deliver_to = deliver_to
        self._timeout = timeout

    def post(self, url: str, params: Mapping[str, str], headers: Mapping[str, str]):
        target = _deliver(url, self._deliver_to)
        body = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(target, data=body, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


class SimulatedCallError(AssertionError):
    """The service answered a simulated webhook with an error or unreadable TwiML."""


@dataclass(frozen=True)
class SentRequest:
    """One webhook request the respondent sent, and the service's answer."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int
    body: str


@dataclass
class CallRecord:
    """What happened on a simulated call."""

    call: PlacedCall
    final_status: str = ""
    heard: list[str] = field(default_factory=list)  # every <Say>, in order
    pressed: list[str] = field(default_factory=list)
    requests: list[SentRequest] = field(default_factory=list)
    ivr_hung_up: bool = False  # the TwiML ended the call (closing or give-up)
    # Every key press as (item id, key), resends included once.
    presses: list[tuple[str, str]] = field(default_factory=list)

    def last_twiml(self) -> ET.Element:
        for sent in reversed(self.requests):
            if sent.body.lstrip().startswith("<?xml") or sent.body.lstrip().startswith("<Resp"):
                return ET.fromstring(sent.body)
        raise SimulatedCallError("no TwiML was received on this call")


@dataclass(frozen=True)
class StatusPlan:
    """How the status callbacks of one call are delivered (Twilio's are not ordered).

    With a plan the respondent sends every event, numbered by ``SequenceNumber``:
    ``initiated``, ``ringing`` (and ``answered``) before the call, the end last.
    ``swap_early`` delivers ``ringing`` before ``initiated``; ``late_early``
    delivers the last early event after the end; ``repeat_end`` delivers the
    end twice. The service must ignore every callback older than one it saw.
    """

    swap_early: bool = False
    late_early: bool = False
    repeat_end: bool = False


# Chooses the key for a gather: (item id, try number) -> key, "" for none, None to hang up.
KeyChooser = Callable[[str, int], "str | None"]


def _gather_item(action: str) -> tuple[str, int]:
    """The item id and try number in a gather URL (``.../gather/<item>/<try>``)."""
    parts = urllib.parse.urlsplit(action).path.rstrip("/").split("/")
    try:
        return parts[-2], int(parts[-1])
    except (IndexError, ValueError):
        return "", 0


class SimulatedRespondent:
    """Plays one respondent on a placed call, sending signed Twilio-style webhooks.

    :param keys: the key pressed at each ``<Gather>``, in order; ``""`` lets the
        gather time out (no key). When the keys run out the respondent hangs up.
        A :data:`KeyChooser` instead picks each key from the item asked.
    :param answer: ``"answer"``, or the final status of a call that is not
        answered: ``no-answer``, ``busy``, ``failed``, ``canceled``.
    :param hang_up_after: hang up once this many keys have been pressed.
    :param sip_response_code: sent with a failed call (404: no such number).
    :param answered_by: Twilio's machine detection result (``human``,
        ``machine_start``, ``fax``), sent with the voice webhook and the end.
    :param status_plan: send every status event as planned (see
        :class:`StatusPlan`); without it only the end is sent, unnumbered.
    :param resend_presses: indices of key presses whose webhook is delivered twice.
    :param recording: after an answered call's end, deliver Twilio's recording
        callback (RecordingSid, RecordingUrl, RecordingStatus ``completed``) to
        the URL beside the status callback, as a recorded Twilio call would.
    """

    def __init__(
        self,
        transport: Transport,
        auth_token: str,
        *,
        keys: Iterable[str] | KeyChooser = (),
        answer: str = ANSWER,
        hang_up_after: int | None = None,
        sip_response_code: str | None = None,
        max_requests: int = 100,
        answered_by: str | None = None,
        status_plan: StatusPlan | None = None,
        resend_presses: Iterable[int] = (),
        recording: bool = False,
    ):
        if answer != ANSWER and answer not in NOT_ANSWERED:
            raise ValueError(f"answer must be {ANSWER!r} or one of {NOT_ANSWERED}, not {answer!r}")
        self._transport = transport
        self._validator = RequestValidator(auth_token)
        self._choose = keys if callable(keys) else None
        self._keys = [] if callable(keys) else list(keys)
        self._answer = answer
        self._hang_up_after = hang_up_after
        self._sip = sip_response_code
        self._max_requests = max_requests
        self._answered_by = answered_by
        self._plan = status_plan
        self._resend = frozenset(resend_presses)
        self._recording = recording

    def signed_headers(self, url: str, params: Mapping[str, str]) -> dict[str, str]:
        """Headers Twilio would send: the signature of ``url`` and ``params``."""
        return {
            "X-Twilio-Signature": self._validator.compute_signature(url, params),
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def _send(
        self, record: CallRecord, url: str, params: dict[str, str], *, expect_twiml: bool
    ) -> ET.Element | None:
        if len(record.requests) >= self._max_requests:
            raise SimulatedCallError(f"more than {self._max_requests} requests on one call")
        headers = self.signed_headers(url, params)
        status, body = self._transport.post(url, params, headers)
        record.requests.append(SentRequest(url, dict(params), headers, status, body))
        if not 200 <= status < 300:
            raise SimulatedCallError(f"POST {url} -> {status}: {body[:300]}")
        if not expect_twiml:
            return None
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise SimulatedCallError(f"POST {url} did not return TwiML: {body[:300]}") from exc
        if root.tag != "Response":
            raise SimulatedCallError(f"POST {url}: root element is <{root.tag}>, not <Response>")
        return root

    def _next_key(self, keys, action: str) -> str | None:
        if self._choose is None:
            return next(keys, None)
        return self._choose(*_gather_item(action))

    def _status_events(self, base: dict[str, str], answered: bool) -> list[dict[str, str]]:
        """The early events, numbered from 0 (without a plan: none)."""
        if self._plan is None:
            return []
        events = EARLY_EVENTS if answered else EARLY_EVENTS[:2]
        return [
            {**base, "CallStatus": status, "StatusCallbackEvent": event, "SequenceNumber": str(n)}
            for n, (event, status) in enumerate(events)
        ]

    def _send_end(self, record: CallRecord, end: dict[str, str], late: list) -> None:
        url = record.call.status_callback_url
        self._send(record, url, end, expect_twiml=False)
        for event in late:
            self._send(record, url, event, expect_twiml=False)
        if self._plan is not None and self._plan.repeat_end:
            self._send(record, url, end, expect_twiml=False)

    def _send_early(self, record: CallRecord, early: list[dict[str, str]]) -> list:
        """Deliver the early events as planned; return those held back until after the end."""
        if not early:
            return []
        late = [early.pop()] if self._plan.late_early else []
        if self._plan.swap_early and len(early) >= 2:
            early[0], early[1] = early[1], early[0]
        for event in early:
            self._send(record, record.call.status_callback_url, event, expect_twiml=False)
        return late

    def take(self, call: PlacedCall) -> CallRecord:
        """Play the call to its end (status callbacks included) and return what happened."""
        record = CallRecord(call=call)
        base = {
            "AccountSid": SIMULATED_ACCOUNT,
            "ApiVersion": "2010-04-01",
            "CallSid": call.call_id,
            "Direction": "outbound-api",
            "From": SIMULATED_FROM,
            "To": call.to,
        }
        answered = self._answer == ANSWER
        early = self._status_events(base, answered)
        end_number = {"SequenceNumber": str(len(early))} if self._plan else {}
        late = self._send_early(record, early)
        if not answered:
            end = {**base, "CallStatus": self._answer, "CallDuration": "0", **end_number}
            if self._sip:
                end["SipResponseCode"] = self._sip
            record.final_status = self._answer
            self._send_end(record, end, late)
            return record

        live = {**base, "CallStatus": "in-progress"}
        if self._answered_by:
            live["AnsweredBy"] = self._answered_by
        root = self._send(record, call.webhook_url, live, expect_twiml=True)
        keys = iter(self._keys)
        while root is not None:
            gather = root.find("Gather")
            record.heard.extend(say.text or "" for say in root.iter("Say"))
            redirect = root.find("Redirect")
            if gather is None and redirect is not None:
                root = self._send(record, redirect.text.strip(), live, expect_twiml=True)
                continue
            if gather is None:  # <Hangup/>, or nothing left to do: the IVR ended the call
                record.ivr_hung_up = True
                break
            if self._hang_up_after is not None and len(record.pressed) >= self._hang_up_after:
                break
            action = gather.get("action")
            key = self._next_key(keys, action)
            if key is None:
                break
            press = len(record.pressed)
            record.pressed.append(key)
            record.presses.append((_gather_item(action)[0], key))
            root = self._send(record, action, {**live, "Digits": key}, expect_twiml=True)
            if press in self._resend:  # the provider retries: same reply expected
                again = self._send(record, action, {**live, "Digits": key}, expect_twiml=True)
                if ET.tostring(again) != ET.tostring(root):
                    raise SimulatedCallError(f"a resent key press to {action} got another reply")

        record.final_status = "completed"
        duration = str(10 * len(record.requests))
        end = {**base, "CallStatus": "completed", "CallDuration": duration, **end_number}
        if self._answered_by:
            end["AnsweredBy"] = self._answered_by
        self._send_end(record, end, late)
        if self._recording:
            self._send_recording(record, base, duration)
        return record

    def _send_recording(self, record: CallRecord, base: dict[str, str], duration: str) -> None:
        url = recording_callback_url(record.call.status_callback_url)
        if url is None:
            return
        sid = "RE" + hashlib.sha256(record.call.call_id.encode()).hexdigest()[:32]
        params = {
            "AccountSid": base["AccountSid"],
            "CallSid": base["CallSid"],
            "RecordingSid": sid,
            "RecordingUrl": f"{RECORDINGS_URL}/{sid}",
            "RecordingStatus": "completed",
            "RecordingDuration": duration,
            "RecordingChannels": "1",
            "RecordingSource": "OutboundAPI",
        }
        self._send(record, url, params, expect_twiml=False)

    def resend(self, sent: SentRequest) -> SentRequest:
        """Send a recorded request again, exactly (a provider retrying a webhook)."""
        status, body = self._transport.post(sent.url, sent.params, sent.headers)
        return SentRequest(sent.url, sent.params, sent.headers, status, body)


def describe(record: CallRecord) -> str:
    """A readable account of a simulated call, for the demo and failing tests."""
    return json.dumps(
        {
            "to": record.call.to,
            "status": record.final_status,
            "pressed": record.pressed,
            "heard": record.heard,
            "requests": [(r.url, r.status) for r in record.requests],
        },
        ensure_ascii=False,
        indent=2,
    )
