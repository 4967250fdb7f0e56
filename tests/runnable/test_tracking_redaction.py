"""Secret redaction: no value under a secret-named key survives, at any depth."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from runnable.redaction import is_secret_key, redact_text, to_record_json, to_record_json_text
from runnable.tracking import REDACTED, redact_secrets

SECRET = "sk-hypothesis-secret"
secret_keys = st.sampled_from(
    ["api_key", "API_KEY", "Authorization", "x-api-key", "X-Api-Key", "openai_api_key", "password"]
)
plain_keys = st.text(min_size=1, max_size=8).filter(lambda key: not is_secret_key(key))
plain_values = st.none() | st.booleans() | st.integers() | st.text(max_size=8)


def documents(with_secrets: bool) -> st.SearchStrategy[Any]:
    keys = plain_keys | secret_keys if with_secrets else plain_keys
    leaves = plain_values | st.just(SECRET) if with_secrets else plain_values
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3)
        ),
        max_leaves=15,
    )


def values_under_secret_keys(value: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_key(key):
                found.append(item)
            found.extend(values_under_secret_keys(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(values_under_secret_keys(item))
    return found


@given(documents(with_secrets=True))
def test_every_value_under_a_secret_key_is_redacted(document: Any) -> None:
    redacted = redact_secrets(document)
    assert all(item in (REDACTED, None) for item in values_under_secret_keys(redacted))


@given(documents(with_secrets=False))
def test_a_document_without_secret_keys_is_unchanged(document: Any) -> None:
    assert redact_secrets(document) == document


@given(documents(with_secrets=True))
def test_redaction_is_idempotent(document: Any) -> None:
    once = redact_secrets(document)
    assert redact_secrets(once) == once


def test_a_header_pair_with_a_secret_name_is_redacted() -> None:
    assert redact_secrets([["Authorization", "Bearer x"], ["Accept", "json"]]) == [
        ["Authorization", REDACTED],
        ["Accept", "json"],
    ]


def test_non_secret_lookalikes_are_kept() -> None:
    kept = {"max_tokens": 5, "token": "Hello", "tokens_in": 3, "api": "v1", "key": "name"}
    assert redact_secrets(kept) == kept


def test_credentials_in_text_are_blanked() -> None:
    assert redact_text("401: Bearer sk-abc123 rejected") == "401: Bearer [REDACTED] rejected"


def test_models_dataclasses_and_attrs_become_redacted_json() -> None:
    @dataclass
    class Config:
        api_key: str
        model: str

    @attrs.frozen
    class Call:
        config: Config
        when: int

    class Client:
        def __repr__(self) -> str:
            return f"Client(key={SECRET})"

    converted = to_record_json({"call": Call(Config(SECRET, "m"), 1), "client": Client()})
    assert converted == {
        "call": {"config": {"api_key": REDACTED, "model": "m"}, "when": 1},
        "client": "<test_models_dataclasses_and_attrs_become_redacted_json.<locals>.Client>",
    }


@pytest.mark.parametrize(
    "key", ["openaiApiKey", "apiToken", "authToken", "auth_token", "bearer_token", "X-Api-Key"]
)
def test_secret_key_spellings_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["max_tokens", "tokens_in", "token_count", "monkey", "name"])
def test_ordinary_keys_are_not_secrets(key: str) -> None:
    assert not is_secret_key(key)


def test_key_shaped_strings_and_url_passwords_are_blanked_in_text() -> None:
    text = "call failed: sk-proj-abcdefghijklmnop at https://ada:hunter22@api.example/v1"
    cleaned = redact_text(text)
    assert "sk-proj-abcdefghijklmnop" not in cleaned
    assert "hunter22" not in cleaned
    assert "https://ada:" in cleaned  # the user stays: it helps, and it is not a secret


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET https://api.example/v1?api_key=s3cr3tvalue&q=1 failed", "s3cr3tvalue"),
        ("redis://:hunter22@cache:6379/0 refused", "hunter22"),
        ("input_value={'api_key': 'abc123xyz', 'n': 1}", "abc123xyz"),
        ("password=p4ssw0rd; retrying", "p4ssw0rd"),
    ],
)
def test_secrets_inside_error_texts_are_blanked(text: str, secret: str) -> None:
    assert secret not in redact_text(text)


def test_ordinary_prose_is_left_alone() -> None:
    assert redact_text("a basic error with max_tokens=5") == "a basic error with max_tokens=5"


@given(documents(with_secrets=True))
def test_records_are_redacted_exactly_as_redact_secrets_does_and_the_input_is_untouched(
    document: Any,
) -> None:
    before = repr(document)
    assert to_record_json(document) == redact_secrets(document)
    assert repr(document) == before


# Keys that end like a secret name in every way `is_secret_key` reads one: any case,
# camelCase, '-' for '_', whitespace or control characters around it, odd letters
# whose lower case is ASCII (the Kelvin sign), quotes and backslashes before it.
tricky_keys = st.builds(
    lambda head, word, tail: head + word + tail,
    st.text(alphabet="aK_-\"\\ \n\x1c", max_size=4),
    st.sampled_from(
        ["api_key", "apiKey", "X-API-KEY", "token_x_token", "authToken", "Authorization",
         "cookie", "secret", "PassWord", "passwd", "pwd", "auth", "credentials",
         "max_tokens", "tokens", "monkey", "keys", "api_\u212aey"]
    ),
    st.text(alphabet=" \t\n\r\x1c\x1f\x85\xa0", max_size=2),
)  # fmt: skip


@given(
    st.recursive(
        plain_values | st.just(SECRET) | st.sampled_from(["\ud800", "é", "\x00"]),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(plain_keys | secret_keys | tricky_keys, children, max_size=3)
        ),
        max_leaves=15,
    )
)
@example({"api_key ": SECRET})  # whitespace after a secret name: `strip()` drops it
@example({"X-Api-Key\n": SECRET, "n": [["authorization\x1c", SECRET]]})  # escaped
@example({"api_\u212aey\xa0": SECRET})  # a Kelvin sign lower-cases to "k"
@settings(max_examples=300)
def test_record_json_text_is_the_redacted_record_whatever_the_keys(document: Any) -> None:
    # The run store writes this text; its one-pass screen must never skip a redaction.
    assert json.loads(to_record_json_text(document)) == json.loads(
        json.dumps(to_record_json(document))
    )
