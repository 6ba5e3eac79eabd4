"""The subset of GitHub's REST API that the pipeline's PyGithub adapter calls, answered from the
bare repositories (refs, commits) and the store (pull requests, comments, statuses, deployments).

    GET   /repos/{o}/{r}                                   GET   /repos/{o}/{r}/pulls/{n}
    GET   /repos/{o}/{r}/collaborators/{user}/permission   GET   /repos/{o}/{r}/issues/{n}
    GET   /repos/{o}/{r}/commits/{ref}[/statuses|/status]  GET|POST /repos/{o}/{r}/issues/{n}/comments
    GET   /repos/{o}/{r}/commits/{sha}/pulls               GET   /repos/{o}/{r}/compare/{base}...{head}
    POST  /repos/{o}/{r}/statuses/{sha}                    GET|PATCH|DELETE /repos/{o}/{r}/issues/comments/{id}
    GET|POST /repos/{o}/{r}/deployments                    GET   /repos/{o}/{r}/deployments/{id}
    GET|POST /repos/{o}/{r}/deployments/{id}/statuses
and, under /_services/token, GitHub Actions' OIDC token issuer (oidc.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tfpipe.local.github import git_repos, shapes
from tfpipe.local.github.oidc import ISSUER_PATH, ActionsOidc
from tfpipe.local.github.store import GitHubStore, now_iso
from tfpipe.local.github.web import GitHubWeb

_LEGACY_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read",
                      "none": "none"}
_STATUS_STATES = ("error", "failure", "pending", "success")
_DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
_REPO = "/repos/<owner>/<name>"


class Unprocessable(HTTPException):
    code = 422


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json; charset=utf-8")


class GitHubApi:
    def __init__(self, store: GitHubStore, git_root: Path, urls: shapes.Urls, default_login: str = "tfpipe-bot",
                 on_comment: Callable[[str, dict, dict, str], None] | None = None):
        self.store = store
        # GitHub sends issue_comment webhooks for comments made through the API too (the bot's own).
        self._on_comment = on_comment or (lambda repository, pull, comment, action: None)
        self.git_root = Path(git_root)
        self.urls = urls
        self.login = default_login  # who the token belongs to: the author of what the pipeline posts
        self._web = GitHubWeb(store, git_root)  # the html_url pages
        self.oidc = ActionsOidc(urls.api + ISSUER_PATH, self.git_root)  # Actions' tokens for POST /dispatch
        self._routes = Map([
            Rule(_REPO, endpoint="repo", methods=["GET"]),
            Rule(f"{_REPO}/collaborators/<user>/permission", endpoint="permission", methods=["GET"]),
            Rule(f"{_REPO}/commits/<sha>/pulls", endpoint="commit_pulls", methods=["GET"]),
            Rule(f"{_REPO}/commits/<path:ref>", endpoint="commit", methods=["GET"]),
            Rule(f"{_REPO}/compare/<path:basehead>", endpoint="compare", methods=["GET"]),
            Rule(f"{_REPO}/pulls/<int:number>", endpoint="pull", methods=["GET"]),
            Rule(f"{_REPO}/issues/<int:number>", endpoint="issue", methods=["GET"]),
            Rule(f"{_REPO}/issues/<int:number>/comments", endpoint="comments", methods=["GET", "POST"]),
            Rule(f"{_REPO}/issues/comments/<int:comment_id>", endpoint="comment", methods=["GET", "PATCH", "DELETE"]),
            Rule(f"{_REPO}/statuses/<sha>", endpoint="create_status", methods=["POST"]),
            Rule(f"{_REPO}/deployments", endpoint="deployments", methods=["GET", "POST"]),
            Rule(f"{_REPO}/deployments/<int:deployment_id>", endpoint="deployment", methods=["GET"]),
            Rule(f"{_REPO}/deployments/<int:deployment_id>/statuses", endpoint="deployment_statuses",
                 methods=["GET", "POST"]),
        ])
        self._endpoints: dict[str, Callable[..., Response]] = {
            "repo": self.repo, "permission": self.permission, "commit": self.commit, "pull": self.pull,
            "commit_pulls": self.commit_pulls, "compare": self.compare,
            "issue": self.issue, "comments": self.comments, "comment": self.comment,
            "create_status": self.create_status, "deployments": self.deployments, "deployment": self.deployment,
            "deployment_statuses": self.deployment_statuses,
        }

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        if self.oidc.handles(request.path):
            return self.oidc(environ, start_response)
        if request.method == "GET" and self._web.handles(request.path):
            return self._web(environ, start_response)
        try:
            endpoint, args = self._routes.bind_to_environ(environ).match()
            full_name = f"{args.pop('owner')}/{args.pop('name')}"
            path = self._repo_path(full_name)
            response = self._endpoints[endpoint](request, full_name, path, **args)
        except Unprocessable as exc:
            response = _json({"message": exc.description, "documentation_url": ""}, 422)
        except HTTPException as exc:
            response = _json({"message": "Not Found" if exc.code == 404 else exc.name, "documentation_url": ""},
                             exc.code or 500)
        except git_repos.GitError as exc:
            response = _json({"message": f"reading the repository: {exc}", "documentation_url": ""}, 500)
        return response(environ, start_response)

    # -- helpers ---------------------------------------------------------------------------------
    def _repo_path(self, full_name: str) -> Path:
        try:
            path = git_repos.repository_path(self.git_root, full_name)
        except ValueError:
            raise NotFound() from None
        if not (path / "HEAD").exists():
            raise NotFound()
        return path

    @staticmethod
    def _body(request: Request) -> dict:
        try:
            body = json.loads(request.get_data() or b"{}")
        except json.JSONDecodeError:
            raise Unprocessable("Problems parsing JSON") from None
        if not isinstance(body, dict):
            raise Unprocessable("Problems parsing JSON")
        return body

    def _pull_record(self, full_name: str, number: int) -> dict:
        record = self.store.read(full_name)["pulls"].get(str(number))
        if record is None:
            raise NotFound()
        return record

    # -- endpoints -------------------------------------------------------------------------------
    def repo(self, request: Request, full_name: str, path: Path) -> Response:
        return _json(shapes.repository(self.urls, full_name, git_repos.default_branch(path)))

    def permission(self, request: Request, full_name: str, path: Path, user: str) -> Response:
        role = self.store.permission(full_name, user)
        return _json({"permission": _LEGACY_PERMISSION.get(role, "none"), "role_name": role,
                      "user": shapes.user(self.urls, user)})

    def commit(self, request: Request, full_name: str, path: Path, ref: str) -> Response:
        kind = "commit"
        for suffix, name in (("/statuses", "statuses"), ("/status", "combined")):
            if ref.endswith(suffix):
                ref, kind = ref.removesuffix(suffix), name
                break
        sha = git_repos.resolve(path, ref) or git_repos.resolve(path, f"refs/{ref}")
        if sha is None:
            raise Unprocessable(f"No commit found for SHA: {ref}")
        if kind == "commit":
            return _json(shapes.api_commit(self.urls, full_name, git_repos.commit_info(path, sha)))
        statuses = [shapes.status(self.urls, full_name, s) for s in reversed(self.store.read(full_name)["statuses"])
                    if s["sha"] == sha]
        if kind == "statuses":
            return _json(statuses)
        latest: dict[str, dict] = {}
        for item in statuses:
            latest.setdefault(item["context"], item)
        states = {s["state"] for s in latest.values()}
        combined = ("failure" if states & {"failure", "error"} else "pending" if "pending" in states or not states
                    else "success")
        return _json({"state": combined, "statuses": list(latest.values()), "sha": sha, "total_count": len(latest),
                      "repository": shapes.repository(self.urls, full_name)})

    def commit_pulls(self, request: Request, full_name: str, path: Path, sha: str) -> Response:
        """The pull requests associated with a commit, as GitHub lists them: for a commit on the default
        branch, the merged one that brought it there (its merge commit, or its head when merged as is);
        otherwise the open ones whose head contains it."""
        resolved = git_repos.resolve(path, sha)
        if resolved is None:
            raise Unprocessable(f"No commit found for SHA: {sha}")
        branch = git_repos.default_branch(path)
        tip = git_repos.resolve(path, f"refs/heads/{branch}")
        pulls = self.store.read(full_name)["pulls"].values()
        if tip and git_repos.is_ancestor(path, resolved, tip):
            found = [p for p in pulls if p.get("merged") and resolved in (p.get("merge_commit_sha"), p["head_sha"])]
        else:
            found = [p for p in pulls if p["state"] == "open" and git_repos.resolve(path, p["head_sha"])
                     and git_repos.is_ancestor(path, resolved, p["head_sha"])]
        return _json([shapes.pull_request(self.urls, full_name, p, branch)
                      for p in sorted(found, key=lambda p: p["number"], reverse=True)])

    def compare(self, request: Request, full_name: str, path: Path, basehead: str) -> Response:
        base, dots, head = basehead.partition("...")
        if not dots or not base or not head:
            raise NotFound()
        base_sha, head_sha = git_repos.resolve(path, base), git_repos.resolve(path, head)
        if base_sha is None or head_sha is None:
            raise NotFound()  # GitHub: 404 "Not Found" for a commit or branch it does not have
        found = git_repos.compare(path, base_sha, head_sha)
        if found is None:
            raise NotFound()  # no common ancestor
        return _json(shapes.comparison(self.urls, full_name, base, head, found, {
            sha: git_repos.commit_info(path, sha) for sha in {base_sha, found["merge_base"], *found["commits"]}},
            base_sha))

    def pull(self, request: Request, full_name: str, path: Path, number: int) -> Response:
        return _json(shapes.pull_request(self.urls, full_name, self._pull_record(full_name, number),
                                         git_repos.default_branch(path)))

    def issue(self, request: Request, full_name: str, path: Path, number: int) -> Response:
        return _json(shapes.issue(self.urls, full_name, self._pull_record(full_name, number)))

    def comments(self, request: Request, full_name: str, path: Path, number: int) -> Response:
        self._pull_record(full_name, number)
        if request.method == "GET":
            records = [c for c in self.store.read(full_name)["comments"].values() if c["number"] == number]
            return _json([shapes.comment(self.urls, full_name, c) for c in sorted(records, key=lambda c: c["id"])])
        body = self._body(request).get("body")
        if not isinstance(body, str) or not body:
            raise Unprocessable("body is required")
        if len(body) > 65536:
            raise Unprocessable("Body is too long (maximum is 65536 characters)")
        with self.store.change(full_name) as (repo, new_id):
            record = {"id": new_id(), "number": number, "user": self.login, "body": body,
                      "created_at": now_iso(), "updated_at": now_iso()}
            repo["comments"][str(record["id"])] = record
            repo["pulls"][str(number)]["comments"] = repo["pulls"][str(number)].get("comments", 0) + 1
            pull = dict(repo["pulls"][str(number)])
        self._on_comment(full_name, pull, record, "created")
        return _json(shapes.comment(self.urls, full_name, record), 201)

    def comment(self, request: Request, full_name: str, path: Path, comment_id: int) -> Response:
        if request.method == "GET":
            record = self.store.read(full_name)["comments"].get(str(comment_id))
            if record is None:
                raise NotFound()
            return _json(shapes.comment(self.urls, full_name, record))
        body = self._body(request).get("body") if request.method == "PATCH" else None
        with self.store.change(full_name) as (repo, _):
            record = repo["comments"].get(str(comment_id))
            if record is None:
                raise NotFound()
            if request.method == "DELETE":
                del repo["comments"][str(comment_id)]
            else:
                if not isinstance(body, str) or not body:
                    raise Unprocessable("body is required")
                if len(body) > 65536:
                    raise Unprocessable("Body is too long (maximum is 65536 characters)")
                record.update(body=body, updated_at=now_iso())
            pull = dict(repo["pulls"].get(str(record["number"]), {}))
        action = "deleted" if request.method == "DELETE" else "edited"
        if pull:
            self._on_comment(full_name, pull, record, action)
        if request.method == "DELETE":
            return Response(status=204)
        return _json(shapes.comment(self.urls, full_name, record))

    def create_status(self, request: Request, full_name: str, path: Path, sha: str) -> Response:
        body = self._body(request)
        if body.get("state") not in _STATUS_STATES:
            raise Unprocessable(f"state must be one of {', '.join(_STATUS_STATES)}")
        resolved = git_repos.resolve(path, sha)
        if resolved is None:
            raise Unprocessable(f"No commit found for SHA: {sha}")
        with self.store.change(full_name) as (repo, new_id):
            record = {"id": new_id(), "sha": resolved, "state": body["state"], "context": body.get("context") or "default",
                      "description": body.get("description"), "target_url": body.get("target_url"),
                      "creator": self.login, "created_at": now_iso()}
            repo["statuses"].append(record)
        return _json(shapes.status(self.urls, full_name, record), 201)

    def deployments(self, request: Request, full_name: str, path: Path) -> Response:
        if request.method == "GET":
            records = self.store.read(full_name)["deployments"].values()
            wanted = {key: request.args[key] for key in ("sha", "ref", "environment", "task") if key in request.args}
            records = [r for r in records if all(str(r.get(k)) == v for k, v in wanted.items())]
            return _json([shapes.deployment(self.urls, full_name, r)
                          for r in sorted(records, key=lambda r: r["id"], reverse=True)])
        body = self._body(request)
        sha = git_repos.resolve(path, str(body.get("ref", "")))
        if sha is None:
            raise Unprocessable(f"No ref found for: {body.get('ref')}")
        with self.store.change(full_name) as (repo, new_id):
            record = {"id": new_id(), "sha": sha, "ref": body["ref"], "task": body.get("task", "deploy"),
                      "payload": body.get("payload") or {}, "environment": body.get("environment") or "production",
                      "description": body.get("description"),
                      "transient_environment": bool(body.get("transient_environment", False)),
                      "production_environment": bool(body.get("production_environment", False)),
                      "creator": self.login, "created_at": now_iso(), "updated_at": now_iso(), "statuses": []}
            repo["deployments"][str(record["id"])] = record
        return _json(shapes.deployment(self.urls, full_name, record), 201)

    def _deployment_record(self, full_name: str, deployment_id: int) -> dict:
        record = self.store.read(full_name)["deployments"].get(str(deployment_id))
        if record is None:
            raise NotFound()
        return record

    def deployment(self, request: Request, full_name: str, path: Path, deployment_id: int) -> Response:
        return _json(shapes.deployment(self.urls, full_name, self._deployment_record(full_name, deployment_id)))

    def deployment_statuses(self, request: Request, full_name: str, path: Path, deployment_id: int) -> Response:
        if request.method == "GET":
            record = self._deployment_record(full_name, deployment_id)
            return _json([shapes.deployment_status(self.urls, full_name, deployment_id, s)
                          for s in reversed(record["statuses"])])
        body = self._body(request)
        if body.get("state") not in _DEPLOYMENT_STATES:
            raise Unprocessable(f"state must be one of {', '.join(_DEPLOYMENT_STATES)}")
        with self.store.change(full_name) as (repo, new_id):
            record = repo["deployments"].get(str(deployment_id))
            if record is None:
                raise NotFound()
            status = {"id": new_id(), "state": body["state"], "description": body.get("description", ""),
                      "environment": body.get("environment") or record["environment"],
                      "environment_url": body.get("environment_url", ""), "log_url": body.get("log_url", ""),
                      "target_url": body.get("target_url", ""), "creator": self.login, "created_at": now_iso()}
            record["statuses"].append(status)
            record["updated_at"] = now_iso()
        return _json(shapes.deployment_status(self.urls, full_name, deployment_id, status), 201)
