"""The job's log: one JSON line per event on stdout (CloudWatch Logs), carrying the run id, and the
same lines as plain text in a buffer that becomes the `log.txt` artifact. Everything is masked."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime

from executor.masking import Masker


class JobLog:
    def __init__(self, run_id: str, masker: Masker, stream=None):
        self.run_id = run_id
        self._masker = masker
        self._stream = stream or sys.stdout
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self.phase = "start"

    def event(self, message: str, level: str = "info", source: str = "executor", **fields) -> None:
        message = self._masker.mask(message)
        now = time.time()
        record = {"ts": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"), "level": level,
                  "run_id": self.run_id, "phase": self.phase, "source": source, "message": message}
        record.update(self._masker.mask_data(fields))
        line = json.dumps(record, default=str)
        with self._lock:
            self._lines.append(f"{record['ts']} [{self.phase}] {source}: {message}")
            self._stream.write(line + "\n")
            self._stream.flush()

    def terraform_line(self, line: str) -> None:
        self.event(line.rstrip("\n"), source="terraform")

    def text(self) -> str:
        with self._lock:
            return "\n".join(self._lines) + "\n"

    def tail(self, lines: int = 40) -> str:
        with self._lock:
            return "\n".join(self._lines[-lines:])
