"""Fake HTTP layers under Alibaba's real SDKs, after ``tests/calls/holodeck.py``.

:class:`VmsHolodeck` is a ``requests`` transport adapter mounted under
``alibabacloud-dyvmsapi20170525``'s client: the SDK builds, signs and sends
its request as in production, the adapter records it and answers from the
registered holograms. :class:`MnsHolodeck` stands in for ``aliyun-mns-sdk``'s
``MNSHttp`` (its ``send_request``). Anything unexpected fails loudly;
Alibaba is never reached.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from mns.mns_http import ResponseInternal
from requests.adapters import BaseAdapter
from requests.models import Response


class HolodeckError(AssertionError):
    """The code under test made a request nobody expected."""


@dataclass
class Recorded:
    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    timeout: Any


class VmsHolodeck(BaseAdapter):
    def __init__(self):
        super().__init__()
        self.requests: list[Recorded] = []
        self._holograms: list[tuple[str, int, dict[str, Any]]] = []

    def mock(self, action: str, status: int, payload: dict[str, Any]) -> None:
        """Answer requests for API ``action`` (x-acs-action) with ``payload``."""
        self._holograms.append((action, status, payload))

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
        headers = dict(request.headers)
        self.requests.append(Recorded(request.method, request.url, headers, query, timeout))
        for action, status, payload in self._holograms:
            if headers.get("x-acs-action") == action:
                response = Response()
                response.status_code = status
                response._content = json.dumps(payload).encode()
                response.headers["content-type"] = "application/json"
                response.url = request.url
                response.reason = "OK" if status == 200 else "Error"
                response.request = request
                return response
        raise HolodeckError(f"VmsHolodeck has no hologram for {request.method} {request.url}")

    def close(self) -> None:
        pass


def mns_messages_xml(messages: list[tuple[str, str, str]]) -> str:
    """An MNS BatchReceiveMessage answer: (message id, receipt handle, body) each."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><Messages xmlns="http://mns.aliyuncs.com/doc/v1/">'
    ]
    for message_id, handle, body in messages:
        parts.append(
            "<Message>"
            f"<MessageId>{message_id}</MessageId>"
            f"<ReceiptHandle>{handle}</ReceiptHandle>"
            "<MessageBodyMD5>0</MessageBodyMD5>"
            f"<MessageBody><![CDATA[{body}]]></MessageBody>"
            "<EnqueueTime>1700000000000</EnqueueTime>"
            "<NextVisibleTime>1700000030000</NextVisibleTime>"
            "<FirstDequeueTime>1700000000000</FirstDequeueTime>"
            "<DequeueCount>1</DequeueCount>"
            "<Priority>8</Priority>"
            "</Message>"
        )
    parts.append("</Messages>")
    return "".join(parts)


def mns_error_xml(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Error xmlns="http://mns.aliyuncs.com/doc/v1/">'
        f"<Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>5F1A</RequestId><HostId>http://example.mns</HostId></Error>"
    )


class MnsHolodeck:
    """A stand-in for ``mns.mns_http.MNSHttp``: records requests, answers by method and path."""

    def __init__(self):
        self.requests: list[Any] = []
        self._holograms: list[tuple[str, str, int, str]] = []

    def mock(self, method: str, path_prefix: str, status: int, body: str = "") -> None:
        self._holograms.append((method, path_prefix, status, body))

    def send_request(self, req_inter):
        self.requests.append(req_inter)
        for method, prefix, status, body in self._holograms:
            if req_inter.method == method and req_inter.uri.startswith(prefix):
                headers = {"x-mns-request-id": "5F1A", "Content-Type": "text/xml"}
                return ResponseInternal(status=status, header=headers, data=body)
        raise HolodeckError(f"MnsHolodeck has no hologram for {req_inter.method} {req_inter.uri}")

    # MNSHttp's other methods the SDK may call
    def set_log_level(self, level) -> None:
        pass

    def close_log(self) -> None:
        pass

    def is_keep_alive(self) -> bool:
        return True
