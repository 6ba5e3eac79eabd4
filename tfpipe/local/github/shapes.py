"""GitHub-shaped JSON objects (users, repositories, commits, pull requests, issues, comments,
statuses, deployments), with every field the webhook fixtures and PyGithub read.

URLs point at the local API (`api`) so PyGithub follows them to the same server, and at a local
`web` base for html_url; nothing here ever names github.com.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

ZERO_SHA = "0" * 40


def stable_id(*parts: str) -> int:
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:8], 16) % 10**9


def node_id(kind: str, ident: int) -> str:
    return base64.b64encode(f"{kind}:{ident}".encode()).decode()


@dataclass(frozen=True)
class Urls:
    api: str  # the local REST API, e.g. http://127.0.0.1:port
    web: str  # where html_url points
    git_root: str  # bare repositories live at <git_root>/<owner>/<name>.git

    def repo_api(self, full_name: str) -> str:
        return f"{self.api}/repos/{full_name}"

    def repo_web(self, full_name: str) -> str:
        return f"{self.web}/{full_name}"

    def clone_url(self, full_name: str) -> str:
        return f"file://{self.git_root}/{full_name}.git"


def user(urls: Urls, login: str) -> dict:
    ident = stable_id("user", login)
    base = f"{urls.api}/users/{login}"
    return {
        "login": login, "id": ident, "node_id": node_id("User", ident), "avatar_url": "", "gravatar_id": "",
        "url": base, "html_url": f"{urls.web}/{login}", "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}", "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos", "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events", "type": "User", "site_admin": False,
    }


_REPO_URL_TEMPLATES = {
    "forks_url": "/forks", "keys_url": "/keys{/key_id}", "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams", "hooks_url": "/hooks", "issue_events_url": "/issues/events{/number}",
    "events_url": "/events", "assignees_url": "/assignees{/user}", "branches_url": "/branches{/branch}",
    "tags_url": "/tags", "blobs_url": "/git/blobs{/sha}", "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}", "trees_url": "/git/trees{/sha}", "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages", "stargazers_url": "/stargazers", "contributors_url": "/contributors",
    "subscribers_url": "/subscribers", "subscription_url": "/subscription", "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}", "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}", "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}", "merges_url": "/merges", "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads", "issues_url": "/issues{/number}", "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}", "releases_url": "/releases{/id}", "deployments_url": "/deployments",
}


def repository(urls: Urls, full_name: str, default_branch: str = "main") -> dict:
    owner, name = full_name.split("/", 1)
    ident = stable_id("repo", full_name)
    api = urls.repo_api(full_name)
    shape = {
        "id": ident, "node_id": node_id("Repository", ident), "name": name, "full_name": full_name,
        "private": True, "owner": {**user(urls, owner), "name": owner, "email": f"{owner}@users.noreply.local"},
        "html_url": urls.repo_web(full_name), "description": None, "fork": False, "url": api,
        **{key: api + suffix for key, suffix in _REPO_URL_TEMPLATES.items()},
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "pushed_at": "2026-01-01T00:00:00Z",
        "git_url": urls.clone_url(full_name), "ssh_url": urls.clone_url(full_name), "clone_url": urls.clone_url(full_name),
        "svn_url": urls.repo_web(full_name), "homepage": None, "size": 0, "stargazers_count": 0, "watchers_count": 0,
        "language": "HCL", "has_issues": True, "has_projects": False, "has_downloads": False, "has_wiki": False,
        "has_pages": False, "forks_count": 0, "mirror_url": None, "archived": False, "disabled": False,
        "open_issues_count": 0, "license": None, "forks": 0, "open_issues": 0, "watchers": 0,
        "default_branch": default_branch, "stargazers": 0, "master_branch": default_branch, "is_template": False,
        "topics": [], "visibility": "private", "web_commit_signoff_required": False, "custom_properties": {},
        "permissions": {"admin": True, "push": True, "pull": True},
    }
    return shape


def push_commit(urls: Urls, full_name: str, commit: dict) -> dict:
    """One entry of a push payload's `commits`, from `git_repos.commit_info`."""
    return {
        "id": commit["sha"], "tree_id": commit["tree"], "distinct": True, "message": commit["message"],
        "timestamp": commit["timestamp"], "url": f"{urls.repo_web(full_name)}/commit/{commit['sha']}",
        "author": {"name": commit["author_name"], "email": commit["author_email"], "username": commit["author_name"]},
        "committer": {"name": commit["committer_name"], "email": commit["committer_email"],
                      "username": commit["committer_name"]},
        "added": commit["added"], "removed": commit["removed"], "modified": commit["modified"],
    }


def api_commit(urls: Urls, full_name: str, commit: dict) -> dict:
    """GET /repos/{o}/{r}/commits/{ref}."""
    api = urls.repo_api(full_name)
    person = {"name": commit["author_name"], "email": commit["author_email"], "date": commit["timestamp"]}
    return {
        "sha": commit["sha"], "node_id": node_id("Commit", stable_id(commit["sha"])), "url": f"{api}/commits/{commit['sha']}",
        "html_url": f"{urls.repo_web(full_name)}/commit/{commit['sha']}",
        "comments_url": f"{api}/commits/{commit['sha']}/comments",
        "commit": {"message": commit["message"], "author": person,
                   "committer": {"name": commit["committer_name"], "email": commit["committer_email"],
                                 "date": commit["timestamp"]},
                   "tree": {"sha": commit["tree"], "url": f"{api}/git/trees/{commit['tree']}"},
                   "url": f"{api}/git/commits/{commit['sha']}", "comment_count": 0},
        "author": None, "committer": None,
        "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in commit["parents"]],
        "files": [{"filename": f, "status": "added"} for f in commit["added"]]
        + [{"filename": f, "status": "removed"} for f in commit["removed"]]
        + [{"filename": f, "status": "modified"} for f in commit["modified"]],
    }


def comparison(urls: Urls, full_name: str, base: str, head: str, found: dict, commits: dict[str, dict],
               base_sha: str) -> dict:
    """GET /repos/{o}/{r}/compare/{base}...{head}, from `git_repos.compare` and the commits' infos."""
    api, web = urls.repo_api(full_name), urls.repo_web(full_name)
    return {
        "url": f"{api}/compare/{base}...{head}", "html_url": f"{web}/compare/{base}...{head}",
        "permalink_url": f"{web}/compare/{base_sha}...{head}", "diff_url": f"{web}/compare/{base}...{head}.diff",
        "patch_url": f"{web}/compare/{base}...{head}.patch",
        "base_commit": api_commit(urls, full_name, commits[base_sha]),
        "merge_base_commit": api_commit(urls, full_name, commits[found["merge_base"]]),
        "status": found["status"], "ahead_by": found["ahead_by"], "behind_by": found["behind_by"],
        "total_commits": len(found["commits"]),
        "commits": [api_commit(urls, full_name, commits[sha]) for sha in found["commits"]],
        "files": [],
    }


def _branch_end(urls: Urls, full_name: str, ref: str, sha: str, default_branch: str) -> dict:
    owner = full_name.split("/", 1)[0]
    return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha, "user": user(urls, owner),
            "repo": repository(urls, full_name, default_branch)}


def pull_request(urls: Urls, full_name: str, pr: dict, default_branch: str) -> dict:
    api = urls.repo_api(full_name)
    number = pr["number"]
    web = f"{urls.repo_web(full_name)}/pull/{number}"
    ident = stable_id("pull", full_name, str(number))
    return {
        "url": f"{api}/pulls/{number}", "id": ident, "node_id": node_id("PullRequest", ident), "html_url": web,
        "diff_url": f"{web}.diff", "patch_url": f"{web}.patch", "issue_url": f"{api}/issues/{number}",
        "number": number, "state": pr["state"], "locked": False, "title": pr["title"], "user": user(urls, pr["user"]),
        "body": pr.get("body"), "created_at": pr["created_at"], "updated_at": pr["updated_at"],
        "closed_at": pr.get("closed_at"), "merged_at": pr.get("merged_at"), "merge_commit_sha": pr.get("merge_commit_sha"),
        "assignee": None, "assignees": [], "requested_reviewers": [], "requested_teams": [], "labels": [],
        "milestone": None, "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments", "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments", "statuses_url": f"{api}/statuses/{pr['head_sha']}",
        "head": _branch_end(urls, full_name, pr["head_ref"], pr["head_sha"], default_branch),
        "base": _branch_end(urls, full_name, pr["base_ref"], pr["base_sha"], default_branch),
        "_links": {"self": {"href": f"{api}/pulls/{number}"}, "html": {"href": web},
                   "issue": {"href": f"{api}/issues/{number}"}, "comments": {"href": f"{api}/issues/{number}/comments"},
                   "review_comments": {"href": f"{api}/pulls/{number}/comments"},
                   "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                   "commits": {"href": f"{api}/pulls/{number}/commits"},
                   "statuses": {"href": f"{api}/statuses/{pr['head_sha']}"}},
        "author_association": "OWNER", "auto_merge": None, "active_lock_reason": None, "draft": pr.get("draft", False),
        "merged": pr.get("merged", False), "mergeable": True, "rebaseable": True, "mergeable_state": "clean",
        "merged_by": user(urls, pr["merged_by"]) if pr.get("merged_by") else None, "comments": pr.get("comments", 0),
        "review_comments": 0, "maintainer_can_modify": False, "commits": 1, "additions": 0, "deletions": 0,
        "changed_files": 0,
    }


def issue(urls: Urls, full_name: str, pr: dict) -> dict:
    """The issue side of a pull request (what issue_comment payloads and GET /issues/{n} carry)."""
    api = urls.repo_api(full_name)
    number = pr["number"]
    ident = stable_id("issue", full_name, str(number))
    return {
        "url": f"{api}/issues/{number}", "repository_url": api, "labels_url": f"{api}/issues/{number}/labels{{/name}}",
        "comments_url": f"{api}/issues/{number}/comments", "events_url": f"{api}/issues/{number}/events",
        "html_url": f"{urls.repo_web(full_name)}/pull/{number}", "id": ident, "node_id": node_id("Issue", ident),
        "number": number, "title": pr["title"], "user": user(urls, pr["user"]), "labels": [], "state": pr["state"],
        "locked": False, "assignee": None, "assignees": [], "milestone": None, "comments": pr.get("comments", 0),
        "created_at": pr["created_at"], "updated_at": pr["updated_at"], "closed_at": pr.get("closed_at"),
        "author_association": "OWNER", "active_lock_reason": None, "body": pr.get("body"), "reactions": _reactions(api),
        "draft": pr.get("draft", False),
        "pull_request": {"url": f"{api}/pulls/{number}", "html_url": f"{urls.repo_web(full_name)}/pull/{number}",
                         "diff_url": f"{urls.repo_web(full_name)}/pull/{number}.diff",
                         "patch_url": f"{urls.repo_web(full_name)}/pull/{number}.patch", "merged_at": pr.get("merged_at")},
    }


def _reactions(url: str) -> dict:
    return {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0,
            "heart": 0, "rocket": 0, "eyes": 0}


def comment(urls: Urls, full_name: str, record: dict) -> dict:
    api = urls.repo_api(full_name)
    url = f"{api}/issues/comments/{record['id']}"
    return {
        "url": url, "html_url": f"{urls.repo_web(full_name)}/pull/{record['number']}#issuecomment-{record['id']}",
        "issue_url": f"{api}/issues/{record['number']}", "id": record["id"], "node_id": node_id("IssueComment", record["id"]),
        "user": user(urls, record["user"]), "created_at": record["created_at"], "updated_at": record["updated_at"],
        "author_association": "OWNER", "performed_via_github_app": None, "body": record["body"], "reactions": _reactions(url),
    }


def review(urls: Urls, full_name: str, record: dict) -> dict:
    """A pull request review as pull_request_review webhooks carry it (state in lower case there)."""
    api, web = urls.repo_api(full_name), urls.repo_web(full_name)
    html = f"{web}/pull/{record['number']}#pullrequestreview-{record['id']}"
    return {
        "id": record["id"], "node_id": node_id("PullRequestReview", record["id"]), "user": user(urls, record["user"]),
        "body": record.get("body"), "commit_id": record["commit_id"], "submitted_at": record["submitted_at"],
        "state": record["state"], "html_url": html, "pull_request_url": f"{api}/pulls/{record['number']}",
        "author_association": "COLLABORATOR",
        "_links": {"html": {"href": html}, "pull_request": {"href": f"{api}/pulls/{record['number']}"}},
    }


def status(urls: Urls, full_name: str, record: dict) -> dict:
    return {
        "url": f"{urls.repo_api(full_name)}/statuses/{record['sha']}", "avatar_url": "", "id": record["id"],
        "node_id": node_id("StatusContext", record["id"]), "state": record["state"], "description": record.get("description"),
        "target_url": record.get("target_url"), "context": record["context"], "created_at": record["created_at"],
        "updated_at": record["created_at"], "creator": user(urls, record["creator"]),
    }


def deployment(urls: Urls, full_name: str, record: dict) -> dict:
    api = urls.repo_api(full_name)
    url = f"{api}/deployments/{record['id']}"
    return {
        "url": url, "id": record["id"], "node_id": node_id("Deployment", record["id"]), "sha": record["sha"],
        "ref": record["ref"], "task": record.get("task", "deploy"), "payload": record.get("payload", {}),
        "original_environment": record["environment"], "environment": record["environment"],
        "description": record.get("description"), "creator": user(urls, record["creator"]),
        "created_at": record["created_at"], "updated_at": record["updated_at"], "statuses_url": f"{url}/statuses",
        "repository_url": api, "transient_environment": record.get("transient_environment", False),
        "production_environment": record.get("production_environment", False),
    }


def deployment_status(urls: Urls, full_name: str, deployment_id: int, record: dict) -> dict:
    api = urls.repo_api(full_name)
    return {
        "url": f"{api}/deployments/{deployment_id}/statuses/{record['id']}", "id": record["id"],
        "node_id": node_id("DeploymentStatus", record["id"]), "state": record["state"],
        "creator": user(urls, record["creator"]), "description": record.get("description", ""),
        "environment": record.get("environment", ""), "target_url": record.get("target_url", ""),
        "log_url": record.get("log_url", ""), "environment_url": record.get("environment_url", ""),
        "created_at": record["created_at"], "updated_at": record["created_at"],
        "deployment_url": f"{api}/deployments/{deployment_id}", "repository_url": api,
    }
