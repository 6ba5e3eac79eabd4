"""SendTaskHeartbeat every N seconds while the job works; when Step Functions stops waiting (the
token timed out or the execution was stopped), the job is interrupted like on SIGTERM."""

from __future__ import annotations

import threading

from chalicelib.adapters.task_callbacks import TokenClosed


class Heartbeat:
    def __init__(self, callbacks, token: str, interval: float, log, interrupt):
        self._callbacks = callbacks
        self._token = token
        self._interval = interval
        self._log = log
        self._interrupt = interrupt
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._callbacks.heartbeat(self._token)
            except TokenClosed as exc:
                self._log.event(f"heartbeat: {exc}; nobody waits for this job any more", level="warning")
                self._interrupt.request("Step Functions no longer waits for this job (task token closed)")
                return
            except Exception as exc:  # a missed heartbeat is retried at the next beat
                self._log.event(f"heartbeat: {exc}", level="warning")
