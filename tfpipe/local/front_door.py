"""The front door on moto's port: routes each AWS request by the service it was signed for.

moto's Step Functions engine (server mode) sends every Task's service call to
`http://localhost:$MOTO_PORT` with a plain boto3 client (moto/stepfunctions/parser/asl/utils/
boto_client.py). The stack serves moto behind this router on that port, so a state machine's
`lambda:invoke` reaches the local Lambda service and Batch calls reach the local Batch service,
while everything else is answered by moto itself, in-process, without an extra HTTP hop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")


def signing_service(environ: Mapping[str, str]) -> str | None:
    """The service name of the SigV4 credential scope (`.../us-east-1/lambda/aws4_request`)."""
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match["service"]
    # Presigned URLs carry the scope in the query string instead.
    match = re.search(r"X-Amz-Credential=[^/&]+%2F\d{8}%2F[^%]+%2F(?P<service>[^%]+)%2F", environ.get("QUERY_STRING", ""))
    return match["service"] if match else None


class FrontDoor:
    def __init__(self, fallback: Callable, routes: Mapping[str, Callable] | None = None):
        self.fallback = fallback
        self.routes = dict(routes or {})

    def route(self, service: str, app: Callable) -> None:
        self.routes[service] = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        app = self.routes.get(signing_service(environ) or "", self.fallback)
        return app(environ, start_response)
