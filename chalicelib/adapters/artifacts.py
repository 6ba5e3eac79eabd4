"""Run artifacts in S3 under `runs/<tier>/<run-id>/`: plan files, plan JSON and text, logs, build outputs.

Every object carries the sha256 of its bytes in its metadata, so a reader can prove it got exactly
what was written (apply refuses a plan file whose checksum does not match).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from chalicelib.core.errors import DependencyFailed

CHECKSUM_KEY = "sha256"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ChecksumMismatch(Exception):
    pass


class S3ArtifactStore:
    def __init__(self, client, bucket: str):
        self._client = client
        self.bucket = bucket

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store `data` at `key`; returns its sha256."""
        checksum = sha256_of(data)
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                                    Metadata={CHECKSUM_KEY: checksum})
        except Exception as exc:
            raise DependencyFailed(f"uploading artifact s3://{self.bucket}/{key}: {exc}") from exc
        return checksum

    def put_text(self, key: str, text: str, content_type: str = "text/plain; charset=utf-8") -> str:
        return self.put_bytes(key, text.encode(), content_type)

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> str:
        return self.put_bytes(key, Path(path).read_bytes(), content_type)

    def get_bytes(self, key: str, expected_sha256: str | None = None) -> bytes:
        """The object's bytes, checked against `expected_sha256` (or the checksum stored with it)."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            data = response["Body"].read()
        except Exception as exc:
            raise DependencyFailed(f"downloading artifact s3://{self.bucket}/{key}: {exc}") from exc
        expected = expected_sha256 or response.get("Metadata", {}).get(CHECKSUM_KEY)
        if expected is None:
            raise ChecksumMismatch(f"downloading artifact s3://{self.bucket}/{key}: no checksum to verify it against")
        actual = sha256_of(data)
        if actual != expected:
            raise ChecksumMismatch(
                f"downloading artifact s3://{self.bucket}/{key}: sha256 {actual} does not match expected {expected}")
        return data

    def get_text(self, key: str) -> str:
        return self.get_bytes(key).decode()

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"
