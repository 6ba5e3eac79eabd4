"""Signed, GitHub-shaped webhook deliveries to the pipeline's intake.

Headers as GitHub sends them: X-GitHub-Event, X-GitHub-Delivery (a uuid), X-Hub-Signature-256
(`sha256=` + HMAC-SHA256 of the body with the webhook secret). Payloads are built from the local
repository and store in the shapes of tests/fixtures/github-webhooks (tests compare the keys).
Each delivery is appended to `<state-dir>/github/deliveries.jsonl` (event, id, status; no secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import requests

from tfpipe.local.github import git_repos, shapes


def signature(secret: str, body: bytes) -> str:
    # Computed here as GitHub computes it, on purpose not with chalicelib.core.signature: the stand-in
    # is the other side of the check, so a bug in the pipeline's signing code cannot hide itself.
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(self, intake_url: str, secret: str, state_dir: Path | None = None, timeout: float = 30):
        self.intake_url = intake_url
        self._secret = secret
        self._log = Path(state_dir) / "github" / "deliveries.jsonl" if state_dir else None
        self.timeout = timeout
        self.answers: list[str] = []  # the intake's answers, in order: the CLI and the hook print the runs started

    def send(self, event: str, payload: dict) -> requests.Response:
        body = json.dumps(payload).encode()
        delivery = str(uuid.uuid4())
        response = requests.post(self.intake_url, data=body, timeout=self.timeout, headers={
            "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/tfpipe-local",
            "X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-GitHub-Hook-ID": "1",
            "X-Hub-Signature-256": signature(self._secret, body)})
        self.answers.append(response.text)
        if self._log is not None:
            self._log.parent.mkdir(parents=True, exist_ok=True)
            with self._log.open("a") as log:
                log.write(json.dumps({"event": event, "delivery": delivery, "status": response.status_code,
                                      "action": payload.get("action"), "at": time.time(),
                                      "answer": response.text[:500]}) + "\n")
        return response


def push_payload(urls: shapes.Urls, path: Path, full_name: str, ref: str, before: str, after: str,
                 pusher: str, pusher_email: str) -> dict:
    commits = [git_repos.commit_info(path, sha) for sha in git_repos.new_commits(path, before, after, shapes.ZERO_SHA)]
    head = git_repos.commit_info(path, after) if after != shapes.ZERO_SHA else None
    entries = [shapes.push_commit(urls, full_name, c) for c in commits]
    return {
        "ref": ref, "before": before, "after": after,
        "repository": shapes.repository(urls, full_name, git_repos.default_branch(path)),
        "pusher": {"name": pusher, "email": pusher_email}, "sender": shapes.user(urls, pusher),
        "created": before == shapes.ZERO_SHA, "deleted": after == shapes.ZERO_SHA, "forced": False,
        "base_ref": None, "compare": f"{urls.repo_web(full_name)}/compare/{before[:12]}...{after[:12]}",
        "commits": entries, "head_commit": shapes.push_commit(urls, full_name, head) if head else None,
    }


def pull_request_payload(urls: shapes.Urls, full_name: str, default_branch: str, pr: dict, action: str,
                         sender: str) -> dict:
    payload = {"action": action, "number": pr["number"],
               "pull_request": shapes.pull_request(urls, full_name, pr, default_branch),
               "repository": shapes.repository(urls, full_name, default_branch), "sender": shapes.user(urls, sender)}
    if action == "synchronize":
        payload.update(before=pr.get("previous_head_sha", shapes.ZERO_SHA), after=pr["head_sha"])
    return payload


def issue_comment_payload(urls: shapes.Urls, full_name: str, default_branch: str, pr: dict, comment: dict,
                          action: str = "created") -> dict:
    return {"action": action, "issue": shapes.issue(urls, full_name, pr),
            "comment": shapes.comment(urls, full_name, comment),
            "repository": shapes.repository(urls, full_name, default_branch),
            "sender": shapes.user(urls, comment["user"])}


def pull_request_review_payload(urls: shapes.Urls, full_name: str, default_branch: str, pr: dict,
                                review: dict) -> dict:
    """`pull_request_review` `submitted`: the reviewer is the sender, `review.commit_id` what they saw."""
    return {"action": "submitted", "review": shapes.review(urls, full_name, review),
            "pull_request": shapes.pull_request(urls, full_name, pr, default_branch),
            "repository": shapes.repository(urls, full_name, default_branch),
            "sender": shapes.user(urls, review["user"])}
