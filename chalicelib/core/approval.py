"""Who may approve a run: independence (issue 13). Nobody approves their own change: not whoever
triggered the run (a GitHub login, an IAM ARN, the Actions token's actor), nor an author of a commit
being applied, unless TFPIPE_ALLOW_SELF_APPROVAL=true (a one-person team)."""

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
