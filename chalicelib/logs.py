"""JSON log lines for the Lambdas, set up once: one object per line, carrying the run id when a
handler works on a run, so CloudWatch Logs Insights can follow one run across functions."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)
LOGGER = "tfpipe"
_configured = False


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if run_id.get():
            line["run_id"] = run_id.get()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (test runners swap it), not what it was at setup."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure(level: int = logging.INFO) -> logging.Logger:
    """Idempotent: the `tfpipe` logger writes JSON lines to stderr (Lambda sends them to CloudWatch)."""
    global _configured
    logger = logging.getLogger(LOGGER)
    if not _configured:
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
        _configured = True
    return logger
