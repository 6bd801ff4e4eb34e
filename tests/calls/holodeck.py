"""A fake transport for twilio's REST client, after twilio-python's ``tests/holodeck.py``.

It plugs into ``twilio.rest.Client(..., http_client=Holodeck())``, records
every request, answers only from the holograms registered with :meth:`mock`,
and fails loudly on anything else: Twilio is never reached from the tests.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from twilio.http import HttpClient
from twilio.http.request import Request
from twilio.http.response import Response


class HolodeckError(AssertionError):
    """The code under test made a request nobody expected."""


class Holodeck(HttpClient):
    def __init__(self):
        super().__init__(logger=logging.getLogger("holodeck"), is_async=False)
        self.requests: list[Request] = []
        self._holograms: list[tuple[Request, Response]] = []

    def mock(self, response: Response, request: Request | None = None) -> None:
        """Answer requests that match ``request`` (any request if None) with ``response``."""
        self._holograms.append((request or Request(), response))

    def mock_json(self, status: int, payload: dict[str, Any], request: Request | None = None):
        self.mock(Response(status, json.dumps(payload)), request)

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        request = Request(method, uri, auth, params, data, headers)
        self.requests.append(request)
        for hologram, response in self._holograms:
            if hologram == request:
                return response
        raise HolodeckError(f"Holodeck has no hologram for: {request}")
