"""Secret masking: every value read from Secrets Manager and every sensitive output is replaced by
`***` in each log line, artifact, status event and callback the job writes."""

from __future__ import annotations

import json
import threading

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words; secrets are never that short


class Masker:
    def __init__(self):
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: object) -> None:
        """Remember a secret, with its JSON-escaped form (it may sit inside a JSON document)."""
        if not isinstance(value, str):
            value = json.dumps(value, sort_keys=True)
        forms = {value, json.dumps(value)[1:-1]}
        # A multi-line secret (a key, a JSON blob) also leaks line by line through terraform's output.
        forms.update(line for line in value.splitlines() if line.strip())
        with self._lock:
            self._values.update(f for f in forms if len(f.strip()) >= MIN_LENGTH)

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
