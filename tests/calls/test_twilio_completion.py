"""Twilio completed: every status event, machine detection, ring and HTTP timeouts, 429
backoff, and an uncertain placement resolved by asking Twilio before any redial."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from sqlmodel import select
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from survey_service.calls import dialling
from survey_service.calls import ivr as ivr_calls
from survey_service.calls.telephony import FAX, MACHINE, CallRejected, CallUncertain
from survey_service.calls.telephony.twilio_provider import TwilioProvider
from survey_service.db import transaction
from survey_service.dispositions import (
    FAX_DATA,
    MACHINE_UNKNOWN,
    RESPONDENT_MACHINE,
    TECHNICAL,
)
from survey_service.models import CallAttempt, Case, CaseStatus
from tests.calls.conftest import BASE, EVENING, make_sample
from tests.calls.holodeck import Holodeck

SID, TOKEN, FROM = "AC" + "0" * 32, "t" * 32, "+15005550006"
CALLS_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls.json"


class Sequence(Holodeck):
    """A holodeck that answers its queued responses (or raises) in turn."""

    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kw):
        from twilio.http.request import Request

        self.requests.append(Request(method, uri, auth, params, data, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, payload = answer
        return Response(status, json.dumps(payload))


def _twilio(http, **kwargs):
    slept = []
    provider = TwilioProvider(
        account_sid=SID,
        auth_token=TOKEN,
        from_number=FROM,
        http_client=http,
        sleep=slept.append,
        **kwargs,
    )
    return provider, slept


CREATED = (201, {"sid": "CA" + "1" * 32, "status": "queued"})


def test_a_call_asks_for_every_event_machine_detection_and_a_ring_timeout():
    http = Sequence(CREATED)
    provider, _ = _twilio(http, ring_timeout=25)
    assert provider.place_call(to="+8613800000000", webhook_url="v", status_callback_url="s")
    (sent,) = http.requests
    assert sent.data["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert sent.data["MachineDetection"] == "Enable"
    assert sent.data["Timeout"] == 25
    assert sent.data["Record"] == "true"


def test_the_real_http_client_has_a_timeout():
    provider = TwilioProvider.from_config(
        {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": FROM,
            "TWILIO_HTTP_TIMEOUT": 7,
        }
    )
    http = provider._client.http_client
    assert isinstance(http, TwilioHttpClient)
    assert http.timeout == 7.0


def test_rest_429_is_retried_with_backoff_then_succeeds():
    busy = (429, {"code": 20429, "message": "Too Many Requests", "status": 429})
    http = Sequence(busy, busy, CREATED)
    provider, slept = _twilio(http)
    assert provider.place_call(to="+86138", webhook_url="v", status_callback_url="s") == (
        "CA" + "1" * 32
    )
    assert slept == [0.5, 1.0]
    assert len(http.requests) == 3


def test_rest_429_past_the_retries_is_a_refusal():
    busy = (429, {"code": 20429, "message": "Too Many Requests", "status": 429})
    http = Sequence(busy, busy)
    provider, slept = _twilio(http, max_retries=1)
    with pytest.raises(CallRejected, match="Twilio 20429"):
        provider.place_call(to="+86138", webhook_url="v", status_callback_url="s")
    assert slept == [0.5]


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("reset"),
        (503, {"code": 20503, "message": "Service Unavailable", "status": 503}),
    ],
)
def test_a_timeout_or_5xx_is_uncertain(failure):
    provider, _ = _twilio(Sequence(failure))
    with pytest.raises(CallUncertain):
        provider.place_call(to="+86138", webhook_url="v", status_callback_url="s")


def test_find_call_asks_twilio_for_calls_to_the_number_since_the_attempt():
    page = {
        "calls": [{"sid": "CA" + "2" * 32, "from": FROM, "to": "+8613800000000"}],
        "meta": {"next_page_url": None, "key": "calls"},
        "next_page_uri": None,
    }
    http = Sequence((200, page))
    provider, _ = _twilio(http)
    since = datetime(2017, 11, 1, 11, 0, tzinfo=UTC)
    assert provider.find_call(to="+8613800000000", since=since) == "CA" + "2" * 32
    (sent,) = http.requests
    assert sent.method == "GET" and sent.url == CALLS_URL
    assert sent.params["To"] == "+8613800000000"
    assert sent.params["StartTime>"] == "2017-11-01T11:00:00Z"


class Uncertain:
    """A provider whose placement times out; ``found`` is what find_call answers."""

    name = "twilio"

    def __init__(self, found):
        self.found = found
        self.asked = []

    def place_call(self, *, to, webhook_url, status_callback_url):
        raise CallUncertain("ReadTimeout: read timed out")

    def find_call(self, *, to, since):
        self.asked.append((to, since))
        if isinstance(self.found, BaseException):
            raise self.found
        return self.found


def _dial(app, session, provider):
    with transaction(session):
        return dialling.dial_due_cases(
            session,
            provider=provider,
            vault=app.extensions["phone_vault"],
            limit=1,
            now=EVENING,
            webhook_base=BASE,
            token_key=app.config["SECRET_KEY"],
        )


def test_an_uncertain_call_that_exists_keeps_its_id(app, session):
    make_sample(session, per_unit=1)
    provider = Uncertain("CA" + "3" * 32)
    result = _dial(app, session, provider)
    assert result.placed == [(1, "CA" + "3" * 32)]
    attempt = session.exec(select(CallAttempt)).one()
    assert (attempt.provider_call_id, attempt.ended_at) == ("CA" + "3" * 32, None)
    (asked,) = provider.asked
    assert asked[0].startswith("+86") and asked[1].replace(tzinfo=UTC) == EVENING


def test_an_uncertain_call_twilio_does_not_know_is_a_technical_problem(app, session):
    make_sample(session, per_unit=1)
    result = _dial(app, session, Uncertain(None))
    assert [outcome for _, outcome, _ in result.failed] == [TECHNICAL]
    attempt = session.exec(select(CallAttempt)).one()
    assert attempt.outcome == TECHNICAL
    assert attempt.note.endswith("the provider has no such call")


def test_an_unresolved_call_stays_open_so_nothing_redials_it(app, session):
    make_sample(session, per_unit=1)
    _dial(app, session, Uncertain(requests.exceptions.ConnectionError("down")))
    attempt = session.exec(select(CallAttempt)).one()
    case = session.exec(select(Case)).one()
    assert attempt.ended_at is None and attempt.outcome is None
    assert case.status == CaseStatus.IN_PROGRESS
    again = _dial(app, session, Uncertain(None))
    assert again.placed == [] and again.failed == []  # the open attempt blocks a redial


@pytest.mark.parametrize(
    ("ever_eligible", "end", "outcome"),
    [
        (False, MACHINE, MACHINE_UNKNOWN),
        (True, MACHINE, RESPONDENT_MACHINE),
        (False, FAX, FAX_DATA),
    ],
)
def test_machine_detection_outcomes(app, session, ever_eligible, end, outcome):
    (case,) = make_sample(session, per_unit=1)
    with transaction(session):
        case.ever_eligible = ever_eligible
        session.add(case)
        attempt = CallAttempt(case_id=case.id, channel="ivr", started_at=EVENING)
        session.add(attempt)
        session.flush()
        case.status = CaseStatus.IN_PROGRESS
        assert ivr_calls.record_call_end(session, case, attempt, end, now=EVENING) == outcome


@pytest.mark.parametrize(
    ("answered_by", "end"), [("machine_start", MACHINE), ("fax", FAX), ("human", "answered")]
)
def test_answered_by_is_read_from_the_status_callback(answered_by, end):
    provider, _ = _twilio(Sequence())
    got = provider.call_end({"CallStatus": "completed", "AnsweredBy": answered_by})
    assert got.status == end
