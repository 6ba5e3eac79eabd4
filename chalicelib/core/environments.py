"""Long-lived environments as the pipeline's settings declare them (TFPIPE_ENVIRONMENTS): each name's
account id and, optionally, who may approve changes to it.

Two forms per name, both accepted: `"prod": "111122223333"` (any independent writer may approve), or
`"prod": {"account_id": "111122223333", "approvers": ["alice", "arn:aws:iam::111122223333:role/release"]}`.
An approver is a GitHub login (compared case-insensitively, as GitHub does) or an IAM principal's ARN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACCOUNT_ID = re.compile(r"^\d{12}$")
ACCEPTED = ('an account id ("111122223333") or {"account_id": "111122223333", "approvers": '
            '["github-login", "arn:aws:iam::111122223333:role/name"]}')


@dataclass(frozen=True)
class LongLivedEnvironment:
    name: str
    account_id: str
    approvers: tuple[str, ...] = ()  # empty: any independent user with write access (or IAM caller) may approve


def parse_environments(raw: object) -> dict[str, LongLivedEnvironment]:
    """TFPIPE_ENVIRONMENTS as JSON, read into typed environments; ValueError names the entry at fault."""
    if not isinstance(raw, dict):
        raise ValueError(f"TFPIPE_ENVIRONMENTS: got {type(raw).__name__}; accepted: a JSON object of name -> "
                         f"{ACCEPTED}")
    return {name: _environment(name, value) for name, value in raw.items()}


def _environment(name: str, value: object) -> LongLivedEnvironment:
    where = f"TFPIPE_ENVIRONMENTS[{name!r}]"
    if isinstance(value, str):
        value = {"account_id": value}
    if not isinstance(value, dict) or set(value) - {"account_id", "approvers"}:
        raise ValueError(f"{where}: got {value!r}; accepted: {ACCEPTED}")
    account_id, approvers = value.get("account_id"), value.get("approvers", [])
    if not isinstance(account_id, str) or not ACCOUNT_ID.match(account_id):
        raise ValueError(f"{where}.account_id: got {account_id!r}; accepted: a 12-digit AWS account id")
    if not isinstance(approvers, list) or not all(isinstance(a, str) and a.strip() for a in approvers):
        raise ValueError(f"{where}.approvers: got {approvers!r}; accepted: a list of GitHub logins and IAM ARNs")
    return LongLivedEnvironment(name, account_id, tuple(a.strip() for a in approvers))
