"""The one redaction function masks credentials wherever they appear in a text."""

import pytest

from baselinr.redact import MASK, redact, register_secrets


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("postgresql+psycopg2://bob:s3cr3t@db.example/x", "bob", "s3cr3t"),
        (
            "postgresql://db.example/x?sslmode=require&password=hunter2",
            "sslmode=require",
            "hunter2",
        ),
        ("host=db user=bob password=xyzzy dbname=a", "dbname=a", "xyzzy"),
        ("webhook https://u:pw-123@hooks.example/x failed", "hooks.example", "pw-123"),
        ("api_key: ABCDEF12 rejected", "rejected", "ABCDEF12"),
        ("https://hooks.example/x?token=t0k3n&x=1", "x=1", "t0k3n"),
    ],
)
def test_credentials_are_masked(text: str, kept: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out and kept in out and MASK in out


def test_ordinary_text_is_left_alone() -> None:
    text = "password authentication failed for user bob; passwords differ"
    assert redact(text) == text


def test_registered_secrets_are_masked_anywhere() -> None:
    register_secrets(["Zq9-registered-Zq9", "ab", None])
    assert redact("FATAL: Zq9-registered-Zq9 is wrong") == f"FATAL: {MASK} is wrong"
    assert redact("ab cd") == "ab cd"  # too short to be masked safely
