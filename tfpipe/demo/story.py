"""The GitOps story `make demo` tells, on the embedded stack with real Terraform and the sample app:
first commit applied after approval, a pull request with its plan and ephemeral environment, a TTL
moved and then expiring, a merge going live, a failing commit rolled back, and the audit trail."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests

from chalicelib.core.comments import marker as comment_marker
from chalicelib.core.naming import ephemeral_environment
from tfpipe.demo.steps import NotVerified, check
from tfpipe.demo.waiting import Waiter
from tfpipe.local.github import git_repos
from tfpipe.local.github.local_github import LocalGitHub
from tfpipe.local.stack import Stack
from tfpipe.operations import TERMINAL, Operator, OperatorError
from tfpipe.target import Target

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples"
REPOSITORY = "demo/guestbook"
DEVELOPER = "octocat"
DEVELOPER_EMAIL = "octocat@users.noreply.local"
REVIEWER = "hubot"  # another writer: approves the merge on its pull request (nobody approves their own change)
FAILING_RESOURCE = '''
# This commit's apply fails after the function was updated: the pipeline must roll back.
resource "terraform_data" "release_gate" {
  triggers_replace = [aws_lambda_function.app.environment]
  provisioner "local-exec" {
    command = "echo 'release gate: smoke tests failed' >&2; exit 1"
  }
}
'''


def wait(what: str, probe: Callable[[], object], timeout: float, interval: float = 0.5):
    """Poll until probe() is truthy, silently; NotVerified naming what did not happen in time."""
    return Waiter().until(what, probe, timeout, interval)


class Story:
    def __init__(self, stack: Stack, workdir: Path, timeout: float = 240, waiter: Waiter | None = None):
        self.stack = stack
        self.workdir = workdir
        self.timeout = timeout
        self.waiter = waiter or Waiter()
        self.github = LocalGitHub(stack.state_dir, stack.describe())
        self.ops = Operator(Target.from_state_dir(stack.state_dir))
        self.checkout = workdir / "guestbook"
        self.notes: dict[str, object] = {}

    # -- helpers ---------------------------------------------------------------------------------

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", "-c", f"user.name={DEVELOPER}", "-c", f"user.email={DEVELOPER_EMAIL}", *args],
                              cwd=self.checkout, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise NotVerified(f"git {args[0]}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout.strip()

    def commit_and_push(self, message: str, branch: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", f"HEAD:{branch}")
        return self.git("rev-parse", "HEAD")

    def runs(self, workflow: str, environment: str, sha: str | None = None) -> list[dict]:
        return [r for r in self.ops.runs() if r["workflow"] == workflow and r["environment"] == environment
                and (sha is None or r["sha"] == sha)]

    def wait(self, what: str, probe: Callable[[], object], timeout: float, detail=None):
        return self.waiter.until(what, probe, timeout, detail=detail)

    def one_run(self, workflow: str, environment: str, sha: str | None = None) -> dict:
        return self.wait(f"{workflow} of {environment} at {(sha or 'any')[:7]} to start",
                         lambda: (self.runs(workflow, environment, sha) or [None])[0], 30)

    def finished(self, run: dict, timeout: float | None = None) -> dict:
        run_id, seen = run["run_id"], {}

        def ended() -> dict | None:
            try:
                detail, history = self.ops.history(run_id)
            except OperatorError:  # not recorded yet
                return None
            seen["where"] = history.lines[-1].text if history.lines else (history.steps or [{}])[-1].get("state")
            if detail["status"] not in TERMINAL:
                return None
            return self.ops.execution_view(self.ops.artifacts_prefix(run_id), detail, history)

        execution = self.wait(f"run {run_id} to end", ended, timeout or self.timeout, detail=lambda: seen.get("where"))
        return {**execution, "record": self.ops.run(run_id)}

    def approve(self, run: dict) -> None:
        self.wait(f"run {run['run_id']} to ask for approval",
                  lambda: self.ops.run(run["run_id"]).get("approval_state") == "pending", self.timeout)
        answer = self.ops.decide(run["run_id"], True)
        check(answer.status == 200, f"approving {run['run_id']}: {answer.status} {answer.body}")

    def environment_url(self, environment: str) -> str:
        """The URL the newest successful GitHub deployment of an environment carries (the fan-out
        posts it moments after the run ends)."""
        return self.wait(f"a successful GitHub deployment of {environment} with its URL",
                         lambda: self._deployed_url(environment), 60)

    def _deployed_url(self, environment: str) -> str | None:
        deployments = self.stack.github_store.read(REPOSITORY)["deployments"].values()
        for deployment in sorted(deployments, key=lambda d: d["id"], reverse=True):
            if deployment["environment"] != environment:
                continue
            for status in reversed(deployment["statuses"]):
                if status.get("state") == "success" and status.get("environment_url"):
                    return status["environment_url"]
        return None

    def visits(self, url: str) -> int:
        response = requests.get(url, timeout=10)
        check(response.status_code == 200, f"GET {url} answered {response.status_code}")
        return int(response.json()["visits"])

    def app_keeps_state(self, url: str) -> str:
        first, second = self.visits(url), self.visits(url)
        check(second == first + 1, f"the visit counter went {first} -> {second}, not up by one")
        return f"{url} answers; visits {first} -> {second}"

    def account_of(self, environment: str) -> str:
        """The account the pipeline deploys `environment` to (previews: TFPIPE_EPHEMERAL_ACCOUNT_ID)."""
        return self.ops.deps.settings.request_defaults.account_for(environment) or self.stack.account_id

    def function_in(self, account: str, environment: str) -> dict | None:
        """The configuration of the environment's function as `account` sees it (None: not there)."""
        client = self.stack.client_in(account, "lambda")
        try:
            return client.get_function_configuration(FunctionName=f"guestbook-{environment}")
        except client.exceptions.ResourceNotFoundException:
            return None

    def release_of(self, environment: str) -> str | None:
        """The RELEASE variable the environment's function runs with (what the demo's changes move)."""
        config = self.function_in(self.account_of(environment), environment) or {}
        return config.get("Environment", {}).get("Variables", {}).get("RELEASE")

    def set_release(self, release: str) -> None:
        """An infrastructure change: the function's environment gets RELEASE = release."""
        main_tf = self.checkout / "main.tf"
        lines = [line for line in main_tf.read_text().splitlines() if not line.strip().startswith("RELEASE")]
        anchor = next(i for i, line in enumerate(lines) if line.strip().startswith("ENVIRONMENT"))
        lines.insert(anchor + 1, f'      RELEASE     = "{release}"')
        main_tf.write_text("\n".join(lines) + "\n")

    def comments(self, number: int) -> list[str]:
        return [c["body"] for c in self.github.show(REPOSITORY, number)["comments"]]

    # -- the steps -------------------------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("first commit: plan, approve, apply", self.first_commit),
            ("pull request: plan comment and ephemeral environment", self.pull_request),
            ("/ttl moves the destroy time, then it expires", self.ttl_expires),
            ("merge: plan, approve, apply, the change is live", self.merge),
            ("failing commit: automatic rollback", self.failing_commit),
            ("audit history from Git", self.audit_history),
        ]

    def first_commit(self) -> str:
        git_repos.create_repository(self.stack.git_root, REPOSITORY)
        for writer in (DEVELOPER, REVIEWER):
            self.stack.github_store.set_permission(REPOSITORY, writer, "write")
        subprocess.run(["git", "clone", "-q", str(git_repos.repository_path(self.stack.git_root, REPOSITORY)),
                        str(self.checkout)], check=True, capture_output=True, timeout=60)
        shutil.copytree(EXAMPLE, self.checkout, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "dist", "__pycache__"))
        self.set_release("1")
        sha = self.commit_and_push("Guestbook: release 1", "main")
        run = self.one_run("plan-apply", "prod", sha)
        self.approve(run)
        done = self.finished(run)
        check(done["status"] == "SUCCEEDED", f"PLAN-APPLY ended {done['status']}: {done.get('cause')}")
        url = self.environment_url("prod")
        self.notes["prod_url"] = url
        return f"PLAN-APPLY {sha[:7]} approved and applied; " + self.app_keeps_state(url)

    def pull_request(self) -> str:
        self.git("checkout", "-q", "-b", "release-2")
        self.set_release("2")
        sha = self.commit_and_push("Guestbook: release 2", "release-2")
        record, status = self.github.open(REPOSITORY, head="release-2", user=DEVELOPER, title="Release 2")
        check(status == 202, f"the pull_request webhook was answered {status}")
        number = record["number"]
        self.notes["pr"] = number
        environment = ephemeral_environment(number)
        plan = self.finished(self.one_run("plan", "prod", sha))
        check(plan["status"] == "SUCCEEDED", f"PLAN ended {plan['status']}: {plan.get('cause')}")
        comment = self.wait("a plan comment on the pull request",
                            lambda: next((c for c in self.comments(number) if "RELEASE" in c), None), 60)
        ephemeral = self.finished(self.one_run("apply-ephemeral", environment, sha))
        check(ephemeral["status"] == "SUCCEEDED", f"APPLY EPHEMERAL ended {ephemeral['status']}: {ephemeral.get('cause')}")
        url = self.environment_url(environment)
        self.notes["pr_url"] = url
        check(self.release_of(environment) == "2", "the ephemeral environment does not run the PR's change")
        account, prod_account = self.account_of(environment), self.account_of("prod")
        check(account != prod_account and self.function_in(prod_account, environment) is None,
              f"{environment}'s function is in prod's account {prod_account}")
        return (f"#{number}: plan comment ({len(comment)} chars) posted; {environment} applied in its own "
                f"account {account} (prod: {prod_account}); " + self.app_keeps_state(url))

    def ttl_expires(self) -> str:
        number = self.notes["pr"]
        environment = ephemeral_environment(number)
        before = self.ops.deps.runs.get_environment(REPOSITORY, environment)
        check(before is not None, f"{environment} is not listed as an ephemeral environment")
        _, status = self.github.comment(REPOSITORY, number, "/ttl 20s", DEVELOPER)
        check(status == 202, f"the /ttl comment was answered {status}")
        moved = self.finished(self.one_run("modify-cron", environment))
        check(moved["status"] == "SUCCEEDED", f"MODIFY CRON ended {moved['status']}: {moved.get('cause')}")
        after = self.ops.deps.runs.get_environment(REPOSITORY, environment)
        check(after.destroy_at < before.destroy_at, "the destroy time did not move")
        destroyed = self.finished(self.one_run("destroy", environment, None), timeout=self.timeout + 30)
        check(destroyed["status"] == "SUCCEEDED", f"DESTROY ended {destroyed['status']}: {destroyed.get('cause')}")
        url = self.notes["pr_url"]
        check(self.wait(f"{url} to stop answering", lambda: _refused(url), 30), f"{url} still answers after the destroy")
        # The DESTROY run's own comment (its marker), saying it is done: not the plan comment's Destroy column.
        marker, said = comment_marker("destroy"), f"destroyed {environment}"
        check(self.wait("the pull request to show the destroy",
                   lambda: any(marker in c and said in c for c in self.comments(number)), 60),
              f"no DESTROY comment saying {said!r} on #{number}")
        return (f"TTL moved from {when(before.destroy_at)} to {when(after.destroy_at)}; "
                f"the schedule destroyed {environment}; "
                f"its URL refuses connections; the PR's DESTROY comment says {said!r}")

    def merge(self) -> str:
        number = self.notes["pr"]
        pr, status = self.github.close(REPOSITORY, number, DEVELOPER, merge=True)
        check(status == 202 and pr.get("merged"), f"merging #{number}: webhook {status}, merged={pr.get('merged')}")
        sha = pr["merge_commit_sha"]
        run = self.one_run("plan-apply", "prod", sha)
        check(run.get("pull_request") == number, f"the PLAN-APPLY of {sha[:7]} is not a run of the merged #{number}")
        # The approver reads the plan where they look: the merged pull request, which the merge's run posts on.
        marker = comment_marker("plan-apply")
        plan = self.wait(f"the plan of {sha[:7]} on the merged pull request", lambda: next(
            (c for c in self.comments(number) if marker in c and "Approval needed" in c), None), self.timeout)
        check("aws_lambda_function.app" in plan and '"2"' in plan and f"/approve {run['run_id']}" in plan,
              f"the plan comment on #{number} lacks the changed function, its release or how to approve")
        _, status = self.github.comment(REPOSITORY, number, "/approve", REVIEWER)
        check(status == 202, f"the /approve comment was answered {status}")
        done = self.finished(run)
        check(done["status"] == "SUCCEEDED", f"PLAN-APPLY ended {done['status']}: {done.get('cause')}")
        check(done["record"]["approver"] == REVIEWER, f"approved by {done['record']['approver']}, not @{REVIEWER}")
        check(self.release_of("prod") == "2", "prod does not run release 2 after the merge")
        self.git("checkout", "-q", "main")
        self.git("pull", "-q", "origin", "main")
        return (f"merge {sha[:7]}: its plan on #{number}, approved there by @{REVIEWER}, applied to prod: "
                "release 1 -> 2; " + self.app_keeps_state(self.notes["prod_url"]))

    def failing_commit(self) -> str:
        self.set_release("3")
        with (self.checkout / "main.tf").open("a") as main_tf:
            main_tf.write(FAILING_RESOURCE)
        sha = self.commit_and_push("Guestbook: release 3 behind a release gate", "main")
        run = self.one_run("plan-apply", "prod", sha)
        self.approve(run)
        done = self.finished(run, timeout=self.timeout * 2)
        record = done["record"]
        check(record["status"] in ("rolled-back", "rolled_back"),
              f"the run ended {done['status']} with status {record['status']}, not rolled back")
        check(self.release_of("prod") == "2", f"prod runs release {self.release_of('prod')}, not the last good 2")
        return (f"apply of {sha[:7]} failed; rolled back to the last good commit (release 2 again); "
                + self.app_keeps_state(self.notes["prod_url"]))

    def audit_history(self) -> str:
        history = self.ops.deps.audit_log.history(REPOSITORY, "prod")
        self.notes["history"] = history
        results = [r.result for r in history]
        check("applied" in results and any(r.action == "rollback" for r in history),
              f"the audit trail lacks an apply or a rollback: {results}")
        last_good = self.ops.deps.audit_log.last_good_commit(REPOSITORY, "prod")
        return f"{len(history)} records on branch tfpipe-audit ({', '.join(results)}); last good {str(last_good)[:7]}"


def when(epoch_seconds: float) -> str:
    """A date with its time (a TTL can cross midnight), in UTC like the pipeline's records."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch_seconds))


def _refused(url: str) -> bool:
    """Nothing listens there any more (a 5xx would still be an app answering)."""
    try:
        requests.get(url, timeout=3)
    except requests.ConnectionError:
        return True
    except requests.RequestException:
        return False
    return False


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code < 500
    except requests.RequestException:
        return False
