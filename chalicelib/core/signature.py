"""GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.

The same scheme authenticates `/dispatch` and the approval routes, so every caller signs the same way.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True only for a well-formed header matching the body; compared in constant time."""
    if not secret or not header or not header.startswith(PREFIX) or len(header) != len(PREFIX) + 64:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.encode("utf-8", "replace"))
