"""Previews cannot touch long-lived environments (issue 13, item 6): in shared-account mode
(TFPIPE_EPHEMERAL_SHARED_ACCOUNT=allow) a preview plan that would create a resource named like one in a
long-lived environment's state is refused before apply.

Why names: many AWS create calls are idempotent or adopt what exists under the name (CreateQueue with
the same attributes, CreateBucket in us-east-1, a put of an SSM parameter with overwrite), so a preview
whose configuration hard-codes a name would "create" the long-lived environment's resource, and its
destroy would delete it. With previews in an account of their own this cannot happen and the check is
not run.

A resource's identity is the tuple of its name-like attributes (`IDENTITY`; `name` for every type not
listed), compared with resources of the same type in each long-lived environment's Terraform state.
A name not known until apply (computed, or `name_prefix`) is not compared: such names are generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Types whose name-like attributes are not (only) `name`. A name scoped to another resource (a role's
# inline policy, a function's permission) is identified together with that resource.
IDENTITY: dict[str, tuple[str, ...]] = {
    "aws_s3_bucket": ("bucket",),
    "aws_lambda_function": ("function_name",),
    "aws_lambda_alias": ("function_name", "name"),
    "aws_lambda_permission": ("function_name", "statement_id"),
    "aws_db_instance": ("identifier",),
    "aws_rds_cluster": ("cluster_identifier",),
    "aws_elasticache_cluster": ("cluster_id",),
    "aws_iam_role_policy": ("role", "name"),
    "aws_iam_user_policy": ("user", "name"),
    "aws_iam_group_policy": ("group", "name"),
}
DEFAULT_IDENTITY = ("name",)  # aws_sqs_queue, aws_dynamodb_table, aws_iam_role, aws_sns_topic, log groups, ...


@dataclass(frozen=True)
class Collision:
    """A resource the preview plan creates whose identity is that of `address` in `environment`'s state."""

    preview_address: str
    environment: str
    address: str
    identity: tuple[tuple[str, str], ...]  # (attribute, value) pairs

    def __str__(self) -> str:
        named = ", ".join(f'{attribute} = "{value}"' for attribute, value in self.identity)
        return f"{self.preview_address} ({named}) is {self.environment}'s {self.address}"


def identity_of(resource_type: str, attributes: Mapping[str, object]) -> tuple[tuple[str, str], ...] | None:
    """The (attribute, value) pairs naming a resource; None when one of them is missing or not a known string."""
    names = IDENTITY.get(resource_type, DEFAULT_IDENTITY)
    values = [attributes.get(name) for name in names]
    if not all(isinstance(value, str) and value for value in values):
        return None
    return tuple(zip(names, values, strict=True))  # type: ignore[arg-type]


def planned_creations(plan: Mapping) -> list[tuple[str, str, Mapping]]:
    """(address, type, planned attributes) of each managed resource the plan (`terraform show -json`)
    creates, replacements included."""
    found = []
    for change in plan.get("resource_changes") or []:
        actions = (change.get("change") or {}).get("actions") or []
        if change.get("mode", "managed") == "managed" and "create" in actions:
            found.append((change.get("address", ""), change.get("type", ""), (change.get("change") or {}).get("after") or {}))
    return found


def state_resources(state: Mapping) -> list[tuple[str, str, Mapping]]:
    """(address, type, attributes) of each managed resource instance in a Terraform state (the JSON
    the backend stores: resources[].instances[].attributes)."""
    found = []
    for resource in state.get("resources") or []:
        if resource.get("mode", "managed") != "managed":
            continue
        base = ".".join(part for part in (resource.get("module"), f"{resource.get('type')}.{resource.get('name')}") if part)
        for instance in resource.get("instances") or []:
            key = instance.get("index_key")
            index = "" if key is None else f'["{key}"]' if isinstance(key, str) else f"[{key}]"
            found.append((base + index, resource.get("type", ""), instance.get("attributes") or {}))
    return found


def collisions(plan: Mapping, long_lived_states: Mapping[str, Mapping]) -> list[Collision]:
    """Every resource `plan` creates whose identity equals a resource of the same type in one of
    `long_lived_states` (environment name -> its state), in plan order."""
    existing: dict[tuple[str, tuple], list[tuple[str, str]]] = {}
    for environment in sorted(long_lived_states):
        for address, resource_type, attributes in state_resources(long_lived_states[environment]):
            identity = identity_of(resource_type, attributes)
            if identity is not None:
                existing.setdefault((resource_type, identity), []).append((environment, address))
    found = []
    for preview_address, resource_type, attributes in planned_creations(plan):
        identity = identity_of(resource_type, attributes)
        for environment, address in existing.get((resource_type, identity), []) if identity else []:
            found.append(Collision(preview_address, environment, address, identity))
    return found
