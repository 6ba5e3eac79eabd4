"""A plan's counts and touched resources in the shape JobResult carries, from the pipeline's one
plan summary (`chalicelib.core.plan_summary`, which the PR comments use too)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.core.plan_summary import summarize

ACTIONS_BY_KIND = {"add": ["create"], "change": ["update"], "destroy": ["delete"], "replace": ["delete", "create"]}


@dataclass(frozen=True)
class Counts:
    add: int = 0
    change: int = 0
    destroy: int = 0
    resources: list[dict] = field(default_factory=list)  # JobResult.resources: address, type, actions


def counts_of(plan: dict) -> Counts:
    """Counts as Terraform prints them (a replacement is one add and one destroy)."""
    summary = summarize(plan)
    totals = summary.totals
    return Counts(totals["add"], totals["change"], totals["destroy"],
                  [{"address": r.address, "type": r.type, "actions": ACTIONS_BY_KIND[r.kind]} for r in summary.resources])
