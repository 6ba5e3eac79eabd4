"""Secret masking of text and JSON-like data."""

from __future__ import annotations

import json

from executor.masking import MASK, Masker


def test_every_occurrence_of_a_secret_is_masked_and_other_text_kept():
    masker = Masker()
    masker.add("s3cr3t-value")
    assert masker.mask("a s3cr3t-value b s3cr3t-value") == f"a {MASK} b {MASK}"
    assert masker.mask("nothing here") == "nothing here"


def test_a_secret_inside_a_json_document_is_masked_in_its_escaped_form():
    masker = Masker()
    secret = 'pa"ss\\word'
    masker.add(secret)
    document = json.dumps({"value": secret})
    assert secret not in masker.mask(document) and json.dumps(secret)[1:-1] not in masker.mask(document)


def test_each_line_of_a_multi_line_secret_is_masked_on_its_own():
    masker = Masker()
    masker.add("-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----")
    assert "AAAABBBBCCCC" not in masker.mask("terraform printed: AAAABBBBCCCC")


def test_short_values_are_not_treated_as_secrets():
    masker = Masker()
    masker.add("ab")
    assert masker.mask("abc ab") == "abc ab"


def test_nested_data_is_masked_in_keys_and_values_and_non_strings_kept():
    masker = Masker()
    masker.add("topsecret")
    data = {"outputs": {"url": "https://x/topsecret", "topsecret": 1}, "n": [2, "topsecret"], "ok": True}
    assert masker.mask_data(data) == {"outputs": {"url": f"https://x/{MASK}", MASK: 1}, "n": [2, MASK], "ok": True}


def test_non_string_secrets_are_masked_as_their_json_text():
    masker = Masker()
    masker.add({"user": "admin", "password": "hunter22"})
    assert masker.mask(json.dumps({"password": "hunter22", "user": "admin"})) == MASK


def test_every_leaf_of_a_structured_sensitive_value_is_remembered():
    masker = Masker()
    masker.add_all({"user": "admin-user", "keys": ["key-one-1", "key-two-2"], "port": 5432, "none": None})
    assert masker.mask("admin-user key-one-1 key-two-2 5432") == f"{MASK} {MASK} {MASK} {MASK}"
