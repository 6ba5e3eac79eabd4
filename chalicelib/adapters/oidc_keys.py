"""The OIDC issuer's signing keys: `<issuer>/.well-known/openid-configuration` names its `jwks_uri`,
whose keys are fetched on first use and kept for the container's life. A token naming a key not
among them fetches them again (GitHub rotates its keys), at most once a minute, so a flood of tokens
with made-up key ids cannot turn into a flood of requests to the issuer."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import jwt

from chalicelib.core.errors import DependencyFailed

REFETCH_AFTER_SECONDS = 60.0
TIMEOUT_SECONDS = 5.0


def _get_json(url: str) -> dict:
    if not url.startswith(("https://", "http://")):
        raise DependencyFailed(f"fetching {url[:100]!r}: not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 - http(s) checked above
            data = json.loads(answer.read())
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise DependencyFailed(f"fetching {url}: {exc.__class__.__name__}: {exc}") from None
    if not isinstance(data, dict):
        raise DependencyFailed(f"fetching {url}: the answer is not a JSON object")
    return data


class OidcKeys:
    def __init__(self, issuer: str, get_json: Callable[[str], dict] = _get_json,
                 clock: Callable[[], float] = time.monotonic):
        self.issuer = issuer.rstrip("/")
        self._get_json = get_json
        self._clock = clock
        self._keys: dict[str, object] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> object | None:
        """The public key with id `kid`, or None when the issuer does not publish it."""
        with self._lock:
            stale = self._fetched_at is None or self._clock() - self._fetched_at >= REFETCH_AFTER_SECONDS
            if kid not in self._keys and stale:
                self._keys = self._fetch()
                self._fetched_at = self._clock()
            return self._keys.get(kid)

    def _fetch(self) -> dict[str, object]:
        discovery = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise DependencyFailed(f"reading {self.issuer}'s OpenID configuration: it names no jwks_uri")
        try:
            keyset = jwt.PyJWKSet.from_dict(self._get_json(jwks_uri))
        except jwt.PyJWTError as exc:
            raise DependencyFailed(f"reading the keys at {jwks_uri}: {exc}") from None
        return {k.key_id: k.key for k in keyset.keys if k.key_id and k.public_key_use in (None, "sig")}
