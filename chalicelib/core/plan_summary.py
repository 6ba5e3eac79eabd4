"""What a plan does, per resource type, read from `terraform show -json` output.

Counts follow Terraform's own "Plan: X to add, Y to change, Z to destroy." line when added up
(`totals`): a replacement is one add and one destroy there. The table keeps replacements in their
own column because a replaced database is not the same news as a new one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Terraform's action lists (resource_changes[].change.actions) -> our column.
_KIND_BY_ACTIONS: dict[tuple[str, ...], str] = {
    ("create",): "add",
    ("update",): "change",
    ("delete",): "destroy",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
}
KINDS = ("add", "change", "destroy", "replace")


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    kind: str  # add | change | destroy | replace


@dataclass(frozen=True)
class TypeCounts:
    type: str
    add: int = 0
    change: int = 0
    destroy: int = 0
    replace: int = 0


@dataclass(frozen=True)
class PlanSummary:
    rows: tuple[TypeCounts, ...] = ()
    resources: tuple[ResourceChange, ...] = ()
    output_changes: tuple[str, ...] = ()
    errored: bool = False
    terraform_version: str = ""

    @property
    def has_changes(self) -> bool:
        return bool(self.resources or self.output_changes)

    @property
    def totals(self) -> dict[str, int]:
        """Terraform's arithmetic: a replacement counts as one add and one destroy."""
        count = Counter(r.kind for r in self.resources)
        return {"add": count["add"] + count["replace"], "change": count["change"],
                "destroy": count["destroy"] + count["replace"]}

    @property
    def replaced(self) -> int:
        return sum(row.replace for row in self.rows)

    @property
    def headline(self) -> str:
        if not self.has_changes:
            return "No changes."
        t = self.totals
        line = f"{t['add']} to add, {t['change']} to change, {t['destroy']} to destroy"
        if self.replaced:
            line += f" ({self.replaced} replaced)"
        if not self.resources:
            line += "; outputs change"
        return line + "."

    def to_dict(self) -> dict:
        """Compact form for status events and job results (no resource attributes, no values)."""
        return {**self.totals, "replace": self.replaced,
                "by_type": {row.type: {k: getattr(row, k) for k in KINDS} for row in self.rows},
                "resources": [{"address": r.address, "type": r.type, "kind": r.kind} for r in self.resources]}


@dataclass
class _Tally:
    counts: dict[str, Counter] = field(default_factory=dict)

    def add(self, type_: str, kind: str) -> None:
        self.counts.setdefault(type_, Counter())[kind] += 1

    def rows(self) -> tuple[TypeCounts, ...]:
        return tuple(TypeCounts(t, **{k: c[k] for k in KINDS}) for t, c in sorted(self.counts.items()))


def summarize(plan: dict) -> PlanSummary:
    """`plan` is the parsed JSON of `terraform show -json <planfile>`; data sources and no-ops are left out."""
    if not isinstance(plan, dict) or "format_version" not in plan:
        raise ValueError("summarizing a plan: not `terraform show -json` output (no format_version)")
    tally = _Tally()
    resources = []
    for change in plan.get("resource_changes") or []:
        if change.get("mode", "managed") != "managed":
            continue
        kind = _KIND_BY_ACTIONS.get(tuple(change.get("change", {}).get("actions", ())))
        if kind is None:  # no-op, read, forget
            continue
        tally.add(change["type"], kind)
        resources.append(ResourceChange(change["address"], change["type"], kind))
    outputs = tuple(sorted(name for name, change in (plan.get("output_changes") or {}).items()
                           if tuple(change.get("actions", ())) not in (("no-op",), ())))
    return PlanSummary(tally.rows(), tuple(resources), outputs, bool(plan.get("errored")),
                       plan.get("terraform_version", ""))
