"""How API routes answer: domain errors map to HTTP codes here, and only here."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalice import Response

from chalicelib.core.errors import Forbidden, PipelineError
from chalicelib.intake import Answer

log = logging.getLogger("tfpipe.api")


def caller_arn(request) -> str:
    """The IAM ARN of an operator route's caller, as API Gateway's AWS_IAM authorization derived it
    from the SigV4 signature. Its absence means the route was deployed without that authorization:
    refused (403), never taken on trust. Called inside `respond`'s call, so the refusal is answered."""
    identity = (getattr(request, "context", None) or {}).get("identity") or {}
    arn = identity.get("userArn")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise Forbidden("authenticating the operator request: no IAM caller in the request context; this route "
                        "must be deployed with authorization AWS_IAM and called SigV4-signed (service execute-api)")
    return arn


def respond(call: Callable[[], Answer]) -> Response:
    try:
        answer = call()
    except PipelineError as exc:
        log.warning("refused: %s", exc)
        return Response(body=exc.to_dict(), status_code=exc.http_status)
    except Exception:
        log.exception("unexpected error answering the request")
        return Response(body={"error": "InternalError", "message": "tfpipe failed to handle the request; "
                              "it was logged and nothing was started twice"}, status_code=500)
    return Response(body=answer.body, status_code=answer.status)
