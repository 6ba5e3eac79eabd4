"""Secrets Manager, cached per container: a webhook burst costs one GetSecretValue, not one each."""

from __future__ import annotations

import threading
import time

from chalicelib.core.errors import DependencyFailed


class SecretsManagerStore:
    def __init__(self, client, ttl_seconds: float = 300.0, clock=time.monotonic):
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> str:
        with self._lock:
            hit = self._cache.get(name)
            if hit and self._clock() - hit[0] < self._ttl:
                return hit[1]
        try:
            value = self._client.get_secret_value(SecretId=name)["SecretString"]
        except Exception as exc:  # botocore errors carry no secret; name the secret, not its value
            raise DependencyFailed(f"reading secret {name!r} from Secrets Manager: {type(exc).__name__}") from exc
        with self._lock:
            self._cache[name] = (self._clock(), value)
        return value
