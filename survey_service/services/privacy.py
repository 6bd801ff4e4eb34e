"""Phone numbers at rest: encryption, keyed lookup hash, masking.

One data key (32 random bytes, base64) yields two sub-keys through HKDF:
an AES-256-GCM key that encrypts each number with a fresh nonce, and an
HMAC-SHA256 key whose digest lets the service find equal numbers (across
units, against staff lists) without decrypting them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def new_data_key() -> str:
    """Return a fresh random data key, base64-encoded."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class PhoneVault:
    """Encrypts, decrypts and hashes E.164 phone numbers with the data key."""

    def __init__(self, data_key: str):
        try:
            master = base64.urlsafe_b64decode(data_key.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError("SURVEY_DATA_KEY is not valid base64") from exc
        if len(master) != 32:
            raise ValueError("SURVEY_DATA_KEY must decode to 32 bytes")
        self._aead = AESGCM(_derive(master, b"phone-encryption-v1"))
        self._hmac = hmac.new(_derive(master, b"phone-lookup-hash-v1"), digestmod=hashlib.sha256)

    def encrypt(self, phone: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, phone.encode(), b"phone")
        return "v1:" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        if not token.startswith("v1:"):
            raise ValueError("unknown phone token version")
        raw = base64.b64decode(token[3:])
        return self._aead.decrypt(raw[:12], raw[12:], b"phone").decode()

    def lookup_hash(self, phone: str) -> str:
        digest = self._hmac.copy()  # copying the keyed state skips re-keying per number
        digest.update(phone.encode())
        return digest.hexdigest()


def mask_phone(phone: str | None) -> str:
    """Show a number as 138****5678: the first three and the last four digits."""
    if not phone:
        return ""
    digits = phone[3:] if phone.startswith("+86") else phone.lstrip("+")
    if len(digits) <= 7:
        return "*" * (len(digits) - 2) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
