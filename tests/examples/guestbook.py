"""Loading the sample app's handler the way Lambda does (a fresh module is a cold start), and the
function URL events (payload format 2.0) it receives."""

from __future__ import annotations

import base64
import importlib.util
import itertools
import json
from pathlib import Path

HANDLER = Path(__file__).resolve().parents[2] / "examples" / "app" / "handler.py"
_starts = itertools.count()


def cold_start():
    spec = importlib.util.spec_from_file_location(f"guestbook_handler_{next(_starts)}", HANDLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def url_event(method: str, path: str, body: dict | str | None = None, base64_body: bool = False) -> dict:
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    if raw is not None and base64_body:
        raw = base64.b64encode(raw.encode()).decode()
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                           "domainName": "abc.lambda-url.us-east-1.on.aws", "stage": "$default"},
        "body": raw, "isBase64Encoded": base64_body,
    }


def call(module, method: str, path: str, body=None, base64_body: bool = False) -> tuple[int, dict]:
    response = module.handler(url_event(method, path, body, base64_body), None)
    return response["statusCode"], json.loads(response["body"])
