"""Telephony providers behind one interface, chosen by ``TELEPHONY_PROVIDER``.

A registry maps each setting value to a provider class (the seam of CTFd's
``CHALLENGE_CLASSES``)::

    PROVIDERS = {"twilio": TwilioProvider, "simulated": SimulatedProvider, "aliyun": ...}

Every provider implements :class:`Provider`: ``place_call`` returns the
provider's call id; ``validate_request`` checks a webhook's signature (sent in
the header named ``signature_header``); ``digits``, ``call_id`` and
``call_end`` read the posted fields. Twilio and the simulator share Twilio's
webhook dialect and TwiML. ``aliyun`` (Alibaba Cloud ``SmartCall``, the route
for mainland China numbers since Twilio stopped calling them) answers its
own per-turn callbacks (blueprint ``ivr_aliyun``); see ``aliyun_provider``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from survey_service.calls.telephony.aliyun_provider import AliyunProvider
from survey_service.calls.telephony.base import (
    ANSWERED,
    BUSY,
    CALL_ENDS,
    CANCELED,
    FAILED,
    FAX,
    INVALID_NUMBER,
    MACHINE,
    NO_ANSWER,
    CallEnd,
    CallRejected,
    CallUncertain,
    Provider,
    ProviderError,
)
from survey_service.calls.telephony.simulated import SimulatedProvider
from survey_service.calls.telephony.twilio_provider import TwilioProvider

PROVIDERS: dict[str, Any] = {
    "twilio": TwilioProvider,
    "simulated": SimulatedProvider,
    "aliyun": AliyunProvider,
}


def get_provider(app_config: Mapping[str, Any], **kwargs: Any) -> Provider:
    """The provider named by ``app_config["TELEPHONY_PROVIDER"]``, built from the settings.

    ``kwargs`` go to the provider (e.g. ``http_client=`` for twilio in tests).

    :raise ProviderError: for an unknown name or a missing setting.
    """
    name = app_config.get("TELEPHONY_PROVIDER") or "simulated"
    cls = PROVIDERS.get(name)
    if cls is None:
        raise ProviderError(
            f"unknown TELEPHONY_PROVIDER {name!r}; choose one of {', '.join(sorted(PROVIDERS))}"
        )
    return cls.from_config(app_config, **kwargs)


__all__ = [
    "ANSWERED",
    "BUSY",
    "CALL_ENDS",
    "CANCELED",
    "FAILED",
    "FAX",
    "INVALID_NUMBER",
    "MACHINE",
    "NO_ANSWER",
    "PROVIDERS",
    "AliyunProvider",
    "CallEnd",
    "CallRejected",
    "CallUncertain",
    "Provider",
    "ProviderError",
    "SimulatedProvider",
    "TwilioProvider",
    "get_provider",
]
