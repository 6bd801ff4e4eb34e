"""Alibaba receipts (``VoiceReport``, ``VoiceCallReport``): pulled from MNS, or pushed.

MNS is the authenticated route: the worker pulls with the account's
AccessKey through ``aliyun-mns-sdk`` (``Queue.batch_receive_message``),
applies each receipt in a transaction and only then deletes the messages,
so a receipt is never lost; MNS delivers at least once, so applying is
idempotent (an attempt already closed is left alone).

Alibaba's HTTP push is unsigned, times out after 700 ms and is retried
after 1, 5 and 10 minutes, and it may repeat: it is off unless
``ALIYUN_PUSH_ALLOWED_IPS`` is set, and then accepted only from those
addresses with ``ALIYUN_CALLBACK_TOKEN`` in the URL
(:func:`push_allowed`). A repeated receipt is skipped by
:class:`SeenReceipts` and, in any case, changes nothing.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

import call_scripts
from survey_service.calls import joint
from survey_service.calls.telephony import aliyun_codes
from survey_service.models import CallAttempt

log = logging.getLogger(__name__)


def parse_networks(value: str | Iterable[str] | None) -> tuple:
    """``"100.64.0.0/10, 47.1.2.3"`` -> networks; empty means the push is off."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def push_allowed(remote_addr: str | None, token: str, *, expected_token: str, networks) -> bool:
    """Whether a receipt push may be taken: a configured source list, the right URL token."""
    if not networks or not expected_token or not remote_addr:
        return False
    if not hmac.compare_digest(token.encode(), expected_token.encode()):
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in networks)


class SeenReceipts:
    """The keys of receipts already applied in this process (bounded, thread-safe)."""

    def __init__(self, size: int = 10000):
        self._size = size
        self._keys: OrderedDict[tuple, None] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, key: tuple) -> bool:
        """Whether ``key`` was applied already (a repeat)."""
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return True
            return False

    def add(self, key: tuple) -> None:
        """Remember ``key`` once its receipt has been applied (committed)."""
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            if len(self._keys) > self._size:
                self._keys.popitem(last=False)


def receipts_in(body: str | bytes) -> list[dict[str, Any]]:
    """The receipt objects in a message or push body (a JSON object or array)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    data = json.loads(body)
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    raise ValueError("a receipt must be a JSON object or array")


def apply_receipt(session: Session, kind: str, receipt: Mapping[str, Any]) -> str | None:
    """Give the attempt of ``receipt`` its outcome if the receipt ends the call.

    Returns the AAPOR outcome recorded, or None (not an end, unknown call,
    attempt already closed). Never commits.
    """
    end = aliyun_codes.call_end(receipt)
    call_id = str(receipt.get("call_id") or "")
    if end is None or not call_id:
        return None
    attempt = session.exec(
        select(CallAttempt).where(
            CallAttempt.provider_call_id == call_id, CallAttempt.channel == call_scripts.IVR
        )
    ).first()
    if attempt is None:
        log.warning("%s for unknown call %s", kind, call_id)
        return None
    note = f"aliyun {kind} {end.provider_status}"
    if end.duration_seconds is not None:
        note += f", {end.duration_seconds} s"
    return joint.record_call_end(session, attempt, end.status, note=note)


@dataclass
class Pulled:
    kind: str
    receipt_handle: str
    receipts: list[dict[str, Any]]


class MnsReceipts:
    """The receipt queues in MNS, one per message type, read with the official SDK.

    ``http`` replaces the SDK's HTTP layer (``MNSHttp``) in tests.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        queues: Mapping[str, str],
        wait_seconds: int = 3,
        http: Any = None,
    ):
        from mns.account import Account  # the MNS SDK loads with the first receiver built

        self._account = Account(endpoint, access_key_id, access_key_secret)
        if http is not None:
            self._account.mns_client.http = http
        self._queues = {}
        for kind, name in queues.items():
            if not name:
                continue
            queue = self._account.get_queue(name)
            queue.set_encoding(False)  # Alibaba's receipt bodies are plain JSON
            self._queues[kind] = queue
        self._wait = wait_seconds

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> MnsReceipts:
        return cls(
            endpoint=config["ALIYUN_MNS_ENDPOINT"],
            access_key_id=config.get("ALIYUN_ACCESS_KEY_ID") or "",
            access_key_secret=config.get("ALIYUN_ACCESS_KEY_SECRET") or "",
            queues={
                aliyun_codes.VOICE_REPORT: config.get("ALIYUN_MNS_VOICE_REPORT_QUEUE") or "",
                aliyun_codes.VOICE_CALL_REPORT: config.get("ALIYUN_MNS_VOICE_CALL_REPORT_QUEUE")
                or "",
            },
            **kwargs,
        )

    def pull(self, batch_size: int = 16) -> list[Pulled]:
        """Receive up to ``batch_size`` messages from each queue (long poll ``wait_seconds``)."""
        from mns.mns_exception import MNSServerException

        pulled: list[Pulled] = []
        for kind, queue in self._queues.items():
            try:
                messages = queue.batch_receive_message(batch_size, self._wait)
            except MNSServerException as exc:
                if exc.type == "MessageNotExist":
                    continue
                raise
            for message in messages:
                try:
                    receipts = receipts_in(message.message_body)
                except ValueError:
                    log.error("undecodable %s message %s", kind, message.message_id)
                    receipts = []
                pulled.append(Pulled(kind, message.receipt_handle, receipts))
        return pulled

    def delete(self, pulled: Iterable[Pulled]) -> None:
        by_kind: dict[str, list[str]] = {}
        for item in pulled:
            by_kind.setdefault(item.kind, []).append(item.receipt_handle)
        for kind, handles in by_kind.items():
            self._queues[kind].batch_delete_message(handles)
