"""AWS clients, created in one place.

botocore honours the standard `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` variables on its
own, so the same code talks to moto, the embedded stack's local services, or AWS. Clients are made
lazily (a cold start pays only for the clients its handler uses) and kept for the container's life.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import Settings

_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)


class AwsClients:
    def __init__(self, settings: Settings, session: boto3.session.Session | None = None):
        self._settings = settings
        self._session = session or boto3.session.Session(region_name=settings.region)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(service, config=_RETRIES)
            return self._clients[service]

    def __getattr__(self, service: str) -> Any:
        # clients.s3, clients.stepfunctions, ...: only botocore service names reach here.
        if service.startswith("_"):
            raise AttributeError(service)
        return self.client(service)
