"""How API routes answer: domain errors map to HTTP codes here, and only here."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalice import Response

from chalicelib.core.errors import PipelineError
from chalicelib.intake import Answer

log = logging.getLogger("tfpipe.api")


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
