"""The demo's phone network: simulated respondents take the calls the worker placed.

With ``TELEPHONY_PROVIDER=simulated`` and ``PUBLIC_BASE_URL`` set (``make run``),
the worker dials the demo's cases and then plays each call against the
running web app over HTTP, with Twilio-signed webhooks, so the calls can be
watched progressing on the supervisor's page. Each call's behaviour is
drawn from its call id: most are answered and walk the script with random
ratings, some ring out, a few are busy. Given a
:class:`~survey_service.calls.telephony.simulated_network.SimulatedNetwork`,
the calls are played as its settings file says instead.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from survey_service.calls.telephony.simulated import (
    ANSWER,
    PlacedCall,
    SimulatedProvider,
    SimulatedRespondent,
    Transport,
)

if TYPE_CHECKING:
    from survey_service.calls.telephony.simulated_network import SimulatedNetwork

log = logging.getLogger(__name__)
# (what the respondent does, weight)
BEHAVIOUR = ((ANSWER, 7), ("no-answer", 2), ("busy", 1))


def respondent_for(call: PlacedCall, transport: Transport, auth_token: str) -> SimulatedRespondent:
    """A respondent whose answer and keys are drawn from ``call``'s id (reproducible)."""
    rng = random.Random(call.call_id)
    answer = rng.choices([b for b, _w in BEHAVIOUR], [w for _b, w in BEHAVIOUR])[0]
    keys = ["1", "1"] + [rng.choice("123452") for _ in range(8)]
    return SimulatedRespondent(transport, auth_token, keys=keys, answer=answer)


def _play(respondent: SimulatedRespondent, call: PlacedCall) -> None:
    try:
        respondent.take(call)
    except Exception:
        log.exception("simulated call %s failed", call.call_id)


def play_calls(
    provider: SimulatedProvider,
    transport: Transport,
    *,
    submit: Callable[..., object] | None = None,
    network: SimulatedNetwork | None = None,
) -> int:
    """Hand every call placed since the last time to a respondent; return how many.

    ``submit`` (an executor's) plays them in the background; without it they
    are played one after the other here.
    """
    calls = provider.take_calls()
    for call in calls:
        if network is None:
            respondent = respondent_for(call, transport, provider.auth_token)
        else:
            _plan, respondent = network.respondent(call)
        if submit is None:
            _play(respondent, call)
        else:
            submit(_play, respondent, call)
    return len(calls)
