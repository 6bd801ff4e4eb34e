"""Personal data at rest: encryption, keyed lookup hash, masking.

One data key (32 random bytes, base64) yields four sub-keys through HKDF:
an AES-256-GCM key that encrypts each number with a fresh nonce, an
HMAC-SHA256 key whose digest lets the service find equal numbers (across
units, against staff lists) without decrypting them, an AES-256-GCM key for
other personal text (clients' names, the raw values of rejected rows), and
one for the stored copies of uploaded files, chunk by chunk.

A list import seals two values and hashes one per row, a million rows at a
time. The batch methods hand the loop to :mod:`survey_service.privacy._sealer`
(C over the system OpenSSL, built by ``make setup``) when it imports, and run
it here otherwise; both give the same tokens and hashes, byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from types import ModuleType

# cryptography is imported by the first vault made, so that the masks below
# cost a command (``clients check``) nothing.

try:
    from survey_service.privacy import _sealer as _native_module
except ImportError:  # not built (no compiler or no OpenSSL headers): the Python loops
    _native_module = None

#: The native batch loops, or None for the Python ones; the tests set it to run both.
native: ModuleType | None = _native_module


def _seal_python(
    aead, nonces: bytes, values: Sequence[str | None], aad: bytes, prefix: str
) -> list[str | None]:
    """What ``_sealer.seal_many`` does, in Python: value i sealed with nonce i."""
    seal, b64 = aead.encrypt, binascii.b2a_base64
    out: list[str | None] = []
    append = out.append
    for i, value in enumerate(values):
        if value is None:
            append(None)
            continue
        nonce = nonces[12 * i : 12 * i + 12]
        append(prefix + b64(nonce + seal(nonce, value.encode(), aad), newline=False).decode())
    return out


def new_data_key() -> str:
    """Return a fresh random data key, base64-encoded."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _derive(master: bytes, purpose: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class LookupHasher:
    """The keyed lookup hash alone: HMAC-SHA256 of a number under the lookup sub-key.

    A process that must hash numbers but has nothing to decrypt (the helper
    that parses big lists) gets this sub-key, never the data key.
    """

    def __init__(self, key: bytes):
        # HMAC-SHA256 (RFC 2104) with the padded key's two blocks hashed once:
        # a number then costs two copies of a hash state, not a new HMAC.
        self.key = key
        padded = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def lookup_hashes(self, phones: list[str]) -> list[str]:
        """Hex HMAC-SHA256 of each number: equal numbers, equal hashes."""
        if native is not None:
            return native.hmac_hex_many(self.key, phones)
        inner, outer = self._inner.copy, self._outer.copy
        out = []
        append = out.append
        for phone in phones:
            digest = inner()
            digest.update(phone.encode())
            final = outer()
            final.update(digest.digest())
            append(final.hexdigest())
        return out


class PhoneVault:
    """Encrypts, decrypts and hashes E.164 phone numbers with the data key."""

    def __init__(self, data_key: str):
        try:
            master = base64.urlsafe_b64decode(data_key.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError("SURVEY_DATA_KEY is not valid base64") from exc
        if len(master) != 32:
            raise ValueError("SURVEY_DATA_KEY must decode to 32 bytes")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        # The raw sub-keys are kept for the native loops, which key OpenSSL themselves.
        self._aead_key = _derive(master, b"phone-encryption-v1")
        self._aead = AESGCM(self._aead_key)
        self.hasher = LookupHasher(_derive(master, b"phone-lookup-hash-v1"))
        self._text_key = _derive(master, b"text-encryption-v1")
        self._text = AESGCM(self._text_key)
        self._file = AESGCM(_derive(master, b"file-encryption-v1"))
        # Where temporary plaintext copies go (the instance folder's tmp/):
        # everything that handles personal data in clear is handed the vault.
        self.temp_dir: str | None = None

    def encrypt(self, phone: str) -> str:
        return self.encrypt_many([phone])[0]

    def encrypt_many(self, phones: list[str]) -> list[str]:
        """Encrypt each number with its own random 96-bit nonce (one urandom call for all)."""
        return self._seal(self._aead_key, self._aead, phones, b"phone", "v1:")

    def decrypt(self, token: str) -> str:
        if not token.startswith("v1:"):
            raise ValueError("unknown phone token version")
        raw = base64.b64decode(token[3:])
        return self._aead.decrypt(raw[:12], raw[12:], b"phone").decode()

    def encrypt_texts(self, values: Sequence[str | None], purpose: bytes) -> list[str | None]:
        """Encrypt personal text (None stays None); ``purpose`` binds a token to its column.

        A name token cannot be passed off as a rejected row's raw value: the
        purpose is the AES-GCM associated data.
        """
        return self._seal(self._text_key, self._text, values, purpose, "t1:")

    @staticmethod
    def _seal(key: bytes, aead, values: Sequence[str | None], aad: bytes, prefix: str):
        """``prefix`` + base64(nonce, ciphertext, tag) of each value, one urandom call for all."""
        nonces = os.urandom(12 * len(values))
        if native is not None:
            return native.seal_many(key, nonces, values, aad, prefix)
        return _seal_python(aead, nonces, values, aad, prefix)

    def decrypt_text(self, token: str | None, purpose: bytes) -> str | None:
        """The text of a token from :meth:`encrypt_texts`; None stays None.

        A value without the ``t1:`` prefix is a row stored before names were
        encrypted and comes back as it is.
        """
        if token is None or not token.startswith("t1:"):
            return token
        raw = base64.b64decode(token[3:])
        return self._text.decrypt(raw[:12], raw[12:], purpose).decode()

    def encrypt_chunk(self, file_id: int, seq: int, count: int, data: bytes) -> bytes:
        """Seal chunk ``seq`` of ``count`` of a stored file: nonce (12 bytes) + ciphertext.

        The file, the chunk's place and the chunk count are associated data:
        a chunk moved to another file or place, or a file cut short, is refused.
        """
        nonce = os.urandom(12)
        return nonce + self._file.encrypt(nonce, data, _chunk_aad(file_id, seq, count))

    def decrypt_chunk(self, file_id: int, seq: int, count: int, sealed: bytes) -> bytes:
        """The plaintext of a chunk from :meth:`encrypt_chunk`.

        :raise cryptography.exceptions.InvalidTag: if it was changed or moved.
        """
        return self._file.decrypt(sealed[:12], sealed[12:], _chunk_aad(file_id, seq, count))

    def lookup_hash(self, phone: str) -> str:
        """HMAC-SHA256 of the number, hex: equal numbers, equal hashes."""
        return self.hasher.lookup_hashes([phone])[0]

    def lookup_hashes(self, phones: list[str]) -> list[str]:
        return self.hasher.lookup_hashes(phones)


NAME = b"client.name"
RAW_VALUE = b"list_row_issue.raw_value"
ISSUE_NAME = b"list_row_issue.name"


def _chunk_aad(file_id: int, seq: int, count: int) -> bytes:
    return b"stored-file:%d:%d/%d" % (file_id, seq, count)


def mask_raw(value: str | None) -> str | None:
    """Mask the digits of a cell as written (a rejected row's phone cell).

    As :func:`mask_phone` does: eight digits or more (a number, perhaps
    mistyped) keep the first three and the last four; seven (a local
    number) keep the last two; six or fewer are no phone number (a service
    line like 12345, a typo) and stay. Other characters stay, so the unit
    sees what is wrong: ``138-1234-56789`` becomes ``138-****-*6789``.
    """
    if value is None:
        return None
    digits = sum(ch.isdigit() for ch in value)
    if digits <= 6:
        return value
    keep_head, keep_tail = (3, 4) if digits >= 8 else (0, 2)
    out, seen = [], 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            if keep_head < seen <= digits - keep_tail:
                ch = "*"
        out.append(ch)
    return "".join(out)


def mask_name(name: str | None) -> str | None:
    """Show a name by its first (and, from three characters, last) character: 张*, 张*丰.

    A company's name keeps as much: 武汉******公司 shows only its first and last.
    """
    if not name:
        return name
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phones(phones: list[str]) -> list[str]:
    """:func:`mask_phone` of each number, with a quick path for +86 mobiles (in C where built)."""
    if native is not None:
        return native.mask_many(phones, mask_phone)
    return [
        p[3:6] + "****" + p[10:] if len(p) == 14 and p[:4] == "+861" else mask_phone(p)
        for p in phones
    ]


def mask_phone(phone: str | None) -> str:
    """Show a number as 138****5678: the first three and the last four digits."""
    if not phone:
        return ""
    digits = phone[3:] if phone.startswith("+86") else phone.lstrip("+")
    if len(digits) <= 7:
        return "*" * (len(digits) - 2) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
