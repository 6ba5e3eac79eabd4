"""Plan summaries from `terraform show -json`."""

from __future__ import annotations

from executor.summary import summarize


def change(address: str, *actions: str) -> dict:
    return {"address": address, "type": address.split(".")[0], "change": {"actions": list(actions)}}


def test_counts_match_terraforms_own_summary_line_and_skip_no_ops_and_reads():
    plan = {"resource_changes": [change("aws_s3_bucket.a", "create"), change("aws_iam_role.b", "update"),
                                 change("aws_sqs_queue.c", "delete", "create"), change("aws_sns_topic.d", "delete"),
                                 change("aws_ssm_parameter.e", "no-op"), change("data_source.f", "read")]}
    summary = summarize(plan)
    assert (summary.add, summary.change, summary.destroy) == (2, 1, 2)
    assert [r["address"] for r in summary.resources] == ["aws_s3_bucket.a", "aws_iam_role.b", "aws_sqs_queue.c",
                                                         "aws_sns_topic.d"]
    assert summary.resources[2]["actions"] == ["delete", "create"]


def test_a_plan_without_changes_summarises_to_nothing():
    summary = summarize({"format_version": "1.2"})
    assert (summary.add, summary.change, summary.destroy, summary.resources) == (0, 0, 0, [])
