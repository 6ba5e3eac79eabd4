"""A preview plan's creations against long-lived environments' states (chalicelib/core/collisions.py):
plan.json and state shapes as Terraform writes them."""

from __future__ import annotations

from chalicelib.core.collisions import Collision, collisions


def plan(*changes: tuple[str, str, list[str], dict]) -> dict:
    return {"format_version": "1.2", "resource_changes": [
        {"address": address, "mode": "managed", "type": address.split(".")[-2].split("[")[0], "name": "x",
         "change": {"actions": actions, "after": after, "after_unknown": {}}}
        for address, _, actions, after in changes]}


def creates(address: str, **after) -> tuple[str, str, list[str], dict]:
    return address, "", ["create"], after


def state(*resources: tuple[str, str, list[dict]], module: str | None = None) -> dict:
    return {"version": 4, "resources": [
        {"mode": "managed", "type": kind, "name": name, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": instances, **({"module": module} if module else {})}
        for kind, name, instances in resources]}


PROD = state(("aws_sqs_queue", "jobs", [{"attributes": {"name": "orders", "id": "https://sqs/orders"}}]),
             ("aws_s3_bucket", "data", [{"attributes": {"bucket": "acme-data", "id": "acme-data"}}]),
             ("aws_iam_role_policy", "app", [{"attributes": {"role": "app-prod", "name": "guestbook"}}]),
             ("aws_dynamodb_table", "t", [{"index_key": "a", "attributes": {"name": "visits"}}]))


def test_a_preview_queue_named_like_prods_is_a_collision_naming_both_addresses():
    found = collisions(plan(creates("aws_sqs_queue.jobs", name="orders")), {"prod": PROD})

    assert found == [Collision("aws_sqs_queue.jobs", "prod", "aws_sqs_queue.jobs", (("name", "orders"),))]
    assert str(found[0]) == 'aws_sqs_queue.jobs (name = "orders") is prod\'s aws_sqs_queue.jobs'


def test_a_bucket_is_named_by_bucket_and_an_indexed_instance_by_its_key():
    found = collisions(plan(creates("module.store.aws_s3_bucket.b", bucket="acme-data"),
                            creates("aws_dynamodb_table.visits", name="visits")), {"prod": PROD})

    assert [(c.preview_address, c.address) for c in found] == [
        ("module.store.aws_s3_bucket.b", "aws_s3_bucket.data"), ("aws_dynamodb_table.visits", 'aws_dynamodb_table.t["a"]')]


def test_names_of_other_resources_or_scoped_to_another_role_are_no_collision():
    found = collisions(plan(creates("aws_sqs_queue.jobs", name="orders-pr-3"),
                            creates("aws_sns_topic.orders", name="orders"),  # another type
                            creates("aws_iam_role_policy.app", role="app-pr-3", name="guestbook"),
                            creates("aws_s3_bucket.gen", bucket=None)), {"prod": PROD})  # known only at apply

    assert found == []


def test_only_creations_count_and_every_long_lived_environment_is_checked():
    staging = state(("aws_sqs_queue", "jobs", [{"attributes": {"name": "staging-orders"}}]), module="module.app")
    changes = plan(("aws_sqs_queue.a", "", ["update"], {"name": "orders"}),
                   ("aws_sqs_queue.b", "", ["delete", "create"], {"name": "staging-orders"}))

    assert [(c.preview_address, c.environment, c.address) for c in collisions(changes, {"prod": PROD, "staging": staging})] \
        == [("aws_sqs_queue.b", "staging", "module.app.aws_sqs_queue.jobs")]
