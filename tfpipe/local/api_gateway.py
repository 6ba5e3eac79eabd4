"""The Chalice app's REST API served over HTTP on loopback, the way API Gateway serves it: each
request becomes an API Gateway (REST, proxy) event for the app's API handler function
`<app>-<stage>`, invoked through the local Lambda service; its answer becomes the HTTP response.
A path no route matches gets API Gateway's 403 "Missing Authentication Token". A route with Chalice's
`IAMAuthorizer` (authorization AWS_IAM) needs a SigV4 signature (sigv4.py): unsigned or wrongly
signed calls are refused with 403 before the function runs, and the caller's ARN goes into
`requestContext.identity` as API Gateway puts it there."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterable

from chalice.app import Chalice, IAMAuthorizer
from chalice.local import RouteMatcher
from werkzeug.wrappers import Request, Response

from tfpipe.local.sigv4 import Refused, SigV4Verifier


def api_event(request: Request, resource: str, path_parameters: dict | None, stage: str, account: str,
              identity: dict | None = None) -> dict:
    body = request.get_data()
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    multi_headers: dict[str, list[str]] = {}
    for key, value in request.headers.items():
        multi_headers.setdefault(key, []).append(value)
    multi_query = {key: request.args.getlist(key) for key in request.args}
    return {
        "resource": resource, "path": request.path, "httpMethod": request.method,
        "headers": {key: values[-1] for key, values in multi_headers.items()}, "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None, "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": request.method, "path": f"/{stage}{request.path}",
            "stage": stage, "accountId": account, "apiId": "local", "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()), "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": request.remote_addr or "127.0.0.1", "userAgent": request.user_agent.string,
                         **(identity or {})},
        },
        "body": text if body else None, "isBase64Encoded": encoded,
    }


class ApiGateway:
    def __init__(self, app: Chalice, function_name: str, invoke: Callable[[str, bytes], object],
                 stage: str = "api", account: str = "123456789012", verifier: SigV4Verifier | None = None):
        self._app = app
        self._matcher = RouteMatcher(list(app.routes)) if app.routes else None
        self._verifier = verifier or SigV4Verifier()
        self.function_name = function_name
        self._invoke = invoke
        self.stage = stage
        self.account = account

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            if self._matcher is None:
                raise ValueError("no routes")
            matched = self._matcher.match_route(request.path)
        except ValueError:
            response = Response(json.dumps({"message": "Missing Authentication Token"}), status=403,
                                content_type="application/json")
            return response(environ, start_response)
        identity = None
        if self._needs_iam(matched.route, request.method):
            try:
                identity = self._verifier.caller(request).identity()
            except Refused as refused:
                response = Response(json.dumps({"message": refused.message}), status=403,
                                    content_type="application/json", headers={"x-amzn-ErrorType": refused.error_type})
                return response(environ, start_response)
        event = api_event(request, matched.route, matched.captured, self.stage, self.account, identity)
        outcome = self._invoke(self.function_name, json.dumps(event).encode())
        if outcome.error:
            response = Response(json.dumps({"message": "Internal server error"}), status=502,
                                content_type="application/json")
        else:
            response = _from_proxy_answer(json.loads(outcome.payload or b"null"))
        return response(environ, start_response)

    def _needs_iam(self, resource: str, method: str) -> bool:
        entry = self._app.routes.get(resource, {}).get(method.upper())
        return entry is not None and isinstance(entry.authorizer, IAMAuthorizer)


def _from_proxy_answer(answer: object) -> Response:
    if not isinstance(answer, dict) or "statusCode" not in answer:
        return Response(json.dumps({"message": "Internal server error"}), status=502, content_type="application/json")
    body = answer.get("body") or ""
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(answer["statusCode"]))
    response.headers.pop("Content-Type", None)
    for key, values in (answer.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(key, str(value))
    for key, value in (answer.get("headers") or {}).items():
        if key not in (answer.get("multiValueHeaders") or {}):
            response.headers[key] = str(value)
    return response
