"""The status consumer's real surroundings: an SQS queue with a dead-letter queue and redrive policy,
the deliveries table and the artifacts bucket on moto over HTTP, and a local Slack webhook receiver."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from chalicelib.adapters.deliveries_table import DynamoDbDeliveryLedger
from chalicelib.adapters.slack import SlackWebhookNotifier

MAX_RECEIVES = 3
SLACK_PATH = "/services/T000/B000/sEcReTtOkEn"


@dataclass
class SlackReceiver:
    """Slack's incoming webhook on a loopback port; `fail_next` answers that many posts with a 500."""

    url: str = ""
    messages: list[dict] = field(default_factory=list)
    fail_next: int = 0
    attempts: int = 0


@pytest.fixture
def slack():
    receiver = SlackReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.attempts += 1
            if self.path != SLACK_PATH:
                code, answer = 404, b"no_service"
            elif receiver.fail_next > 0:
                receiver.fail_next -= 1
                code, answer = 500, b"internal_error"
            else:
                receiver.messages.append(json.loads(body))
                code, answer = 200, b"ok"
            self.send_response(code)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{SLACK_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass
class Aws:
    sqs: object
    dynamodb: object
    s3: object
    secrets: object
    queue_url: str
    dlq_url: str
    table: str = "tfpipe-deliveries"
    bucket: str = "tfpipe-artifacts"


@pytest.fixture
def aws(moto_endpoint):
    clients = {name: boto3.client(name, region_name="us-east-1") for name in ("sqs", "dynamodb", "s3", "secretsmanager")}
    sqs = clients["sqs"]
    dlq_url = sqs.create_queue(QueueName="tfpipe-status-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName="tfpipe-status", Attributes={
        "VisibilityTimeout": "30",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}),
    })["QueueUrl"]
    aws = Aws(sqs, clients["dynamodb"], clients["s3"], clients["secretsmanager"], queue_url, dlq_url)
    aws.dynamodb.create_table(TableName=aws.table, BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "delivery", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "delivery", "AttributeType": "S"}])
    aws.s3.create_bucket(Bucket=aws.bucket)
    return aws


@pytest.fixture
def ledger(aws):
    return DynamoDbDeliveryLedger(aws.dynamodb, aws.table)


@pytest.fixture
def notifier(aws, slack):
    from chalicelib.adapters.secret_store import SecretsManagerStore

    aws.secrets.create_secret(Name="tfpipe/slack-webhook", SecretString=slack.url)
    store = SecretsManagerStore(aws.secrets)
    return SlackWebhookNotifier(lambda: store.get("tfpipe/slack-webhook"))


class Poller:
    """What Lambda's SQS event source mapping does: receive a batch, invoke, delete what succeeded,
    and let the failed ones come back (their visibility timeout is cut short so tests need not wait)."""

    def __init__(self, sqs, queue_url: str):
        self.sqs = sqs
        self.queue_url = queue_url

    def records(self, max_messages: int = 10) -> list[dict]:
        received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages,
                                            AttributeNames=["All"], MessageAttributeNames=["All"],
                                            WaitTimeSeconds=0).get("Messages", [])
        return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                 "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
                 "eventSource": "aws:sqs"} for m in received]

    def settle(self, records: list[dict], response: dict) -> list[str]:
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for record in records:
            if record["messageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"],
                                                   VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
        return sorted(failed)

    def round(self, consumer) -> tuple[int, list[str]]:
        """One invocation: how many records it got, which it reported failed."""
        records = self.records()
        if not records:
            return 0, []
        return len(records), self.settle(records, consumer.consume(records))


@pytest.fixture
def poller(aws):
    return Poller(aws.sqs, aws.queue_url)


@pytest.fixture
def artifacts(aws):
    from chalicelib.adapters.artifacts import S3ArtifactStore

    return S3ArtifactStore(aws.s3, aws.bucket)
