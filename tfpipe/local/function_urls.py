"""Lambda function URLs served over HTTP on loopback, one port per function URL found in moto.

While a stack runs, a function URL created in moto is given that loopback address as its URL
(moto would invent https://<id>.lambda-url.<region>.on.aws, which nothing here can reach), so what
Terraform outputs, what the executor's health check polls and what a PR comment links all work.
A request becomes a payload format 2.0 event (what function URLs send); the answer is read the way
function URLs read it: a dict with `statusCode` is a full response, anything else is JSON with 200;
a function error answers 502.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlparse

from moto.awslambda.models import FunctionUrlConfig
from werkzeug.wrappers import Request, Response

from tfpipe.local.wsgi_server import BackgroundServer

log = logging.getLogger("tfpipe.local.function_urls")
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")


def url_event(request: Request, function_url: str, account: str = "anonymous") -> dict:
    host = urlparse(function_url).hostname or ""
    url_id = host.split(".", 1)[0]
    body = request.get_data()
    textual = not body or any((request.content_type or "").startswith(t) for t in _TEXT_TYPES)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.query_string.decode(), keep_blank_values=True):
        query.setdefault(key, []).append(value)
    headers: dict[str, list[str]] = {}
    for key, value in request.headers.items():
        if key.lower() != "cookie":
            headers.setdefault(key.lower(), []).append(value)
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": request.path,
        "rawQueryString": request.query_string.decode(),
        "headers": {key: ",".join(values) for key, values in headers.items()},
        "requestContext": {
            "accountId": account, "apiId": url_id, "domainName": host, "domainPrefix": url_id,
            "http": {"method": request.method, "path": request.path, "protocol": "HTTP/1.1",
                     "sourceIp": request.remote_addr or "127.0.0.1", "userAgent": request.user_agent.string},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": not textual,
    }
    if query:
        event["queryStringParameters"] = {key: ",".join(values) for key, values in query.items()}
    if request.cookies:
        event["cookies"] = [f"{key}={value}" for key, value in request.cookies.items()]
    if body:
        event["body"] = body.decode() if textual else base64.b64encode(body).decode()
    return event


def url_response(payload: bytes) -> Response:
    answer = json.loads(payload or b"null")
    if not (isinstance(answer, dict) and "statusCode" in answer):
        return Response(json.dumps(answer), status=200, content_type="application/json")
    body = answer.get("body") or ""
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(answer["statusCode"]))
    response.headers.pop("Content-Type", None)
    for key, value in (answer.get("headers") or {}).items():
        response.headers[key] = str(value)
    for cookie in answer.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


class FunctionUrlApp:
    def __init__(self, function_name: str, function_url: str, invoke: Callable[[str, bytes], object]):
        self.function_name = function_name
        self.function_url = function_url
        self._invoke = invoke

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        outcome = self._invoke(self.function_name, json.dumps(url_event(request, self.function_url)).encode())
        if outcome.error:
            response = Response(json.dumps({"Message": "Internal Server Error"}), status=502,
                                content_type="application/json")
        else:
            try:
                response = url_response(outcome.payload)
            except (ValueError, TypeError):
                response = Response(json.dumps({"Message": "Internal Server Error"}), status=502)
        return response(environ, start_response)


class FunctionUrls:
    """Keeps one loopback server per function URL that moto knows, in step with moto."""

    def __init__(self, find_urls: Callable[[], dict[str, str]], invoke: Callable[[str, bytes], object],
                 host: str = "127.0.0.1", sync_seconds: float = 0.5, on_change: Callable[[], None] | None = None,
                 allocation_grace_seconds: float = 30.0):
        self._find_urls = find_urls
        self._on_change = on_change or (lambda: None)
        self._invoke = invoke
        self.host = host
        self._servers: dict[str, tuple[str, BackgroundServer]] = {}
        # Allocated URLs moto may not list yet (it stores the config after allocate() answers): a sync
        # in that window must not take the server away, or the URL moto then records answers nothing.
        self._allocated: dict[str, float] = {}
        self._allocation_grace = allocation_grace_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sync_seconds = sync_seconds
        self._thread = threading.Thread(target=self._loop, name="tfpipe-function-urls", daemon=True)

    def start(self) -> FunctionUrls:
        _install(self.allocate)
        self._thread.start()
        return self

    def local_urls(self, sync: bool = True) -> dict[str, dict[str, str]]:
        """Function name -> {"function_url": moto's URL, "local_url": where it is served}."""
        if sync:
            self.sync()
        with self._lock:
            return {name: {"function_url": url, "local_url": server.url + "/"}
                    for name, (url, server) in self._servers.items()}

    def allocate(self, name: str) -> str:
        """Serve `name`'s function URL now and answer its address (moto records it as the URL)."""
        with self._lock:
            new = name not in self._servers
            if new:
                server = BackgroundServer(FunctionUrlApp(name, "", self._invoke), self.host, name=f"url-{name}").start()
                server.app.function_url = server.url + "/"
                self._servers[name] = (server.url + "/", server)
                self._allocated[name] = time.monotonic()
                log.info("function URL of %s served at %s", name, server.url)
            url = self._servers[name][0]
        if new:
            self._on_change()
        return url

    def sync(self) -> None:
        wanted = self._find_urls()
        with self._lock:
            now = time.monotonic()
            for name in [n for n in self._allocated if n in wanted or now - self._allocated[n] > self._allocation_grace]:
                del self._allocated[name]
            wanted = {**{n: self._servers[n][0] for n in self._allocated if n in self._servers}, **wanted}
            changed = {n: u for n, (u, _) in self._servers.items()} != wanted
            for name in [n for n, (url, _) in self._servers.items() if wanted.get(n) != url]:
                self._servers.pop(name)[1].stop()
            for name, url in wanted.items():
                if name not in self._servers:
                    server = BackgroundServer(FunctionUrlApp(name, url, self._invoke), self.host,
                                              name=f"url-{name}").start()
                    self._servers[name] = (url, server)
                    log.info("function URL of %s (%s) served at %s", name, url, server.url)
        if changed:
            self._on_change()

    def _loop(self) -> None:
        while not self._stop.wait(self._sync_seconds):
            try:
                self.sync()
            except Exception:
                log.exception("syncing function URLs")

    def stop(self) -> None:
        _uninstall()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            for _, server in self._servers.values():
                server.stop()
            self._servers.clear()


_ORIGINAL_INIT = FunctionUrlConfig.__init__


def _install(allocate: Callable[[str], str]) -> None:
    def init(self, function, config) -> None:  # moto's signature
        _ORIGINAL_INIT(self, function=function, config=config)
        self.url = allocate(function.function_name)

    FunctionUrlConfig.__init__ = init


def _uninstall() -> None:
    FunctionUrlConfig.__init__ = _ORIGINAL_INIT
