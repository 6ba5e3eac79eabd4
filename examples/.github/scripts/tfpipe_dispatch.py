"""Dispatch tfpipe pipeline events from GitHub Actions: signed `POST /dispatch` requests.

For teams that prefer Actions to a repository webhook. Reads the event GitHub Actions hands the job
($GITHUB_EVENT_NAME, $GITHUB_EVENT_PATH) and sends one PipelineRequest per run it should start:

  push to the default branch         -> apply (PLAN-APPLY) to $TFPIPE_ENVIRONMENT
  pull request opened/synchronize/   -> plan against $TFPIPE_ENVIRONMENT, and ephemeral pr-<N>
    reopened
  pull request closed                -> destroy pr-<N>
  PR comment /plan, /ephemeral [ttl=4h], /ttl <duration>, /destroy, /terraform <args> [env=<name>]
                                     -> the matching command (other comments: nothing)

Each body is signed like a GitHub webhook: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
with the pipeline's webhook secret ($TFPIPE_WEBHOOK_SECRET, never printed). request_id is derived from
the workflow run, so a re-sent request starts nothing twice. Standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request

ATTEMPTS = 3
PR_ACTIONS = {"opened", "synchronize", "reopened"}


class DispatchError(Exception):
    pass


def actor_email(payload: dict) -> str:
    pusher = payload.get("pusher") or {}
    if "@" in str(pusher.get("email") or ""):
        return pusher["email"]
    sender = payload.get("sender") or {}
    return f"{sender.get('id', 0)}+{sender.get('login', 'github-actions')}@users.noreply.github.com"


def _comment_request(body: str, number: int) -> dict | None:
    words = body.strip().splitlines()[0].split() if body.strip() else []
    if not words or not words[0].startswith("/"):
        return None
    verb, args = words[0], words[1:]
    pr_env = f"pr-{number}"
    if verb == "/plan" and not args:
        return {"command": "plan"}
    if verb == "/ephemeral" and len(args) <= 1 and all(a.startswith("ttl=") for a in args):
        return {"command": "ephemeral", "environment": pr_env, **({"ttl": args[0][4:]} if args else {})}
    if verb == "/ttl" and len(args) == 1:
        return {"command": "cron", "environment": pr_env, "ttl": args[0]}
    if verb == "/destroy" and not args:
        return {"command": "destroy", "environment": pr_env}
    if verb == "/terraform" and args:
        # env=<name>: a long-lived environment instead (the pipeline lets only read-only commands at it)
        named = [a for a in args if a.startswith("env=")]
        rest = [a for a in args if not a.startswith("env=")]
        if len(named) > 1 or not rest:
            return None
        return {"command": "custom", "environment": named[0][4:] if named else pr_env, "args": rest}
    return None


def requests_for(event_name: str, payload: dict, env: dict[str, str]) -> list[dict]:
    """The PipelineRequests (tfpipe: chalicelib/core/request.py FIELDS) this event should start."""
    environment = env.get("TFPIPE_ENVIRONMENT", "prod")
    repository = payload["repository"]["full_name"]
    run = f"gha-{env.get('GITHUB_RUN_ID', '0')}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    base = {"repository": repository, "user_email": actor_email(payload)}
    wanted: list[dict] = []
    if event_name == "push":
        branch = payload.get("ref", "").removeprefix("refs/heads/")
        if payload.get("ref", "").startswith("refs/heads/") and branch == payload["repository"].get("default_branch"):
            wanted.append({"command": "apply", "environment": environment, "commit": payload["after"]})
    elif event_name == "pull_request":
        pr = payload["pull_request"]
        head = {"commit": pr["head"]["sha"], "pull_request": pr["number"]}
        if payload.get("action") in PR_ACTIONS:
            wanted += [{"command": "plan", "environment": environment, **head},
                       {"command": "ephemeral", "environment": f"pr-{pr['number']}", **head}]
        elif payload.get("action") == "closed":
            wanted.append({"command": "destroy", "environment": f"pr-{pr['number']}", **head})
    elif event_name == "issue_comment" and payload.get("action") == "created" and payload["issue"].get("pull_request"):
        number = payload["issue"]["number"]
        request = _comment_request(payload["comment"].get("body") or "", number)
        if request:
            wanted.append({"environment": environment, "commit": f"refs/pull/{number}/head",
                           "pull_request": number, **request})
    requests = []
    for item in wanted:
        name = item.pop("environment")
        target = {"name": name}
        if env.get("TFPIPE_ACCOUNT_ID") and not name.startswith("pr-"):
            target["account_id"] = env["TFPIPE_ACCOUNT_ID"]
        requests.append({**base, **item, "environment": target,
                         "request_id": f"{run}-{item['command']}-{name}"})
    return requests


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(url: str, secret: str, request: dict, attempts: int = ATTEMPTS) -> tuple[int, str]:
    if not url.startswith(("https://", "http://")):
        raise DispatchError(f"dispatching {request['command']}: TFPIPE_DISPATCH_URL must be an http(s) URL, got {url[:100]!r}")
    body = json.dumps(request, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body),
               "User-Agent": "tfpipe-dispatch"}
    for attempt in range(1, attempts + 1):
        try:
            request_ = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310 - http(s) checked first
            with urllib.request.urlopen(request_, timeout=30) as answer:  # noqa: S310 - http(s) checked first
                return answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            if exc.code < 500 or attempt == attempts:
                raise DispatchError(f"dispatching {request['command']} for {request['environment']['name']}: "
                                    f"HTTP {exc.code}: {text[:500]}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            if attempt == attempts:
                raise DispatchError(f"dispatching {request['command']}: {url} unreachable: {exc}") from None
        time.sleep(2 ** attempt)  # same body, same request_id: a retry never starts a second run
    raise AssertionError("unreachable")


def main() -> int:
    env = dict(os.environ)
    missing = [n for n in ("TFPIPE_DISPATCH_URL", "TFPIPE_WEBHOOK_SECRET", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH")
               if not env.get(n)]
    if missing:
        print(f"error: dispatching to tfpipe: set {', '.join(missing)}", file=sys.stderr)
        return 2
    with open(env["GITHUB_EVENT_PATH"], encoding="utf-8") as handle:
        payload = json.load(handle)
    requests = requests_for(env["GITHUB_EVENT_NAME"], payload, env)
    if not requests:
        print(f"nothing to dispatch for {env['GITHUB_EVENT_NAME']}")
    for request in requests:
        try:
            status, text = send(env["TFPIPE_DISPATCH_URL"], env["TFPIPE_WEBHOOK_SECRET"], request)
        except DispatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{request['command']} {request['environment']['name']}: HTTP {status} {text[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
