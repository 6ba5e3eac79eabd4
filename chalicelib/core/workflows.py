"""The six workflows, the commands that start them, and the tables that map one to the other."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    PLAN = "plan"
    APPLY = "apply"
    EPHEMERAL = "ephemeral"
    DESTROY = "destroy"
    CRON = "cron"
    CUSTOM = "custom"


class Workflow(StrEnum):
    PLAN = "plan"
    PLAN_APPLY = "plan-apply"
    APPLY_EPHEMERAL = "apply-ephemeral"
    DESTROY = "destroy"
    MODIFY_CRON = "modify-cron"
    CUSTOM = "custom"

    @property
    def title(self) -> str:
        return WORKFLOW_TITLES[self]

    @property
    def settings_key(self) -> str:
        """Suffix of the environment variable holding this workflow's state machine ARN."""
        return self.value.upper().replace("-", "_")


WORKFLOW_BY_COMMAND: dict[Command, Workflow] = {
    Command.PLAN: Workflow.PLAN,
    Command.APPLY: Workflow.PLAN_APPLY,
    Command.EPHEMERAL: Workflow.APPLY_EPHEMERAL,
    Command.DESTROY: Workflow.DESTROY,
    Command.CRON: Workflow.MODIFY_CRON,
    Command.CUSTOM: Workflow.CUSTOM,
}

WORKFLOW_TITLES: dict[Workflow, str] = {
    Workflow.PLAN: "PLAN",
    Workflow.PLAN_APPLY: "PLAN-APPLY",
    Workflow.APPLY_EPHEMERAL: "APPLY EPHEMERAL",
    Workflow.DESTROY: "DESTROY",
    Workflow.MODIFY_CRON: "MODIFY CRON",
    Workflow.CUSTOM: "CUSTOM",
}

# Workflows that change an environment take its lock (PLAN and CUSTOM read only).
LOCKING_WORKFLOWS = frozenset({Workflow.PLAN_APPLY, Workflow.APPLY_EPHEMERAL, Workflow.DESTROY})

# Terraform subcommands a CUSTOM run may execute: read-only inspection only. The value is the set of
# second words allowed (None: any arguments, no sub-subcommand check).
CUSTOM_ALLOW_LIST: dict[str, frozenset[str] | None] = {
    "state": frozenset({"list", "show"}),
    "output": None,
    "show": None,
    "validate": None,
    "providers": None,
    "version": None,
    "graph": None,
    "fmt": None,
}

# Of those, what may run against a long-lived environment (`/terraform ... env=prod`): commands that only
# read. Not `fmt` or `providers` (`fmt` rewrites files, `providers lock|mirror` write them).
READ_ONLY_CUSTOM = frozenset({"state", "output", "show", "validate", "version", "graph"})
