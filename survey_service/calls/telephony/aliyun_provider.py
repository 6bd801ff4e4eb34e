"""Alibaba Cloud 语音服务 / 智能外呼: the provider a Wuhan deployment needs. Not written yet.

Twilio no longer calls mainland China numbers, so a deployment in Wuhan must
dial through a licensed domestic provider (Alibaba Cloud, Tencent Cloud) or
the call centre's own PBX. Such a provider does not speak Twilio's dialect:
its call API, its callback fields, its way of signing callbacks and its
interactive voice flow (no TwiML) all differ, so an adapter needs the
provider's contract and a test account to be written against, and a
rendering of the script's items in that provider's own form.

Until then the entry exists so that ``TELEPHONY_PROVIDER=aliyun`` fails at
once with this explanation instead of pretending to place calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AliyunProvider:
    """Placeholder for Alibaba Cloud's outbound IVR; every use raises NotImplementedError."""

    name = "aliyun"
    signature_header = ""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            "TELEPHONY_PROVIDER=aliyun is not implemented: Alibaba Cloud's outbound call API, "
            "callback format and callback signing differ from Twilio's and need an adapter "
            "written and tested against a real account (see survey_service/calls/telephony/"
            "aliyun_provider.py). Use simulated for demos, twilio outside mainland China."
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> AliyunProvider:
        return cls(config, **kwargs)
