"""JobResult's counts and resources from a `terraform show -json` plan."""

from __future__ import annotations

from executor.summary import counts_of


def change(address: str, *actions: str, mode: str = "managed") -> dict:
    return {"address": address, "mode": mode, "type": address.split(".")[-2], "change": {"actions": list(actions)}}


def test_counts_match_terraforms_own_summary_line_and_skip_no_ops_and_data_sources():
    plan = {"format_version": "1.2", "resource_changes": [
        change("aws_s3_bucket.a", "create"), change("aws_iam_role.b", "update"),
        change("aws_sqs_queue.c", "delete", "create"), change("aws_sns_topic.d", "delete"),
        change("aws_ssm_parameter.e", "no-op"), change("data.aws_region.f", "read", mode="data")]}
    counts = counts_of(plan)
    assert (counts.add, counts.change, counts.destroy) == (2, 1, 2)
    assert counts.resources == [
        {"address": "aws_s3_bucket.a", "type": "aws_s3_bucket", "actions": ["create"]},
        {"address": "aws_iam_role.b", "type": "aws_iam_role", "actions": ["update"]},
        {"address": "aws_sqs_queue.c", "type": "aws_sqs_queue", "actions": ["delete", "create"]},
        {"address": "aws_sns_topic.d", "type": "aws_sns_topic", "actions": ["delete"]}]


def test_a_plan_without_changes_counts_nothing():
    counts = counts_of({"format_version": "1.2"})
    assert (counts.add, counts.change, counts.destroy, counts.resources) == (0, 0, 0, [])
