"""A CloudWatch Logs stream fed line by line (Batch jobs' output, uploaded functions' output)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tfpipe.local.batch_job import now_ms

log = logging.getLogger("tfpipe.local.logs")


class LogSink:
    """Output kept in a local file and sent to a CloudWatch Logs stream in batches."""

    def __init__(self, logs: Any, group: str, stream: str, path: Path, flush_every: float = 1.0):
        self._logs = logs
        self._group = group
        self._stream = stream
        self._pending: list[dict] = []
        self._last_flush = time.monotonic()
        self._flush_every = flush_every
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        for create in (lambda: logs.create_log_group(logGroupName=group),
                       lambda: logs.create_log_stream(logGroupName=group, logStreamName=stream)):
            try:
                create()
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                    log.warning("creating the log stream of %s: %s", stream, exc)
            except BotoCoreError as exc:
                log.warning("creating the log stream of %s: %s", stream, exc)

    def write(self, line: str) -> None:
        self._file.write(line + "\n")
        self._file.flush()
        self._pending.append({"timestamp": now_ms(), "message": line})
        if time.monotonic() - self._last_flush >= self._flush_every:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        events, self._pending = self._pending, []
        try:
            self._logs.put_log_events(logGroupName=self._group, logStreamName=self._stream, logEvents=events)
        except (ClientError, BotoCoreError) as exc:
            log.warning("sending the log of %s to CloudWatch Logs: %s", self._stream, exc)

    def close(self) -> None:
        self.flush()
        self._file.close()
