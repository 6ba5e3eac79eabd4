"""Who may command the pipeline from a pull request: users with write access, asked of GitHub and
cached briefly per container, so a burst of comments costs one API call per user."""

from __future__ import annotations

import threading
import time

from chalicelib.ports import Vcs

WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})


class PermissionCache:
    def __init__(self, vcs: Vcs, ttl_seconds: float, clock=time.monotonic):
        self._vcs = vcs
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def permission(self, repository: str, user: str) -> str:
        key = (repository.lower(), user.lower())
        with self._lock:
            hit = self._cache.get(key)
            if hit and self._clock() - hit[0] < self._ttl:
                return hit[1]
        value = self._vcs.permission(repository, user)
        with self._lock:
            self._cache[key] = (self._clock(), value)
        return value

    def can_write(self, repository: str, user: str) -> bool:
        return self.permission(repository, user) in WRITE_PERMISSIONS
