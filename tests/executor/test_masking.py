"""Secret masking of text and JSON-like data."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus

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


SECRET = "p@ss w/rd+&=?-Zq9"


def _decodes_to_secret(text: str) -> bool:
    """Whether any base64 run of `text`, standard or URL-safe, decodes (at any offset) to contain SECRET."""
    for run in re.findall(r"[A-Za-z0-9+/_-]{8,}", text):
        for offset in range(4):
            chunk = run[offset:]
            chunk = chunk[: len(chunk) // 4 * 4]
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    if SECRET.encode() in decode(chunk):
                        return True
                except ValueError:
                    continue
    return False


def test_a_secret_in_base64_is_masked_alone_and_inside_a_larger_blob_at_every_alignment():
    masker = Masker()
    masker.add(SECRET)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        assert masker.mask(encode(SECRET.encode()).decode()) == MASK
        for before in ("", "k", "ke", "key="):  # the secret's first byte at each of the 3 alignments
            blob = encode(f"{before}{SECRET}\nAWS_REGION=us-east-1".encode()).decode()
            assert _decodes_to_secret(blob)
            masked = masker.mask(f"environ: {blob}")
            assert MASK in masked and not _decodes_to_secret(masked), (before, masked)


def test_a_secret_percent_encoded_for_a_path_a_query_or_a_form_is_masked():
    masker = Masker()
    masker.add(SECRET)
    for encoded in (quote(SECRET), quote(SECRET, safe=""), quote_plus(SECRET)):
        assert encoded != SECRET
        assert masker.mask(f"https://db.internal/?password={encoded}&x=1") == f"https://db.internal/?password={MASK}&x=1"

