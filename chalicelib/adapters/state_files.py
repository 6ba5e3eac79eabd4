"""Terraform state objects in the state bucket, read (never written) by the pipeline's trusted task
Lambdas: the preview collision check compares a preview plan with the long-lived environments' states.
No job reads these for another environment: a preview job's role cannot (terraform/iam_job.tf)."""

from __future__ import annotations

import json

from chalicelib.core.errors import DependencyFailed


class S3StateFiles:
    def __init__(self, client, bucket: str):
        self._client = client
        self.bucket = bucket

    def read(self, key: str) -> dict | None:
        """The state JSON at `key`; None when there is none (the environment was never applied)."""
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self._client.exceptions.NoSuchKey:
            return None
        except Exception as exc:
            raise DependencyFailed(f"reading Terraform state s3://{self.bucket}/{key}: {exc}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise DependencyFailed(f"reading Terraform state s3://{self.bucket}/{key}: not JSON ({exc})") from exc
