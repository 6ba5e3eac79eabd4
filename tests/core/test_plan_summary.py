import re

import pytest

from chalicelib.core.plan_summary import TypeCounts, summarize
from tests.fixtures.plans import SCENARIOS, plan_json, plan_text


def terraform_plan_line(text: str) -> dict[str, int] | None:
    """Terraform's own arithmetic, from its human output."""
    match = re.search(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy\.", text)
    if match is None:
        return None
    return dict(zip(("add", "change", "destroy"), map(int, match.groups()), strict=True))


@pytest.mark.parametrize("name", SCENARIOS)
def test_totals_agree_with_terraforms_own_plan_line(name):
    summary = summarize(plan_json(name))
    expected = terraform_plan_line(plan_text(name))
    if expected is None:
        assert not summary.resources
    else:
        assert summary.totals == expected


def test_mixed_plan_counts_each_kind_per_resource_type():
    summary = summarize(plan_json("mixed"))
    assert summary.rows == (
        TypeCounts("aws_dynamodb_table", add=1),
        TypeCounts("aws_s3_bucket", destroy=1),
        TypeCounts("aws_sqs_queue", replace=1),
        TypeCounts("aws_ssm_parameter", change=3),
    )
    assert summary.headline == "2 to add, 3 to change, 2 to destroy (1 replaced)."
    assert {r.address: r.kind for r in summary.resources}["aws_sqs_queue.jobs"] == "replace"
    # the unchanged bucket is not "touched"
    assert "aws_s3_bucket.site" not in {r.address for r in summary.resources}


def test_plan_after_apply_has_no_changes():
    summary = summarize(plan_json("no-changes"))
    assert not summary.has_changes
    assert summary.rows == ()
    assert summary.headline == "No changes."


def test_first_plan_reports_new_outputs_and_resources():
    summary = summarize(plan_json("small"))
    assert summary.has_changes
    assert summary.output_changes == ("site_bucket",)
    assert sum(row.add for row in summary.rows) == len(summary.resources) == 6


def test_compact_form_carries_no_attribute_values():
    data = summarize(plan_json("mixed")).to_dict()
    assert data["by_type"]["aws_sqs_queue"]["replace"] == 1
    assert "second-0" not in repr(data) and "first-0" not in repr(data)


def test_data_sources_and_no_ops_are_not_changes():
    plan = {"format_version": "1.2", "resource_changes": [
        {"address": "data.aws_caller_identity.me", "mode": "data", "type": "aws_caller_identity",
         "change": {"actions": ["read"]}},
        {"address": "aws_s3_bucket.a", "mode": "managed", "type": "aws_s3_bucket", "change": {"actions": ["no-op"]}},
    ]}
    assert not summarize(plan).has_changes


def test_something_that_is_not_a_plan_is_refused():
    with pytest.raises(ValueError, match="not `terraform show -json` output"):
        summarize({"resource_changes": []})
