"""Dispatch tfpipe runs from GitHub Actions: `POST /dispatch` authenticated by the job's OIDC token.

For teams that prefer Actions to a repository webhook for pushes. Reads the event GitHub Actions hands
the job ($GITHUB_EVENT_NAME, $GITHUB_EVENT_PATH) and sends one PipelineRequest per run it should start:

  push to the default branch           -> apply (PLAN-APPLY) of the pushed commit to $TFPIPE_ENVIRONMENT
  workflow_dispatch on the default      -> apply of $GITHUB_SHA to $TFPIPE_ENVIRONMENT (the sample
    branch                                workflow has no inputs; an `inputs.command` of plan is honoured)
  anything else (pull requests,         -> nothing: they reach tfpipe through its GitHub webhook, and
    comments, other branches)             tfpipe refuses a token whose ref is not the default branch

Each request carries `Authorization: Bearer <token>`, the job's OIDC token for audience
$TFPIPE_OIDC_AUDIENCE (default tfpipe), asked of $ACTIONS_ID_TOKEN_REQUEST_URL as actions/core's
getIDToken does (the job needs `permissions: id-token: write`; the token is never printed). tfpipe
accepts it only for this repository, its default branch and the commit the job runs on. request_id
is derived from the workflow run, so a re-sent request starts nothing twice. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ATTEMPTS = 3


class DispatchError(Exception):
    pass


def actor_email(payload: dict) -> str:
    pusher = payload.get("pusher") or {}
    if "@" in str(pusher.get("email") or ""):
        return pusher["email"]
    sender = payload.get("sender") or {}
    return f"{sender.get('id', 0)}+{sender.get('login', 'github-actions')}@users.noreply.github.com"


def requests_for(event_name: str, payload: dict, env: dict[str, str]) -> list[dict]:
    """The PipelineRequests (tfpipe: chalicelib/core/request.py FIELDS) this event should start."""
    environment = env.get("TFPIPE_ENVIRONMENT") or "prod"
    repository = payload["repository"]["full_name"]
    default_ref = f"refs/heads/{payload['repository'].get('default_branch')}"
    run = f"gha-{env.get('GITHUB_RUN_ID', '0')}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    wanted: list[dict] = []
    if event_name == "push" and payload.get("ref") == default_ref and not payload.get("deleted"):
        wanted.append({"command": "apply", "commit": payload["after"]})
    elif event_name == "workflow_dispatch" and payload.get("ref") == default_ref:
        command = (payload.get("inputs") or {}).get("command") or "apply"
        if command not in ("apply", "plan"):
            raise DispatchError(f"dispatching from workflow_dispatch: input command {command!r}; accepted: apply, plan")
        wanted.append({"command": command, "commit": env.get("GITHUB_SHA") or ""})
    requests = []
    for item in wanted:
        target = {"name": environment}
        if env.get("TFPIPE_ACCOUNT_ID"):
            target["account_id"] = env["TFPIPE_ACCOUNT_ID"]
        requests.append({"repository": repository, "user_email": actor_email(payload), **item, "environment": target,
                         "request_id": f"{run}-{item['command']}-{environment}"})
    return requests


def id_token(env: dict[str, str], audience: str) -> str:
    """The job's OIDC token for `audience`, as actions/core's getIDToken asks for it."""
    url, bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_URL"), env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        raise DispatchError("getting the job's OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL is not set; give the job "
                            "`permissions: id-token: write`")
    if not url.startswith(("https://", "http://")):
        raise DispatchError(f"getting the job's OIDC token: not an http(s) URL: {url[:100]!r}")
    request = urllib.request.Request(f"{url}&audience={urllib.parse.quote(audience)}",  # noqa: S310 - http(s) checked
                                     headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - http(s) checked first
            value = json.loads(answer.read()).get("value")
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise DispatchError(f"getting the job's OIDC token: {exc}") from None
    if not isinstance(value, str) or not value:
        raise DispatchError("getting the job's OIDC token: the answer carries no value")
    return value


def send(url: str, token: str, request: dict, attempts: int = ATTEMPTS) -> tuple[int, str]:
    if not url.startswith(("https://", "http://")):
        raise DispatchError(f"dispatching {request['command']}: TFPIPE_DISPATCH_URL must be an http(s) URL, got {url[:100]!r}")
    body = json.dumps(request, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}", "User-Agent": "tfpipe-dispatch"}
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
    missing = [n for n in ("TFPIPE_DISPATCH_URL", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH") if not env.get(n)]
    if missing:
        print(f"error: dispatching to tfpipe: set {', '.join(missing)}", file=sys.stderr)
        return 2
    with open(env["GITHUB_EVENT_PATH"], encoding="utf-8") as handle:
        payload = json.load(handle)
    try:
        requests = requests_for(env["GITHUB_EVENT_NAME"], payload, env)
        if not requests:
            print(f"nothing to dispatch for {env['GITHUB_EVENT_NAME']} on {payload.get('ref') or '(no ref)'}: "
                  "tfpipe takes pushes to the default branch and workflow_dispatch on it from Actions")
            return 0
        token = id_token(env, env.get("TFPIPE_OIDC_AUDIENCE") or "tfpipe")
    except DispatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for request in requests:
        try:
            status, text = send(env["TFPIPE_DISPATCH_URL"], token, request)
        except DispatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{request['command']} {request['environment']['name']}: HTTP {status} {text[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
