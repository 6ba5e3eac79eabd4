"""GitHub's side of the developer's actions on the embedded stack: pushes, and pull requests opened,
updated, commented on and closed (merged for real in the bare repository), each sent to the intake
as the webhook GitHub would send. Used by the post-receive hook and by `tfpipe pr`."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from tfpipe.local import stack_file
from tfpipe.local.github import git_repos, shapes
from tfpipe.local.github.store import GitHubStore, now_iso
from tfpipe.local.github.webhooks import (
    WebhookSender,
    issue_comment_payload,
    pull_request_payload,
    pull_request_review_payload,
    push_payload,
)


class PullRequestError(Exception):
    pass


class LocalGitHub:
    def __init__(self, state_dir: Path, info: dict | None = None):
        self.state_dir = Path(state_dir).resolve()
        info = info or stack_file.read(self.state_dir)
        self.git_root = Path(info.get("git_root") or self.state_dir / "git")
        self.store = GitHubStore(self.state_dir)
        github_url = info["endpoints"]["github"]
        self.urls = shapes.Urls(api=github_url, web=github_url, git_root=str(self.git_root))
        self.sender = WebhookSender(info["intake_url"], info["webhook_secret"], self.state_dir)

    def _path(self, repository: str) -> Path:
        path = git_repos.repository_path(self.git_root, repository)
        if not (path / "HEAD").exists():
            raise PullRequestError(f"{repository}: no such repository under {self.git_root} "
                                   f"(create it with `tfpipe local repo {repository}`)")
        return path

    def _sha(self, path: Path, repository: str, branch: str) -> str:
        sha = git_repos.resolve(path, f"refs/heads/{branch}")
        if sha is None:
            raise PullRequestError(f"{repository}: branch {branch!r} does not exist (push it first)")
        return sha

    def _pull(self, repository: str, number: int) -> dict:
        pr = self.store.read(repository)["pulls"].get(str(number))
        if pr is None:
            raise PullRequestError(f"{repository}: pull request #{number} does not exist")
        return pr

    def _send_pull(self, repository: str, path: Path, pr: dict, action: str, sender: str) -> int:
        payload = pull_request_payload(self.urls, repository, git_repos.default_branch(path), pr, action, sender)
        return self.sender.send("pull_request", payload).status_code

    # -- pushes ----------------------------------------------------------------------------------
    def push(self, repository: str, ref: str, before: str, after: str, pusher: str, pusher_email: str) -> int:
        path = self._path(repository)
        return self.sender.send("push", push_payload(self.urls, path, repository, ref, before, after, pusher,
                                                     pusher_email)).status_code

    # -- pull requests ---------------------------------------------------------------------------
    def open(self, repository: str, head: str, user: str, base: str | None = None, title: str | None = None,
             body: str | None = None, draft: bool = False) -> tuple[dict, int]:
        path = self._path(repository)
        base = base or git_repos.default_branch(path)
        head_sha, base_sha = self._sha(path, repository, head), self._sha(path, repository, base)
        with self.store.change(repository) as (repo, _):
            if any(p["head_ref"] == head and p["state"] == "open" for p in repo["pulls"].values()):
                raise PullRequestError(f"{repository}: a pull request for {head} is already open")
            number = repo["next_number"]
            repo["next_number"] += 1
            pr = {"number": number, "title": title or head, "body": body, "head_ref": head, "base_ref": base,
                  "head_sha": head_sha, "base_sha": base_sha, "state": "open", "merged": False, "draft": draft,
                  "user": user, "created_at": now_iso(), "updated_at": now_iso(), "comments": 0}
            repo["pulls"][str(number)] = pr
        return pr, self._send_pull(repository, path, pr, "opened", user)

    def synchronize(self, repository: str, user: str, number: int | None = None,
                    branch: str | None = None) -> list[tuple[dict, int]]:
        """Open pull requests whose head moved (the given one, or those on `branch`): `synchronize`."""
        path = self._path(repository)
        moved = []
        with self.store.change(repository) as (repo, _):
            for pr in repo["pulls"].values():
                if pr["state"] != "open" or (number is not None and pr["number"] != number) or (
                        branch is not None and pr["head_ref"] != branch):
                    continue
                sha = git_repos.resolve(path, f"refs/heads/{pr['head_ref']}")
                if sha and sha != pr["head_sha"]:
                    pr.update(previous_head_sha=pr["head_sha"], head_sha=sha, updated_at=now_iso())
                    moved.append(dict(pr))
        return [(pr, self._send_pull(repository, path, pr, "synchronize", user)) for pr in moved]

    def comment(self, repository: str, number: int, body: str, user: str) -> tuple[dict, int]:
        path = self._path(repository)
        with self.store.change(repository) as (repo, new_id):
            pr = repo["pulls"].get(str(number))
            if pr is None:
                raise PullRequestError(f"{repository}: pull request #{number} does not exist")
            comment = {"id": new_id(), "number": number, "user": user, "body": body, "created_at": now_iso(),
                       "updated_at": now_iso()}
            repo["comments"][str(comment["id"])] = comment
            pr["comments"] = pr.get("comments", 0) + 1
            pr = dict(pr)
        payload = issue_comment_payload(self.urls, repository, git_repos.default_branch(path), pr, comment)
        return comment, self.sender.send("issue_comment", payload).status_code

    def review(self, repository: str, number: int, user: str, state: str = "approved",
               commit_id: str | None = None, body: str | None = None) -> tuple[dict, int]:
        """`user` submits a review of `commit_id` (default: the head): the pull_request_review webhook."""
        path = self._path(repository)
        with self.store.change(repository) as (_, new_id):
            review_id = new_id()
        pr = self._pull(repository, number)
        review = {"id": review_id, "number": number, "user": user, "state": state, "body": body,
                  "commit_id": commit_id or pr["head_sha"], "submitted_at": now_iso()}
        payload = pull_request_review_payload(self.urls, repository, git_repos.default_branch(path), pr, review)
        return review, self.sender.send("pull_request_review", payload).status_code

    def comment_event(self, repository: str, pr: dict, comment: dict, action: str) -> int:
        """The issue_comment webhook for a comment made through the REST API (the pipeline's own)."""
        path = self._path(repository)
        payload = issue_comment_payload(self.urls, repository, git_repos.default_branch(path), pr, comment, action)
        return self.sender.send("issue_comment", payload).status_code

    def close(self, repository: str, number: int, user: str, merge: bool = False) -> tuple[dict, int]:
        path = self._path(repository)
        pr = self._pull(repository, number)
        if pr["state"] != "open":
            raise PullRequestError(f"{repository}: pull request #{number} is already closed")
        def closed(merge_sha: str | None) -> dict:
            with self.store.change(repository) as (repo, _):
                pr = repo["pulls"][str(number)]
                pr.update(state="closed", closed_at=now_iso(), updated_at=now_iso())
                if merge_sha:
                    pr.update(merged=True, merged_at=pr["closed_at"], merge_commit_sha=merge_sha, merged_by=user)
                return dict(pr)

        pr = self._merge(path, repository, pr, user, closed) if merge else closed(None)
        return pr, self._send_pull(repository, path, pr, "closed", user)

    def _merge(self, path: Path, repository: str, pr: dict, user: str, closed) -> dict:
        """Merge like GitHub's merge button: a merge commit on the base branch, pushed (so the push
        webhook for the base branch is sent by the hook, as GitHub sends it). As on GitHub, the pull
        request is merged (`closed(merge sha)`) before that push webhook goes: the pipeline finds it
        through the merge commit's pull requests."""
        identity = ["-c", f"user.name={user}", "-c", f"user.email={user}@users.noreply.local"]
        with tempfile.TemporaryDirectory(prefix="tfpipe-merge-") as work:
            def run(*args: str) -> None:
                done = subprocess.run(["git", *identity, *args], cwd=work, capture_output=True, text=True,
                                      env={**_clean_env(), "TFPIPE_LOCAL_PUSHER": user})
                if done.returncode != 0:
                    raise PullRequestError(f"merging #{pr['number']} of {repository}: git {args[0]}: {done.stderr.strip()}")
            run("clone", "--quiet", "--branch", pr["base_ref"], str(path), ".")
            run("merge", "--no-ff", "--quiet", "-m",
                f"Merge pull request #{pr['number']} from {repository.split('/')[0]}/{pr['head_ref']}\n\n{pr['title']}",
                f"origin/{pr['head_ref']}")
            merge_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True,
                                       env=_clean_env()).stdout.strip()
            merged = closed(merge_sha)
            run("push", "--quiet", "origin", pr["base_ref"])
        return merged

    def show(self, repository: str, number: int) -> dict:
        self._path(repository)
        state = self.store.read(repository)
        pr = state["pulls"].get(str(number))
        if pr is None:
            raise PullRequestError(f"{repository}: pull request #{number} does not exist")
        shas = {pr["head_sha"], pr.get("merge_commit_sha")}
        return {
            "pull_request": pr,
            "comments": sorted((c for c in state["comments"].values() if c["number"] == number), key=lambda c: c["id"]),
            "statuses": [s for s in state["statuses"] if s["sha"] in shas],
            "deployments": sorted((d for d in state["deployments"].values() if d["sha"] in shas), key=lambda d: d["id"]),
        }


def _clean_env() -> dict[str, str]:
    """The environment for git commands run from a hook or the CLI, without a caller's GIT_DIR."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
