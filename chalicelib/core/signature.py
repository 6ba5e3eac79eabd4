"""GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.

It authenticates GitHub's webhooks only: `/dispatch` takes GitHub Actions' OIDC token (actions_token.py)
and the operator routes SigV4 (IAM), so the webhook secret is shared with GitHub and nobody else.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from chalicelib.core.errors import Unauthenticated

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True only for a well-formed header matching the body; compared in constant time."""
    if not secret or not header or not header.startswith(PREFIX) or len(header) != len(PREFIX) + 64:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.encode("utf-8", "replace"))


def require(secret: str, headers: Mapping[str, str], body: bytes, doing: str) -> None:
    """Unauthenticated, saying how to sign, unless the headers (any case) carry the body's signature."""
    header = next((v for k, v in headers.items() if k.lower() == HEADER.lower()), None)
    if not verify(secret, body, header):
        raise Unauthenticated(f"{doing}: missing or bad {HEADER}; sign the raw body with HMAC-SHA256 and the "
                              "webhook secret, as `sha256=<hex>`")
