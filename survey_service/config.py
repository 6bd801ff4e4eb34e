"""Settings as data: every setting has a name, a default and a help text.

Each setting is read from the environment variable of the same name (for
example ``DATABASE_URL``); ``create_app(config)`` lets tests override them.
README.md lists them all, and ``tests/test_docs.py`` checks that it does.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple


class Setting(NamedTuple):
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the database; unset means an SQLite file in the instance folder "
        "(instance/survey.sqlite). Production: postgresql+psycopg://user@host/db.",
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Flask session and CSRF key. Unset: a random key is generated once and kept in "
        "instance/secret_key. Must be set (32+ characters) when SURVEY_ENV=production.",
    ),
    Setting(
        "SURVEY_DATA_KEY",
        None,
        "Key that encrypts phone numbers at rest and keys their lookup hash (base64, 32 "
        "bytes). Unset: generated once into instance/data.key. Never commit it.",
    ),
    Setting(
        "SURVEY_ENV",
        "development",
        "development or production, in any case (production refuses weak keys and sets "
        "Secure cookies and HSTS).",
    ),
    Setting(
        "AREA_CODE", "027", "Area code completing 7-8 digit local landline numbers (Wuhan: 027)."
    ),
    Setting(
        "LOGIN_MAX_FAILURES",
        5,
        "Failed log-ins of one account before it is locked for LOGIN_LOCK_MINUTES (from half "
        "of them on, each retry must wait a growing delay).",
    ),
    Setting(
        "LOGIN_MAX_FAILURES_PER_ADDRESS",
        30,
        "Failed log-ins from one client address (any accounts) before that address is locked.",
    ),
    Setting(
        "LOGIN_LOCK_MINUTES",
        15,
        "How long a lock lasts, and how long a failure counts, in minutes.",
    ),
    Setting("MAX_UPLOAD_MB", 64, "Largest client-list file accepted, in MiB."),
    Setting("LIST_MAX_ROWS", 500_000, "Most rows a client-list spreadsheet may use."),
    Setting("LIST_MAX_COLUMNS", 64, "Most columns a client-list spreadsheet may use."),
    Setting(
        "LIST_MAX_XML_MB",
        200,
        "Most MiB a client-list workbook may inflate to (all its zip parts together).",
    ),
    Setting("LIST_MAX_CELL_CHARS", 32_767, "Longest cell of a client-list spreadsheet."),
    Setting(
        "LIST_HELPER_MEMORY_MB",
        2048,
        "Address-space limit of the helper process that parses big lists and spreadsheets.",
    ),
    Setting(
        "SMALL_BODY_KB",
        64,
        "Largest request body of the log-in form and the IVR webhooks, in KiB (413 beyond).",
    ),
    Setting(
        "CLAIM_TIMEOUT_MINUTES", 30, "A claimed case is released after this many idle minutes."
    ),
    Setting("TIMEZONE", "Asia/Shanghai", "Local time zone for calling windows and display."),
    Setting(
        "EXPORT_RETENTION_HOURS",
        "24",
        "A background export's file not downloaded is deleted after this many hours.",
    ),
    Setting(
        "RESULTS_COMPUTE",
        None,
        "Where the results are recomputed after new data: process (one child process per web "
        "process, at low priority: the default), thread (a thread of the web process) or "
        "inline (in the request; the default when testing).",
    ),
    Setting(
        "RESULTS_WAIT_SECONDS",
        "0",
        "How long a results page that has figures waits for ones recomputed after new data "
        "before it shows the last ones marked as being updated (0: it does not wait).",
    ),
    Setting(
        "RESULTS_FIRST_WAIT_SECONDS",
        "5",
        "How long a request waits for a wave's first figures (computed apart) before the page "
        "says they are being computed and refreshes itself; background exports wait for them.",
    ),
    Setting(
        "TELEPHONY_PROVIDER",
        "simulated",
        "Which telephony provider places IVR calls: simulated (demo/tests; refused in "
        "production), twilio, aliyun (Alibaba Cloud SmartCall, mainland China numbers).",
    ),
    Setting("TWILIO_ACCOUNT_SID", None, "Twilio account SID (twilio provider)."),
    Setting(
        "TWILIO_AUTH_TOKEN",
        None,
        "Twilio auth token; signs and validates webhooks (the simulated provider uses it too "
        "when set; otherwise a key derived from SECRET_KEY).",
    ),
    Setting("TWILIO_FROM_NUMBER", None, "Caller number for outbound Twilio calls."),
    Setting("TWILIO_RING_TIMEOUT", 30, "Seconds a Twilio call rings before it is a no-answer."),
    Setting(
        "TWILIO_HTTP_TIMEOUT",
        10,
        "Seconds a request to Twilio's REST API may take (its client has no timeout).",
    ),
    Setting(
        "TWILIO_MAX_RETRIES",
        3,
        "Retries of a Twilio REST request answered 429 (too many), with exponential backoff.",
    ),
    Setting(
        "PUBLIC_BASE_URL",
        None,
        "Public https base URL of the app root that the provider calls back; webhook "
        "signatures are checked against it (set it behind a proxy).",
    ),
    Setting(
        "SIMULATED_NETWORK",
        None,
        "YAML settings file of the simulated phone network the worker plays the simulated "
        "provider's calls with (rates of answered, hung up, machine, no answer, busy, failed; "
        "per-unit satisfaction; disordered callbacks). Unset: the bundled "
        "survey_service/calls/telephony/simulated_network.yaml.",
    ),
    Setting(
        "DIAL_INTERVAL_SECONDS",
        10,
        "The worker's dialling tick: a standby worker tries to take the dialler lock this "
        "often, and the active one dials for up to this long per tick.",
    ),
    Setting("DIAL_CALLEE_PER_MINUTE", 1, "At most this many calls to one number a minute."),
    Setting("DIAL_CALLEE_PER_HOUR", 5, "At most this many calls to one number an hour."),
    Setting(
        "DIAL_CALLEE_PER_DAY",
        20,
        "At most this many calls to one number a day (failed ones count).",
    ),
    Setting("DIAL_CONCURRENT_MOBILE", 3, "Simultaneous calls on a mobile caller number."),
    Setting("DIAL_CONCURRENT_LANDLINE", 15, "Simultaneous calls on a landline caller number."),
    Setting("DIAL_CALLS_PER_SECOND", 1, "IVR calls started per second at most."),
    Setting("ALIYUN_ACCESS_KEY_ID", None, "Alibaba Cloud AccessKey id (aliyun provider, MNS)."),
    Setting("ALIYUN_ACCESS_KEY_SECRET", None, "Alibaba Cloud AccessKey secret. Never commit it."),
    Setting(
        "ALIYUN_CALLER_NUMBER",
        None,
        "SmartCall CalledShowNumber: the caller number bought with DTMF support, tied to the "
        "filed call script.",
    ),
    Setting(
        "ALIYUN_CALLBACK_TOKEN",
        None,
        "Secret path token of the SmartCall callback URL set in Alibaba's console "
        "(/ivr/aliyun/turn/<token>) and of the optional receipt push.",
    ),
    Setting("ALIYUN_VMS_ENDPOINT", "dyvmsapi.aliyuncs.com", "Endpoint of the voice API."),
    Setting(
        "ALIYUN_OPENING_VOICE_CODE",
        None,
        "Approved voice-file code played when the call is answered; unset: TTS of "
        "ALIYUN_OPENING_TEXT.",
    ),
    Setting(
        "ALIYUN_OPENING_TEXT",
        "您好，这里是政务服务满意度回访。",
        "Text-to-speech opening when no opening voice file is set.",
    ),
    Setting(
        "ALIYUN_VOICE_FILES",
        None,
        'JSON map from item id (or "script:item", closing_complete, goodbye) to an approved '
        "voice-file code; items not named are read by text-to-speech.",
    ),
    Setting("ALIYUN_MUTE_TIME_MS", 8000, "How long a SmartCall turn waits for a key (ms)."),
    Setting("ALIYUN_SESSION_TIMEOUT", 600, "Longest SmartCall call, in seconds (max 3600)."),
    Setting("ALIYUN_RECORD", "true", "SmartCall RecordFlag: record the calls (true/false)."),
    Setting(
        "ALIYUN_MNS_ENDPOINT",
        None,
        "MNS endpoint (https://<account>.mns.cn-hangzhou.aliyuncs.com) the worker pulls "
        "receipts from.",
    ),
    Setting("ALIYUN_MNS_VOICE_REPORT_QUEUE", None, "MNS queue of VoiceReport receipts."),
    Setting("ALIYUN_MNS_VOICE_CALL_REPORT_QUEUE", None, "MNS queue of VoiceCallReport receipts."),
    Setting(
        "ALIYUN_PUSH_ALLOWED_IPS",
        None,
        "Comma-separated addresses/networks allowed to push receipts over HTTP; unset: the "
        "unsigned push is off (receipts come from MNS).",
    ),
)

_INT_SETTINGS = {
    "TWILIO_RING_TIMEOUT",
    "TWILIO_HTTP_TIMEOUT",
    "TWILIO_MAX_RETRIES",
    "MAX_UPLOAD_MB",
    "CLAIM_TIMEOUT_MINUTES",
    "LIST_MAX_ROWS",
    "LIST_MAX_COLUMNS",
    "LIST_MAX_XML_MB",
    "LIST_MAX_CELL_CHARS",
    "LIST_HELPER_MEMORY_MB",
    "SMALL_BODY_KB",
    "LOGIN_MAX_FAILURES",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "LOGIN_LOCK_MINUTES",
    "DIAL_INTERVAL_SECONDS",
    "DIAL_CALLEE_PER_MINUTE",
    "DIAL_CALLEE_PER_HOUR",
    "DIAL_CALLEE_PER_DAY",
    "DIAL_CONCURRENT_MOBILE",
    "DIAL_CONCURRENT_LANDLINE",
    "DIAL_CALLS_PER_SECOND",
    "ALIYUN_MUTE_TIME_MS",
    "ALIYUN_SESSION_TIMEOUT",
}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return every setting, taken from ``environ`` where present, else its default."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value: Any = environ.get(setting.name, setting.default)
        if setting.name in _INT_SETTINGS and value is not None:
            value = int(value)
        values[setting.name] = value
    values["SURVEY_ENV"] = normalise_env(values["SURVEY_ENV"])
    return values


def normalise_env(value: Any) -> str:
    """Read ``SURVEY_ENV`` case-insensitively: " Production" means production."""
    return str(value or "development").strip().lower()
