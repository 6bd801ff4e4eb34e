"""SURVEY_ENV=production refuses weak keys and a plain-http public URL."""

from __future__ import annotations

import base64

import pytest

from survey_service.key_checks import data_key_weakness, secret_weakness
from tests.conftest import make_test_app
from tests.web.test_sessions import strong_production_config


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("k" * 40, "too few distinct characters (a repeated character?)"),
        ("short-but-random-Zx7Vb4", "shorter than 32 characters"),
        ("a1b2c3d4e5f6g7h8" * 3, "a repeated pattern"),
        ("abcdefghijklmnopqrstuvwxyz012345", "an alphabet, digit or keyboard run"),
        ("MySuperSecretKeyThatIsLongEnough1", "contains the dictionary word 'secret'"),
        ("Zq9-P@ssw0rd-2017-wuhan-office-Lm", "contains the dictionary word 'password'"),
        ("4f-test-key-for-the-office-2017-x", "contains the dictionary word 'test'"),
        ("0101010101010101abababababab2323", "too few distinct characters (a repeated character?)"),
        ("zzzzzzzzzzzzzzzzzzzzzq9x8c7v6b5n", "too little entropy (under 96 bits)"),
    ],
)
def test_weak_secrets_are_named_weak(secret, reason):
    assert secret_weakness(secret) == reason


def test_random_secrets_pass():
    for secret in (
        "k3J8sPq0Lm2Zx7Vb4Nc6Hd1Fg5Ty9Re3Wu",
        "9f86d081884c7d659a2feaa0c55ad015",  # 32 hex characters
        "correct horse battery staple Zx7#",
    ):
        assert secret_weakness(secret) is None, secret


def test_weak_data_keys():
    encode = lambda raw: base64.urlsafe_b64encode(raw).decode()  # noqa: E731
    assert data_key_weakness(encode(bytes(32))) == "all zero bytes"
    assert data_key_weakness(encode(b"k" * 32)) == "too few distinct bytes (not random)"
    assert data_key_weakness(encode(b"\x01" * 16)) == "does not decode to 32 bytes"
    assert data_key_weakness(encode(bytes(range(7, 39)))) is None


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"SECRET_KEY": "x" * 64}, "SECRET_KEY is weak: too few distinct characters"),
        ({"SECRET_KEY": "production-password-for-the-survey!"}, "SECRET_KEY is weak: contains"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SURVEY_DATA_KEY": base64.urlsafe_b64encode(bytes(32)).decode()}, "all zero bytes"),
        ({"SURVEY_DATA_KEY": ""}, "SURVEY_DATA_KEY must be set"),
        ({"PUBLIC_BASE_URL": "http://survey.example.cn"}, "PUBLIC_BASE_URL must be an https://"),
        ({"SURVEY_ENV": "PRODUCTION", "SECRET_KEY": "a" * 32}, "SECRET_KEY is weak"),
    ],
)
def test_production_refuses_to_start_with_a_weak_setting(
    database_urls, tmp_path, override, problem
):
    """Does create_app under SURVEY_ENV=production stop, naming the weak setting (not its value)?"""
    config = strong_production_config(**override)
    with pytest.raises(RuntimeError, match="refusing to start with SURVEY_ENV=production") as info:
        make_test_app(database_urls["sqlite"], tmp_path / "instance", **config)
    assert problem in str(info.value)
    secret = override.get("SECRET_KEY")
    if secret:
        assert secret not in str(info.value)


def test_development_accepts_test_keys(database_urls, tmp_path):
    app = make_test_app(database_urls["sqlite"], tmp_path / "instance", SECRET_KEY="dev")
    assert app.config["SURVEY_ENV"] == "development"
    app.extensions["engine"].dispose()
