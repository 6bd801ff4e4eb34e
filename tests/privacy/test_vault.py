"""Phones at rest: the batch encryption, the lookup hash and the masks."""

from __future__ import annotations

import base64
import hmac

from hypothesis import given
from hypothesis import strategies as st

from survey_service.privacy.vault import (
    LookupHasher,
    PhoneVault,
    _derive,
    mask_phone,
    mask_phones,
    new_data_key,
)

KEY = new_data_key()
VAULT = PhoneVault(KEY)
PHONES = ["+8613812345678", "+862788886666", "+861012345678", "+86951234567", "+8619912345678"]
phones = st.from_regex(r"\+86[1-9][0-9]{8,11}", fullmatch=True)


def test_lookup_hash_is_hmac_sha256_under_the_lookup_subkey():
    """Are the precomputed-pad hashes the RFC 2104 HMAC-SHA256 that hmac computes?"""
    subkey = _derive(base64.urlsafe_b64decode(KEY), b"phone-lookup-hash-v1")
    expected = [hmac.new(subkey, p.encode(), "sha256").hexdigest() for p in PHONES]
    assert VAULT.lookup_hashes(PHONES) == expected
    assert [VAULT.lookup_hash(p) for p in PHONES] == expected
    assert LookupHasher(subkey).lookup_hashes(PHONES) == expected
    assert VAULT.hasher.key == subkey


def test_another_key_gives_other_hashes():
    """Does a second data key hash the same number differently?"""
    assert PhoneVault(new_data_key()).lookup_hash(PHONES[0]) != VAULT.lookup_hash(PHONES[0])


@given(st.lists(phones, min_size=1, max_size=30))
def test_encrypt_many_round_trips_with_fresh_nonces(numbers):
    """Does each token decrypt to its number, each with its own nonce?"""
    tokens = VAULT.encrypt_many(numbers)
    assert [VAULT.decrypt(t) for t in tokens] == numbers
    nonces = {base64.b64decode(t[3:])[:12] for t in tokens}
    assert len(nonces) == len(numbers)
    assert all(t.startswith("v1:") for t in tokens)


def test_a_tampered_token_is_refused():
    """Does AES-GCM refuse a token whose ciphertext was changed?"""
    token = VAULT.encrypt(PHONES[0])
    raw = bytearray(base64.b64decode(token[3:]))
    raw[14] ^= 1
    forged = "v1:" + base64.b64encode(bytes(raw)).decode()
    try:
        VAULT.decrypt(forged)
    except Exception as exc:  # cryptography's InvalidTag
        assert type(exc).__name__ == "InvalidTag"
    else:  # pragma: no cover - the assertion is the test
        raise AssertionError("a forged token decrypted")


@given(st.lists(phones, max_size=30))
def test_mask_phones_matches_mask_phone(numbers):
    """Is the batch mask, quick path included, the same as one by one?"""
    assert mask_phones(numbers) == [mask_phone(p) for p in numbers]


def test_masks():
    assert mask_phones(PHONES) == [
        "138****5678",
        "278***6666",
        "101***5678",
        "951**4567",
        "199****5678",
    ]
