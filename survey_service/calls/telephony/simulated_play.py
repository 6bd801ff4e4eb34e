"""The demo's phone network: simulated respondents take the calls the worker placed.

With ``TELEPHONY_PROVIDER=simulated`` and ``PUBLIC_BASE_URL`` set (``make run``),
the worker dials the demo's cases and then plays each call against the
running web app over HTTP, with Twilio-signed webhooks, so the calls can be
watched progressing on the supervisor's page. The worker plays them through
a :class:`~survey_service.calls.telephony.simulated_network.SimulatedNetwork`
whose rates and per-unit satisfaction come from the ``SIMULATED_NETWORK``
file (:func:`network_from_config`; unset: the bundled one). Without a
network each call's behaviour is drawn from its call id: most are answered
and walk the script with random ratings, some ring out, a few are busy.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from survey_service.calls.telephony.simulated import (
    ANSWER,
    PlacedCall,
    SimulatedProvider,
    SimulatedRespondent,
    Transport,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

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


def unit_lookup(engine: Engine, vault) -> Callable[[str], str | None]:
    """number -> the code of the unit whose case holds it (by its lookup hash), or None."""
    from sqlmodel import Session, select

    from survey_service.models import Case, Client, Unit

    def unit_of(number: str) -> str | None:
        with Session(engine) as session:
            return session.exec(
                select(Unit.code)
                .join(Case, Case.unit_id == Unit.id)
                .join(Client, Client.id == Case.client_id)
                .where(Client.phone_hash == vault.lookup_hash(number))
                .order_by(Case.id.desc())
            ).first()

    return unit_of


def network_from_config(
    config: Mapping[str, Any], *, engine: Engine, vault, transport: Transport, auth_token: str
) -> SimulatedNetwork:
    """The network the ``SIMULATED_NETWORK`` file describes (unset: the bundled file).

    :raise OSError, ValueError: if the file cannot be read or holds an unusable value.
    """
    from survey_service.calls.telephony.simulated_network import SimulatedNetwork, load_settings

    settings = load_settings(config.get("SIMULATED_NETWORK") or None)
    return SimulatedNetwork(settings, transport, auth_token, unit_of=unit_lookup(engine, vault))


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
