"""The native batch sealer: the same tokens and hashes as the Python loops, byte for byte.

Tokens already stored must keep decrypting and lookup hashes must keep
matching, whichever loop made them, so every test here compares the C
module with the Python path it stands in for (``vault.native = None``).
"""

from __future__ import annotations

import base64
import hmac
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from survey_service.privacy import vault
from survey_service.privacy.vault import NAME, RAW_VALUE, LookupHasher, PhoneVault, new_data_key

NATIVE = vault._native_module
needs_native = pytest.mark.skipif(NATIVE is None, reason="_sealer is not built (make setup)")

KEY = new_data_key()
VAULT = PhoneVault(KEY)
TEXTS = ["张三丰", "", "Zoë", "+8613812345678", "a" * 1000, "🙂", "武汉市某某有限公司"]
values = st.lists(st.text(max_size=80), max_size=20)
maybe_values = st.lists(st.none() | st.text(max_size=80), max_size=20)


def test_native_module_is_built_under_ci():
    """Under CI the native module must import: a missing build would pass slowly."""
    if os.environ.get("CI") == "true":
        assert NATIVE is not None, "survey_service.privacy._sealer did not import under CI"
    elif NATIVE is None:
        pytest.skip("_sealer is not built (make setup)")


@pytest.fixture(params=["native", "python"])
def path(request, monkeypatch):
    """Run the test once on each path (the native one only where it is built)."""
    if request.param == "native":
        if NATIVE is None:
            pytest.skip("_sealer is not built (make setup)")
        monkeypatch.setattr(vault, "native", NATIVE)
    else:
        monkeypatch.setattr(vault, "native", None)
    return request.param


@pytest.fixture
def fixed_nonces(monkeypatch):
    """os.urandom returns the same bytes for the same length, call after call."""
    monkeypatch.setattr(os, "urandom", lambda n: bytes(i * 7 % 256 for i in range(n)))


@needs_native
@given(st.binary(max_size=80), values)
def test_native_hmac_is_hmac_sha256(key, texts):
    """Is hmac_hex_many hmac's hexdigest of each UTF-8, any key, any text?"""
    expected = [hmac.new(key, t.encode(), "sha256").hexdigest() for t in texts]
    assert NATIVE.hmac_hex_many(key, texts) == expected


@needs_native
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=30), st.data())
def test_native_tokens_are_the_python_tokens(key, aad, data):
    """With the same nonces, are the C and Python tokens the same string?"""
    texts = data.draw(maybe_values)
    nonces = data.draw(st.binary(min_size=12 * len(texts), max_size=12 * len(texts)))
    native = NATIVE.seal_many(key, nonces, texts, aad, "t1:")
    assert native == vault._seal_python(AESGCM(key), nonces, texts, aad, "t1:")


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_lookup_hashes_on_both_paths(native, monkeypatch):
    """Does the hasher give hmac's digests whichever loop runs?"""
    if native and NATIVE is None:
        pytest.skip("_sealer is not built (make setup)")
    monkeypatch.setattr(vault, "native", NATIVE if native else None)
    key = VAULT.hasher.key
    expected = [hmac.new(key, t.encode(), "sha256").hexdigest() for t in TEXTS]
    assert LookupHasher(key).lookup_hashes(TEXTS) == expected
    assert VAULT.lookup_hashes(TEXTS) == expected


def test_tokens_decrypt(path):
    """Do the tokens open with decrypt/decrypt_text and with a plain AESGCM?"""
    phones = ["+8613812345678", "+862788886666"]
    tokens = VAULT.encrypt_many(phones)
    assert [VAULT.decrypt(t) for t in tokens] == phones
    raw = base64.b64decode(tokens[0].removeprefix("v1:"))
    assert AESGCM(VAULT._aead_key).decrypt(raw[:12], raw[12:], b"phone").decode() == phones[0]

    sealed = VAULT.encrypt_texts(TEXTS, NAME)
    assert all(t.startswith("t1:") for t in sealed)
    assert [VAULT.decrypt_text(t, NAME) for t in sealed] == TEXTS
    raw = base64.b64decode(sealed[0].removeprefix("t1:"))
    assert AESGCM(VAULT._text_key).decrypt(raw[:12], raw[12:], NAME).decode() == TEXTS[0]


@needs_native
def test_vault_tokens_are_identical_on_both_paths(fixed_nonces, monkeypatch):
    """Through the vault, with fixed nonces: the same tokens from C and from Python?"""
    texts = [None, *TEXTS, None]
    native = VAULT.encrypt_many(TEXTS), VAULT.encrypt_texts(texts, RAW_VALUE)
    monkeypatch.setattr(vault, "native", None)
    assert (VAULT.encrypt_many(TEXTS), VAULT.encrypt_texts(texts, RAW_VALUE)) == native


def test_none_stays_none(path):
    sealed = VAULT.encrypt_texts([None, "张三丰", None, ""], NAME)
    assert sealed[0] is None and sealed[2] is None
    assert [VAULT.decrypt_text(t, NAME) for t in sealed] == [None, "张三丰", None, ""]
    assert VAULT.encrypt_texts([], NAME) == [] and VAULT.encrypt_many([]) == []


@needs_native
def test_a_value_that_is_not_text_is_named():
    with pytest.raises(TypeError, match=r"values\[1\] is int"):
        VAULT.encrypt_texts(["张三", 5], NAME)
    with pytest.raises(TypeError, match=r"values\[2\] is bytes"):
        NATIVE.hmac_hex_many(b"k", ["a", "b", b"c"])
    with pytest.raises(TypeError, match=r"values\[0\] is NoneType"):
        VAULT.lookup_hashes([None])


@needs_native
def test_wrong_lengths_are_refused():
    with pytest.raises(ValueError, match="key must be 32 bytes"):
        NATIVE.seal_many(b"k" * 16, b"n" * 12, ["a"], b"", "t1:")
    with pytest.raises(ValueError, match="nonces must be 12 bytes per value"):
        NATIVE.seal_many(b"k" * 32, b"n" * 23, ["a", "b"], b"", "t1:")
    with pytest.raises(ValueError, match="nonces must be 12 bytes per value"):
        NATIVE.seal_many(b"k" * 32, b"n" * 36, ["a", "b"], b"", "t1:")
    with pytest.raises(ValueError, match="prefix must be ASCII"):
        NATIVE.seal_many(b"k" * 32, b"n" * 12, ["a"], b"", "密:")
    with pytest.raises(TypeError, match="values must be a sequence"):
        NATIVE.seal_many(b"k" * 32, b"", 5, b"", "t1:")


def test_a_batch_of_twenty_thousand(path):
    """A list-sized batch: each token opens to its number, each with its own nonce."""
    phones = [f"+86138{i:08d}" for i in range(20_000)]
    tokens = VAULT.encrypt_many(phones)
    assert [VAULT.decrypt(t) for t in tokens] == phones
    assert len({base64.b64decode(t[3:])[:12] for t in tokens}) == len(phones)
    key = VAULT.hasher.key
    hashes = VAULT.lookup_hashes(phones)
    assert hashes[::997] == [hmac.new(key, p.encode(), "sha256").hexdigest() for p in phones[::997]]


PHONE_DRESSES = ["+8613912345678", "+862788886666", "+8602788886666", "", "+", "++12",
                 "+86", "+8612", "1234567", "12345678", "+447911123456", "0086", "+86１３９",
                 "张三"]  # fmt: skip


@needs_native
@given(st.lists(st.sampled_from(PHONE_DRESSES) | st.text(alphabet="+0123456789", max_size=20)
                | st.text(max_size=12)))  # fmt: skip
def test_native_masks_are_the_python_masks(phones):
    """Every number masked as mask_phone masks it: ASCII in C, anything else by the fallback."""
    assert NATIVE.mask_many(phones, vault.mask_phone) == [vault.mask_phone(p) for p in phones]


def test_masks_on_both_paths(path):
    assert vault.mask_phones(PHONE_DRESSES) == [
        "139****5678", "278***6666", "027****6666", "", "", "12", "", "12", "*****67",
        "123*5678", "447*****3456", "**86", "*３９", "张三",
    ]  # fmt: skip
