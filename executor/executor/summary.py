"""What a plan will do, read from `terraform show -json`: counts and the resources touched."""

from __future__ import annotations

from dataclasses import dataclass, field

_IGNORED = ({"no-op"}, {"read"})


@dataclass(frozen=True)
class PlanSummary:
    add: int = 0
    change: int = 0
    destroy: int = 0
    resources: list[dict] = field(default_factory=list)


def summarize(plan: dict) -> PlanSummary:
    """Counts the way Terraform prints them: a replacement is one add and one destroy."""
    add = change = destroy = 0
    resources = []
    for rc in plan.get("resource_changes", []):
        actions = list(rc.get("change", {}).get("actions", []))
        if set(actions) in _IGNORED or not actions:
            continue
        add += "create" in actions
        destroy += "delete" in actions
        change += actions == ["update"]
        resources.append({"address": rc.get("address", ""), "type": rc.get("type", ""), "actions": actions})
    return PlanSummary(add, change, destroy, resources)
