"""The AWS resources the workflows use, created in moto for tests: tables with the keys of
terraform/names.json, the status queue, the TTL schedule group, and settings naming them."""

from __future__ import annotations

from dataclasses import replace

import boto3

from chalicelib.settings import Settings

ACCOUNT = "123456789012"
REGION = "us-east-1"


def client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def create_resources(endpoint: str, stage: str = "test", status_queue: str = "", **overrides) -> Settings:
    """Create the tables, queue and schedule group in moto; answer settings naming them."""
    prefix = f"tfpipe-{stage}"
    dynamodb = client("dynamodb", endpoint)
    for table in ("locks", "runs", "tokens"):
        dynamodb.create_table(TableName=f"{prefix}-{table}", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    queue_url = client("sqs", endpoint).create_queue(QueueName=status_queue or f"{prefix}-status")["QueueUrl"]
    client("scheduler", endpoint).create_schedule_group(Name=f"{prefix}-ttl")
    settings = Settings(
        stage=stage, region=REGION, locks_table=f"{prefix}-locks", runs_table=f"{prefix}-runs",
        tokens_table=f"{prefix}-tokens",
        status_queue_url=queue_url, schedule_group=f"{prefix}-ttl",
        scheduler_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{prefix}-scheduler",
        job_definition_arn=f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{prefix}-executor:1",
        job_queue_arn=f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{prefix}-jobs",
        webhook_secret_name=f"{prefix}/github-webhook-secret",
        lock_wait_seconds=1, lock_max_wait_seconds=60, approval_timeout_seconds=3600)
    return replace(settings, **overrides)


def status_events(endpoint: str, queue_url: str) -> list[dict]:
    """Every status event on the queue so far (received and deleted)."""
    import json

    sqs = client("sqs", endpoint)
    events = []
    while True:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        if not messages:
            return events
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
