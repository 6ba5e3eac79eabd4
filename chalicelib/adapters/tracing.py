"""X-Ray tracing: boto3 calls traced with aws-xray-sdk when tracing is on.

The SDK is imported only when tracing is enabled, so a cold start without it pays nothing, and it
is never enabled locally (no daemon listens; `chalice local` and the embedded stack run untraced).
"""

from __future__ import annotations

import os

from chalicelib.settings import Settings

_patched = False


def enable(settings: Settings) -> bool:
    global _patched
    if _patched:
        return True
    if not settings.tracing or os.environ.get("AWS_XRAY_SDK_ENABLED", "").lower() == "false":
        return False
    from aws_xray_sdk.core import patch, xray_recorder

    xray_recorder.configure(context_missing="LOG_ERROR", service=f"{settings.app_name}-{settings.stage}")
    patch(("botocore",))
    _patched = True
    return True


def current_trace_header() -> str | None:
    """The Lambda's trace header (`Root=...;Parent=...;Sampled=...`), handed to the job it submits."""
    return os.environ.get("_X_AMZN_TRACE_ID")
