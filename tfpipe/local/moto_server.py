"""moto in server mode on a free loopback port, with Step Functions' real ASL engine turned on."""

from __future__ import annotations

import socket
import time

import requests
from moto.server import ThreadedMotoServer

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True},
               "lambda": {"use_docker": False}, "batch": {"use_docker": False}}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port(host)
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        self._server.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.post(f"{self.url}/moto-api/config", json=MOTO_CONFIG, timeout=2).raise_for_status()
                return self
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        requests.post(f"{self.url}/moto-api/config", json=MOTO_CONFIG, timeout=10).raise_for_status()

    def stop(self) -> None:
        self._server.stop()
