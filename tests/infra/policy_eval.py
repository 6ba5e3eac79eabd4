"""A small evaluator of resource-based IAM policies (bucket policies, trust policies) for the requests the
isolation tests ask about: one principal (a role ARN), one action, one resource.

moto evaluates identity policies of assumed-role sessions, but not a bucket policy's principals and
conditions, nor trust policies across accounts; this covers what the pipeline's policies use there
(Allow/Deny, Action, Resource/NotResource with wildcards, Principal AWS by ARN, account root or "*",
ArnEquals/ArnLike on aws:PrincipalArn, Bool aws:SecureTransport) and refuses anything else, so a policy
growing past it fails the test instead of being misread.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase


class Unsupported(Exception):
    pass


def _list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def _match(patterns, value: str) -> bool:
    # IAM wildcards: `*` any run of characters (across `/` too), `?` one character; fnmatch's `[` is not one.
    return any(fnmatchcase(value, p.replace("[", "[[]")) for p in _list(patterns))


def _principal_matches(principal, role_arn: str) -> bool:
    if principal == "*":
        return True
    if set(principal) != {"AWS"}:
        raise Unsupported(f"principal {principal}")
    allowed = {"*", role_arn, f"arn:aws:iam::{role_arn.split(':')[4]}:root"}
    return any(p in allowed for p in _list(principal["AWS"]))


def _conditions_hold(conditions: dict, context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, values in tests.items():
            if key not in context:
                raise Unsupported(f"condition key {key}")
            if operator == "ArnEquals" and context[key] not in _list(values):
                return False
            if operator == "ArnLike" and not _match(values, context[key]):
                return False
            if operator == "Bool" and context[key] not in _list(values):
                return False
            if operator not in ("ArnEquals", "ArnLike", "Bool"):
                raise Unsupported(f"condition operator {operator}")
    return True


def decide(policy: str | dict, role_arn: str, action: str, resource: str) -> str:
    """"Deny" (an explicit deny matches), "Allow" (an allow matches and no deny), or "None"."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    context = {"aws:PrincipalArn": role_arn, "aws:SecureTransport": "true"}
    found = "None"
    for statement in _list(document["Statement"]):
        if not _match(statement["Action"], action):
            continue
        if "Resource" in statement and not _match(statement["Resource"], resource):
            continue
        if "NotResource" in statement and _match(statement["NotResource"], resource):
            continue
        if "Principal" in statement and not _principal_matches(statement["Principal"], role_arn):
            continue
        if not _conditions_hold(statement.get("Condition", {}), context):
            continue
        if statement["Effect"] == "Deny":
            return "Deny"
        found = "Allow"
    return found
