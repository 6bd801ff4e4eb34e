"""Refuse weak production keys: each check says what is wrong, never the key itself.

Under ``SURVEY_ENV=production`` the app does not start with a guessable
``SECRET_KEY`` (short, few distinct characters, a repeated pattern, an
alphabet or keyboard run, a dictionary word), an all-zero or low-entropy
``SURVEY_DATA_KEY``, or a ``PUBLIC_BASE_URL`` that is not https.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 96  # a 32-character random hex string measures about 118
MIN_KEY_DISTINCT_BYTES = 16  # 32 random bytes have about 30 distinct values

# Words people put in secrets, matched case-insensitively. Words of six letters
# or more count anywhere, also after undoing common substitutions (p@ssw0rd);
# shorter ones only as a word of their own (not "xtestq" in a random key).
WORDS = (
    "password",
    "passwd",
    "secret",
    "changeme",
    "default",
    "example",
    "sample",
    "admin",
    "letmein",
    "qwerty",
    "asdfgh",
    "welcome",
    "survey",
    "flask",
    "django",
    "master",
    "dragon",
    "monkey",
    "iloveyou",
    "trustno",
    "football",
    "sunshine",
    "princess",
    "test",
    "demo",
    "development",
    "production",
    "token",
    "private",
    "dummy",
    "placeholder",
    "insecure",
    "wuhan",
)
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s",
                       "5": "s", "7": "t", "+": "t"})  # fmt: skip
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm")


def secret_weakness(value: str) -> str | None:
    """Why ``value`` is too weak to be a production secret, or None if it will do."""
    if len(value) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < 8:
        return "too few distinct characters (a repeated character?)"
    for size in range(1, len(value) // 2 + 1):
        if (value[:size] * (len(value) // size + 1))[: len(value)] == value:
            return "a repeated pattern"
    lowered = value.lower()
    for run in _RUNS:
        if any(run[i : i + 8] in lowered for i in range(len(run) - 7)):
            return "an alphabet, digit or keyboard run"
    unleet = lowered.translate(_LEET)
    for word in WORDS:
        if len(word) >= 6:
            found = word in lowered or word in unleet
        else:
            found = re.search(rf"(?<![a-z]){word}(?![a-z])", lowered) is not None
        if found:
            return f"contains the dictionary word {word!r}"
    if _shannon_bits(value) < MIN_SECRET_BITS:
        return f"too little entropy (under {MIN_SECRET_BITS} bits)"
    return None


def data_key_weakness(value: str) -> str | None:
    """Why the base64 data key is unfit for production, or None."""
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (ValueError, binascii.Error):
        return "not valid base64"
    if len(raw) != 32:
        return "does not decode to 32 bytes"
    if not any(raw):
        return "all zero bytes"
    if len(set(raw)) < MIN_KEY_DISTINCT_BYTES:
        return "too few distinct bytes (not random)"
    return None


def production_problems(config: Mapping[str, Any]) -> list[str]:
    """Every reason the settings are unfit for ``SURVEY_ENV=production`` (empty: fit)."""
    problems = []
    secret = config.get("SECRET_KEY")
    if not secret:
        problems.append("SECRET_KEY must be set")
    elif reason := secret_weakness(str(secret)):
        problems.append(f"SECRET_KEY is weak: {reason}")
    data_key = config.get("SURVEY_DATA_KEY")
    if not data_key:
        problems.append("SURVEY_DATA_KEY must be set")
    elif reason := data_key_weakness(str(data_key)):
        problems.append(f"SURVEY_DATA_KEY is weak: {reason}")
    base_url = config.get("PUBLIC_BASE_URL")
    if base_url and not str(base_url).lower().startswith("https://"):
        problems.append("PUBLIC_BASE_URL must be an https:// URL")
    return problems


def _shannon_bits(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_char * total
