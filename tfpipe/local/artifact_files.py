"""Artifacts at a URL a browser opens: `GET <url>/<key>` answers the object `<key>` of the artifacts
bucket in moto, with its content type. In AWS an artifact link goes to the S3 console; locally
there is no console, and moto serves no private object to a plain GET, so the stack serves them here
and points TFPIPE_ARTIFACTS_BASE_URL (the links in comments, Slack and `tfpipe show`) at it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request, Response


class ArtifactFiles:
    def __init__(self, s3: Callable[[], Any], bucket: Callable[[], str]):
        self._s3 = s3
        self._bucket = bucket  # read per request: the bucket the app's settings name once the stack is up

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        key = unquote(request.path.lstrip("/"))
        if request.method not in ("GET", "HEAD") or not key:
            response = Response("GET <key> of an artifact", status=405 if key else 404, content_type="text/plain")
            return response(environ, start_response)
        bucket = self._bucket()
        try:
            found = self._s3().get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            status = 404 if exc.response["Error"]["Code"] in ("NoSuchKey", "NoSuchBucket") else 502
            response = Response(f"reading artifact {key} from {bucket}: {exc.response['Error']['Code']}",
                                status=status, content_type="text/plain")
            return response(environ, start_response)
        body = found["Body"].read()
        content_type = found.get("ContentType") or "application/octet-stream"
        if content_type == "binary/octet-stream" and key.endswith((".txt", ".log", ".json")):
            content_type = "text/plain; charset=utf-8"  # S3's default for an object put without one
        return Response(body, content_type=content_type)(environ, start_response)
