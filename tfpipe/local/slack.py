"""A Slack incoming-webhook stand-in: every message the pipeline posts is appended to
`<state-dir>/slack.jsonl` and answered "ok", as Slack answers. Its URL is the local Slack secret."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from werkzeug.wrappers import Request, Response


class SlackWebhook:
    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "slack.jsonl"
        self._lock = threading.Lock()

    def messages(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        if request.method != "POST":
            return Response("invalid_request", status=400)(environ, start_response)
        try:
            message = json.loads(request.get_data() or b"{}")
        except json.JSONDecodeError:
            return Response("invalid_payload", status=400)(environ, start_response)
        with self._lock, self.path.open("a") as out:
            out.write(json.dumps({"at": time.time(), "path": request.path, "message": message}) + "\n")
        return Response("ok", content_type="text/plain")(environ, start_response)
