"""What every telephony provider offers the service, and what a call's end means.

Nothing outside :mod:`survey_service.calls.telephony` knows which provider placed a
call: the dialler calls :meth:`Provider.place_call`, the webhooks ask the
provider to check the signature and to read the posted fields, and the end
of a call arrives as one of the provider-neutral :data:`CALL_ENDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# How a call ended, whatever the provider's own words for it.
ANSWERED = "answered"  # the call was answered and has ended (the IVR or the respondent hung up)
NO_ANSWER = "no-answer"  # rang out
BUSY = "busy"
FAILED = "failed"  # the network could not connect the call
INVALID_NUMBER = "invalid-number"  # the provider says the number does not exist
MACHINE = "machine"  # an answering machine took the call (only with machine detection)
CANCELED = "canceled"  # cancelled before it was answered
FAX = "fax"  # a fax or data line answered (only with machine detection)
CALL_ENDS = (ANSWERED, NO_ANSWER, BUSY, FAILED, INVALID_NUMBER, MACHINE, CANCELED, FAX)


class ProviderError(Exception):
    """The provider is misconfigured or cannot be used (a setting is missing)."""


class CallRejected(Exception):
    """The provider refused to place a call.

    ``invalid_number`` is true when it said the number cannot exist (AAPOR
    4.31); any other refusal is a technical problem (3.16).
    """

    def __init__(self, message: str, *, invalid_number: bool = False):
        super().__init__(message)
        self.invalid_number = invalid_number


class CallUncertain(Exception):
    """Placing a call failed in a way that does not say whether the call exists.

    A timeout or a server error may come after the provider created the call;
    placing a call is not idempotent at any provider, so before any redial the
    dialler asks the provider (:meth:`Provider.find_call`) whether it exists.
    """


@dataclass(frozen=True)
class CallEnd:
    """The end of a call as reported by the provider's status callback."""

    status: str  # one of CALL_ENDS
    provider_status: str  # the provider's own word, kept for the attempt's note
    duration_seconds: int | None = None


@dataclass(frozen=True)
class Recording:
    """A call's finished recording, as the provider's recording callback names it."""

    sid: str
    url: str | None = None

    @property
    def ref(self) -> str:
        """What the attempt keeps (``CallAttempt.recording_ref``): the URL, else the id."""
        return self.url or self.sid


STATUS_SUFFIX = "/status"
RECORDING_SUFFIX = "/recording"


def recording_callback_url(status_callback_url: str) -> str | None:
    """The recording callback URL beside a call's status callback URL (``.../recording``).

    None for a status URL not of the service's form (nowhere to send it).
    """
    if not status_callback_url.endswith(STATUS_SUFFIX):
        return None
    return status_callback_url[: -len(STATUS_SUFFIX)] + RECORDING_SUFFIX


@runtime_checkable
class Provider(Protocol):
    """A telephony provider: places calls and vouches for its webhook requests."""

    name: str
    #: HTTP header that carries the provider's signature of a webhook request
    signature_header: str

    def place_call(self, *, to: str, webhook_url: str, status_callback_url: str) -> str:
        """Dial ``to`` (E.164); return the provider's call id.

        The provider posts to ``webhook_url`` when the call is answered and to
        ``status_callback_url`` when it ends.

        :raise CallRejected: if the provider refuses the call.
        """
        ...

    def validate_request(self, url: str, params: Mapping[str, Any], signature: str) -> bool:
        """Whether ``signature`` is the provider's signature of ``url`` and ``params``."""
        ...

    def call_id(self, params: Mapping[str, Any]) -> str | None:
        """The provider's call id in a webhook request."""
        ...

    def digits(self, params: Mapping[str, Any]) -> str:
        """The keys pressed in a gather request (``""`` when none)."""
        ...

    def call_end(self, params: Mapping[str, Any]) -> CallEnd | None:
        """How the call ended, from a status callback; None while it is still going."""
        ...

    def sequence_number(self, params: Mapping[str, Any]) -> int | None:
        """The order of a status callback among the call's callbacks, if numbered."""
        ...

    def recording(self, params: Mapping[str, Any]) -> Recording | None:
        """The finished recording a recording callback names; None if it names none."""
        ...
