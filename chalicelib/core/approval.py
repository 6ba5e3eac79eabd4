"""Who may approve a run, and what (issue 13). Nobody approves their own change: not whoever
triggered the run (a GitHub login, an IAM ARN, the Actions token's actor), nor an author of a commit
being applied, unless TFPIPE_ALLOW_SELF_APPROVAL=true (a one-person team). Where the environment
declares approvers (TFPIPE_ENVIRONMENTS), only they approve. An approval names the plan's sha256: one
for another plan, or for a run a newer plan superseded, approves nothing."""

from __future__ import annotations

from chalicelib.core.run_records import RunRecord

SELF_APPROVAL_SETTING = "TFPIPE_ALLOW_SELF_APPROVAL"


def _shown(identity: str) -> str:
    return identity if identity.lower().startswith("arn:") else f"@{identity}"


def self_approval(record: RunRecord, approver: str) -> str | None:
    """Why `approver` may not approve `record`'s run, or None when they may. GitHub logins and ARNs
    compare case-insensitively (GitHub logins are; IAM names are unique regardless of case)."""
    who = approver.lower()
    if who in (i.lower() for i in record.requested_by):
        why = "triggered this run"
    elif who in (i.lower() for i in record.commit_authors):
        why = "authored a commit being applied"
    else:
        return None
    return (f"{_shown(approver)} {why}; another user with write access must approve "
            f"({SELF_APPROVAL_SETTING}=true allows it for one-person teams)")


def not_an_approver(environment: str, approvers: tuple[str, ...], approver: str) -> str | None:
    """Why `approver` may not approve changes to `environment`, whose declared approvers are `approvers`
    (none declared: anyone independent may). GitHub logins and ARNs compare case-insensitively."""
    if not approvers or approver.lower() in (a.lower() for a in approvers):
        return None
    return (f"{_shown(approver)} is not an approver of {environment}; its approvers are "
            f"{', '.join(_shown(a) for a in approvers)} (TFPIPE_ENVIRONMENTS)")


def short_sha256(checksum: str | None) -> str:
    """How a plan's sha256 is shown to people: its first 12 hex digits (the API compares all 64)."""
    return (checksum or "")[:12] or "(none)"


def plan_mismatch(record: RunRecord, plan_sha256: str) -> str | None:
    """Why an approval of the plan `plan_sha256` does not approve `record`'s run, or None."""
    waiting = record.plan_sha256 or ""
    if plan_sha256.lower() == waiting.lower():
        return None
    return (f"the approval names plan sha256 {plan_sha256 or '(none)'}, but run {record.run_id} waits with plan "
            f"sha256 {waiting or '(none)'}; approve the plan the run shows (`tfpipe show {record.run_id}`)")
