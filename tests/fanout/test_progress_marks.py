"""Progress marks in the deliveries table (moto over HTTP): the decision `Mark.replaces` takes sticks
even when a twin consumer writes between the read and the write, and marks written before they held
a run are still honoured."""

from __future__ import annotations

from chalicelib.adapters.progress_marks import DynamoDbProgressMarks
from chalicelib.core.fanout import Mark

KEY = "mark|commit-status|acme/infra|0a1b2c3|tfpipe/plan/prod"
PRECISE = Mark("2026-11-25T04:00:01.000000|02|1", "run-1", settled=True)
DIED = Mark("2026-11-25T04:00:05.000000|02|1", "run-1", vague=True)
END = Mark("2026-11-25T04:00:02.000000|10|1", "run-1", settled=True)


def test_a_vague_report_does_not_replace_a_precise_one_and_the_precise_one_replaces_it(aws):
    marks = DynamoDbProgressMarks(aws.dynamodb, aws.table)
    assert marks.advance(KEY, PRECISE)
    assert not marks.advance(KEY, DIED)
    other = "mark|comment|acme/infra|7|plan"
    assert marks.advance(other, DIED) and marks.advance(other, PRECISE)


def test_a_mark_written_before_marks_held_a_run_is_compared_by_its_progress(aws):
    aws.dynamodb.put_item(TableName=aws.table, Item={"delivery": {"S": KEY},
                                                     "progress": {"S": "2026-11-25T04:00:03.000000|10|1"}})
    marks = DynamoDbProgressMarks(aws.dynamodb, aws.table)
    assert not marks.advance(KEY, PRECISE)  # older
    assert marks.advance(KEY, DIED)  # newer, and nothing says whose run the old mark showed


class TwinWritesFirst:
    """The DynamoDB client, except that right before our first write a twin consumer (another Lambda
    instance) records its own mark: the race the conditional write must catch, made to happen."""

    def __init__(self, client, table: str, twin_mark: Mark):
        self._client = client
        self._twin = DynamoDbProgressMarks(client, table)
        self._twin_mark = twin_mark
        self.raced = False

    def get_item(self, **kwargs):
        return self._client.get_item(**kwargs)

    def put_item(self, **kwargs):
        if not self.raced:
            self.raced = True
            assert self._twin.advance(kwargs["Item"]["delivery"]["S"], self._twin_mark)
        return self._client.put_item(**kwargs)


def test_a_twin_writing_between_the_read_and_the_write_is_decided_against_again_with_racing_twin(aws):
    DynamoDbProgressMarks(aws.dynamodb, aws.table).advance(KEY, Mark("2026-11-25T04:00:00.000000|02|0", "run-1"))
    client = TwinWritesFirst(aws.dynamodb, aws.table, END)
    assert not DynamoDbProgressMarks(client, aws.table).advance(KEY, DIED)  # read "started", but the end came
    assert client.raced
    assert DynamoDbProgressMarks(aws.dynamodb, aws.table).advance(KEY, END)  # what is shown is still the end
    assert not DynamoDbProgressMarks(aws.dynamodb, aws.table).advance(KEY, PRECISE)
