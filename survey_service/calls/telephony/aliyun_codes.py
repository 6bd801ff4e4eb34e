"""Alibaba Cloud 语音服务 receipts: status codes, what each means here, reading a receipt.

A receipt is one JSON object of a ``VoiceReport`` (the call record, sent once
the call is over) or ``VoiceCallReport`` (intermediate states: start,
ringing, answered, ended, a key press) message, as documented by Alibaba
(fields ``call_id``, ``status_code``, ``smart_status_code``, ``status_time``,
``out_id``; VoiceReport adds ``start_time``, ``end_time``, ``duration``,
``status_msg``, ``caller``, ``callee``, ``hangup_direction`` ...).

The call's end is read from the result codes (运营商回执错误码). Each maps to
a provider-neutral end (:mod:`survey_service.calls.telephony.base`), which
the IVR turns into the attempt's AAPOR outcome (``calls.ivr.record_call_end``:
an answered call gets its outcome from the interview's state):

=======  ==========================================  ==============  =========================
code     Alibaba's meaning                           end             AAPOR outcome of attempt
=======  ==========================================  ==============  =========================
200000   用户听完语音 (the call ran to its end)      answered        from the interview
200001   用户提前挂机 (hung up early)                answered        from the interview
200008   获取按键超时 (key timeout, call answered)   answered        from the interview
200002   用户占线 (busy)                             busy            3.12 ALWAYS_BUSY
200003   收到呼叫但未接听 (rang out)                 no-answer       3.13 NO_ANSWER
200005   无法接通 (rejected, blocked, carrier)       no-answer       3.13 NO_ANSWER
200010   关机 (phone switched off)                   no-answer       3.13 NO_ANSWER
200004   号码不合法 (no such number)                 invalid-number  4.31 NON_WORKING
200007   不在服务区 (out of coverage)                failed          3.16 TECHNICAL
200011   停机 (suspended; often unpaid, may return)  failed          3.16 TECHNICAL
200006   语音播放失败 (our voice file is bad)        failed          3.16 TECHNICAL
200012   呼损 (call restricted)                      failed          3.16 TECHNICAL
200104   主叫号码受限 (caller number restricted)     failed          3.16 TECHNICAL
200117   来电显示号码不合法 (caller number misused)  failed          3.16 TECHNICAL
200118   供应商时间段限呼 (time-window block)        failed          3.16 TECHNICAL
200119   供应商超频限呼 (frequency block)            failed          3.16 TECHNICAL
200121   呼叫超并发 (over concurrency)               failed          3.16 TECHNICAL
999999   系统错误; 500 运营商错误; 400 网元繁忙      failed          3.16 TECHNICAL
other    any code not listed                         failed          3.16 TECHNICAL
=======  ==========================================  ==============  =========================

``smart_status_code`` ``INVALID_NUMBER`` (空号) turns a failed or
unanswered end into ``invalid-number`` (4.31) too. 停机 is not taken for a
dead number (4.32): a number suspended for an unpaid bill comes back.
The blocks 200118/200119/200121 mean the call was never put through; they
count as a failed call (the provider's own limits count them too, see
:mod:`survey_service.calls.telephony.limits`).

Intermediate VoiceCallReport codes (200101 start, 200201 ringing, 200102
answered, 200100 ended, 300000 a key) are not an end: the VoiceReport
with the result code follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from survey_service.calls.telephony.base import (
    ANSWERED,
    BUSY,
    FAILED,
    INVALID_NUMBER,
    NO_ANSWER,
    CallEnd,
)

VOICE_REPORT = "VoiceReport"
VOICE_CALL_REPORT = "VoiceCallReport"
RECEIPT_TYPES = (VOICE_REPORT, VOICE_CALL_REPORT)

# Result code -> provider-neutral end (the table above).
END_OF_CODE: dict[str, str] = {
    "200000": ANSWERED,
    "200001": ANSWERED,
    "200008": ANSWERED,
    "200002": BUSY,
    "200003": NO_ANSWER,
    "200005": NO_ANSWER,
    "200010": NO_ANSWER,
    "200004": INVALID_NUMBER,
    "200007": FAILED,
    "200011": FAILED,
    "200006": FAILED,
    "200012": FAILED,
    "200104": FAILED,
    "200117": FAILED,
    "200118": FAILED,
    "200119": FAILED,
    "200121": FAILED,
    "999999": FAILED,
    "500": FAILED,
    "400": FAILED,
}
# VoiceCallReport states that are not the end of a call.
INTERMEDIATE_CODES = frozenset({"200101", "200201", "200102", "200100", "300000"})
# smart_status_code values that say the number does not exist.
INVALID_SMART_CODES = frozenset({"INVALID_NUMBER"})


def call_end(receipt: Mapping[str, Any]) -> CallEnd | None:
    """How the call ended according to one receipt object; None if it is not an end."""
    code = str(receipt.get("status_code") or "").strip()
    if not code or code in INTERMEDIATE_CODES:
        return None
    status = END_OF_CODE.get(code, FAILED)
    smart = str(receipt.get("smart_status_code") or "").strip()
    if status in (FAILED, NO_ANSWER) and smart in INVALID_SMART_CODES:
        status = INVALID_NUMBER
    duration = str(receipt.get("duration") or "").strip()
    provider_status = code + (f"/{smart}" if smart else "")
    return CallEnd(
        status=status,
        provider_status=provider_status,
        duration_seconds=int(duration) if duration.isdigit() else None,
    )


def receipt_key(kind: str, receipt: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """What makes two receipts the same message (the push repeats them)."""
    return (
        kind,
        str(receipt.get("call_id") or ""),
        str(receipt.get("status_code") or ""),
        str(receipt.get("status_time") or receipt.get("end_time") or ""),
    )
