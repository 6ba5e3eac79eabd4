"""The one switch that stops a job early: SIGTERM (Batch TerminateJob, Fargate Spot reclaim) or
SIGINT flips it; the Terraform runner forwards it as one interrupt and lets Terraform unlock."""

from __future__ import annotations

import signal
import threading


class Interrupt:
    def __init__(self):
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)

    def install_signal_handlers(self) -> None:
        def handler(signum, _frame):
            self.request(f"received {signal.Signals(signum).name}")

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
