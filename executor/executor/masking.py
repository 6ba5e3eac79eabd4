"""Secret masking: every value read from Secrets Manager, every sensitive output and the target
role's credentials are replaced by `***` in each log line, artifact, status event and callback the job
writes; so are their encoded forms that Terraform, providers and careless configurations print: JSON
escaping, percent-encoding (`quote`, `quote_plus`) and base64 (standard and URL-safe).

A secret inside a larger base64 blob shows as one of three encodings, depending on where in the blob
its first byte falls (base64 groups 3 bytes in 4 characters); the characters at its edges mix with the
neighbours' bits, so each alignment's stable inner part is what is masked. This is the only masker
of the pipeline: the Lambdas only relay what the job already masked.
"""

from __future__ import annotations

import base64
import json
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words; secrets are never that short
MIN_ENCODED_LENGTH = 8  # a shorter base64 run matches ordinary digests and identifiers


class Masker:
    def __init__(self):
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: object) -> None:
        """Remember a secret, with its JSON-escaped form (it may sit inside a JSON document)."""
        if not isinstance(value, str):
            value = json.dumps(value, sort_keys=True)
        plain = {value, json.dumps(value)[1:-1]}
        # A multi-line secret (a key, a JSON blob) also leaks line by line through terraform's output.
        plain.update(line for line in value.splitlines() if line.strip())
        plain = {f for f in plain if len(f.strip()) >= MIN_LENGTH}
        forms = set(plain)
        for form in plain:
            forms.update({quote(form, safe=""), quote(form), quote_plus(form)})
            forms.update(f for f in encoded_forms(form.encode()) if len(f) >= MIN_ENCODED_LENGTH)
        with self._lock:
            self._values.update(forms)

    def add_all(self, value: object) -> None:
        """Remember every leaf of a value (a sensitive output may be a map or a list)."""
        if isinstance(value, dict):
            for item in value.values():
                self.add_all(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self.add_all(item)
        elif value is not None:
            self.add(value)

    def mask(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def mask_data(self, data):
        """A copy of a JSON-like structure with every string masked."""
        if isinstance(data, str):
            return self.mask(data)
        if isinstance(data, dict):
            return {self.mask(str(k)): self.mask_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.mask_data(v) for v in data]
        return data


def encoded_forms(data: bytes) -> set[str]:
    """The base64 texts that give `data` away: its own encoding, and for each of the 3 byte alignments
    inside a larger blob the characters that depend on its bytes alone (standard and URL-safe)."""
    forms = {base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()}
    for pad in range(3):
        encoded = base64.b64encode(bytes(pad) + data).decode()
        start = -(-8 * pad // 6)  # the first character whose 6 bits are all the secret's
        end = 8 * (pad + len(data)) // 6  # past the last one
        inner = encoded[start:end]
        forms.update({inner, inner.replace("+", "-").replace("/", "_")})
    return forms
