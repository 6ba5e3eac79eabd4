"""A merge to the default branch and the order commits reach prod, on the embedded stack: real Git in
the GitHub stand-in's bare repository, real webhooks to the intake, the real state machines and status
fan-out. Jobs are the scripted stand-in (`tests/workflows/job_standin.py`), not Terraform: these tests
are about where the plan shows, who finds the run, and which commit may apply.

Issue 13 items 4 and 5: PLAN-APPLY of a merge commit posts its plan on the merged pull request and
`/approve` there finds it; a PLAN-APPLY of a commit older than the one prod runs ends superseded."""

from __future__ import annotations

import json
import sys

import pytest

from chalicelib.core.comments import marker
from chalicelib.core.lock_queue import QueuedRun
from tests.commands.test_runs_on_the_stack import wait_for
from tests.fanout.test_fanout_on_the_stack import registered_stage
from tests.local.github_helpers import Clone
from tfpipe.local.stack import Stack
from tfpipe.operations import Operator
from tfpipe.target import Target

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
REPOSITORY = "acme/infra"
AUTHOR, APPROVER = "ada", "bob"  # ada opens and merges; bob, another writer, approves


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    standin = tmp_path_factory.mktemp("standin")
    with Stack(app="app:app", stage=registered_stage(), state_dir=tmp_path_factory.mktemp("tfpipe-state"),
               provision=True, extra_env={"TFPIPE_LOCK_WAIT": "1s"},
               job_command=[sys.executable, "-m", "tests.workflows.job_standin"],
               job_environment={"TFPIPE_STANDIN_LOG": str(standin / "jobs.jsonl")}) as running:
        running.standin_log = standin / "jobs.jsonl"
        yield running


@pytest.fixture(scope="module")
def ops(stack) -> Operator:
    return Operator(Target.from_state_dir(stack.state_dir))


@pytest.fixture(scope="module")
def work(stack, tmp_path_factory, ops) -> Clone:
    """A checkout of the repository whose first commit prod already runs (approved by an operator)."""
    bare = stack.create_repository(REPOSITORY)
    for user in (AUTHOR, APPROVER):
        stack.github_store.set_permission(REPOSITORY, user, "write")
    clone = Clone(bare, tmp_path_factory.mktemp("checkout") / "infra", user=AUTHOR)
    clone.git("checkout", "--quiet", "-b", "main")
    first = clone.commit("main.tf", "# release 1\n", "release 1")
    clone.push("main")
    apply(ops, run_of(ops, first))
    return clone


def run_of(ops: Operator, sha: str, seen: tuple[str, ...] = ()) -> dict:
    return wait_for(f"a PLAN-APPLY of {sha[:7]}", lambda: next(
        (r for r in ops.runs(REPOSITORY, "prod") if r["sha"] == sha and r["workflow"] == "plan-apply"
         and r["run_id"] not in seen), None), 60)


def ended(ops: Operator, run: dict) -> dict:
    return wait_for(f"run {run['run_id']} to end", lambda: (lambda r: r if r["status"] != "running" else None)(
        ops.run(run["run_id"])))


def apply(ops: Operator, run: dict) -> None:
    wait_for(f"run {run['run_id']} to ask for approval",
             lambda: ops.run(run["run_id"])["approval_state"] == "pending")
    assert ops.decide(run["run_id"], True).status == 200
    assert ended(ops, run)["status"] == "succeeded"


def jobs_of(stack, run_id: str) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in stack.standin_log.read_text().splitlines()] \
        if stack.standin_log.exists() else []
    return [(line["spec"]["action"], line["spec"]["sha"]) for line in lines if line["spec"]["run_id"] == run_id]


def comments(stack, number: int) -> list[dict]:
    return stack.github().show(REPOSITORY, number)["comments"]


def test_a_merged_pull_request_shows_the_plan_of_its_merge_and_approve_there_applies_it(stack, work, ops):
    work.git("checkout", "--quiet", "-b", "feature")
    work.commit("queue.tf", "# a queue\n", "add a queue")
    work.push("feature")
    pr, _ = stack.github().open(REPOSITORY, head="feature", user=AUTHOR, title="A queue")
    merged, status = stack.github().close(REPOSITORY, pr["number"], AUTHOR, merge=True)
    assert status == 202 and merged["merged"]

    run = run_of(ops, merged["merge_commit_sha"])
    assert run["pull_request"] == pr["number"]  # found through the merge commit's pull requests
    assert AUTHOR in run["requested_by"]
    plan = wait_for("the PLAN-APPLY comment asking for approval on the merged pull request", lambda: next(
        (c["body"] for c in comments(stack, pr["number"]) if marker("plan-apply") in c["body"]
         and "Approval needed" in c["body"]), None))
    assert f"/approve {run['run_id']}" in plan and "Plan: 1 to add, 0 to change, 0 to destroy." in plan

    stack.github().comment(REPOSITORY, pr["number"], "/approve", APPROVER)

    assert ended(ops, run)["status"] == "succeeded"
    assert ops.run(run["run_id"])["approver"] == APPROVER
    assert jobs_of(stack, run["run_id"]) == [("plan", merged["merge_commit_sha"]), ("apply", merged["merge_commit_sha"])]
    sha7 = merged["merge_commit_sha"][:7]
    wait_for("the merged pull request to say it was applied", lambda: any(
        marker("plan-apply") in c["body"] and f"applied {sha7} to prod" in c["body"] and "**Succeeded**" in c["body"]
        for c in comments(stack, pr["number"])))
    work.git("checkout", "--quiet", "main")
    work.git("pull", "--quiet", "origin", "main")


def test_a_late_webhook_for_an_older_commit_applies_nothing_and_ends_superseded(stack, work, ops):
    work.git("checkout", "--quiet", "main")
    before = work.git("rev-parse", "HEAD").strip()
    older = work.commit("a.tf", "# A\n", "commit A")
    newer = work.commit("b.tf", "# B\n", "commit B")
    work.push("main")  # one push webhook, for B
    applied = run_of(ops, newer)
    apply(ops, applied)

    # The push webhook for A arrives only now (GitHub redelivered it late, say).
    assert stack.github().push(REPOSITORY, "refs/heads/main", before, older, AUTHOR, f"{AUTHOR}@example.test") == 202
    late = ended(ops, run_of(ops, older))

    assert late["status"] == "superseded"
    assert jobs_of(stack, late["run_id"]) == []  # nothing planned, nothing applied
    assert ops.deps.locker.get(REPOSITORY, "prod") is None
    assert ops.deps.audit_log.last_good_commit(REPOSITORY, "prod") == newer
    said = wait_for("the commit status of A to say why", lambda: next(
        (s for s in stack.github_store.read(REPOSITORY)["statuses"] if s["sha"] == older and s["state"] == "error"),
        None), 60)
    assert f"an ancestor of {newer[:7]}, which prod already runs" in said["description"]

    # The commit prod runs may be applied again (the same commit is not older than itself).
    again = stack.github().push(REPOSITORY, "refs/heads/main", older, newer, AUTHOR, f"{AUTHOR}@example.test")
    assert again == 202
    rerun = run_of(ops, newer, seen=(applied["run_id"],))
    wait_for("the re-run to ask for approval", lambda: ops.run(rerun["run_id"])["approval_state"] == "pending")
    assert ops.decide(rerun["run_id"], False).status == 200
    assert ended(ops, rerun)["status"] == "rejected"


def lock_tries(ops: Operator, run: dict) -> int:
    return sum(1 for step in ops.history(run["run_id"])[1].steps if step["state"] == "AcquireLock")


def test_a_late_webhook_for_an_older_commit_supersedes_neither_the_newer_commits_queued_run_nor_its_approval(
        stack, work, ops):
    work.git("checkout", "--quiet", "main")
    work.git("pull", "--quiet", "origin", "main")
    ops.deps.locker.acquire(REPOSITORY, "prod", "maintenance")  # held by hand: nothing's approval to void
    before = work.git("rev-parse", "HEAD").strip()
    older = work.commit("c.tf", "# C\n", "commit C")
    newer = work.commit("d.tf", "# D\n", "commit D")
    work.push("main")  # the webhook for D
    queued = run_of(ops, newer)
    wait_for("D to wait for the lock", lambda: (ops.deps.locker.newest_in_line(REPOSITORY, "prod") or
                                                 QueuedRun("", 0)).run_id == queued["run_id"])
    stack.github().push(REPOSITORY, "refs/heads/main", before, older, AUTHOR, f"{AUTHOR}@example.test")  # late, for C
    late = run_of(ops, older)
    wait_for("C to queue after D", lambda: ops.deps.locker.newest_in_line(REPOSITORY, "prod").run_id == late["run_id"])
    tries = lock_tries(ops, queued)
    wait_for("D to try the lock twice more (or end)", lambda: lock_tries(ops, queued) >= tries + 2
             or ops.run(queued["run_id"])["status"] != "running")
    assert ops.run(queued["run_id"])["status"] == "running"  # the later-started run of C did not supersede D

    ops.deps.locker.force_release(REPOSITORY, "prod")

    def settled() -> bool:  # D and C take the lock in turn, whichever first; each one that plans is approved
        for r in (queued, late):
            if ops.run(r["run_id"])["approval_state"] == "pending":
                ops.decide(r["run_id"], True)
        return all(ops.run(r["run_id"])["status"] != "running" for r in (queued, late))

    wait_for("D and C to end", settled, 180)
    assert ended(ops, queued)["status"] == "succeeded"  # neither superseded nor its approval voided by C
    assert ended(ops, late)["status"] in ("superseded", "succeeded")
    assert ops.deps.audit_log.last_good_commit(REPOSITORY, "prod") == newer  # C never applied after D
    applied = [r.sha for r in ops.deps.audit_log.history(REPOSITORY, "prod") if r.result == "applied"]
    assert applied[-1] == newer


def test_a_late_webhook_for_an_older_commit_does_not_void_the_approval_the_newer_commit_waits_for(stack, work, ops):
    work.git("checkout", "--quiet", "main")
    work.git("pull", "--quiet", "origin", "main")
    before = work.git("rev-parse", "HEAD").strip()
    older = work.commit("e.tf", "# E\n", "commit E")
    newer = work.commit("f.tf", "# F\n", "commit F")
    work.push("main")  # the webhook for F
    waiting = run_of(ops, newer)
    wait_for("F to ask for approval", lambda: ops.run(waiting["run_id"])["approval_state"] == "pending")
    stack.github().push(REPOSITORY, "refs/heads/main", before, older, AUTHOR, f"{AUTHOR}@example.test")  # late, for E
    late = run_of(ops, older)
    wait_for("E to queue for the lock F holds",
             lambda: ops.deps.locker.newest_in_line(REPOSITORY, "prod").run_id == late["run_id"])
    tries = lock_tries(ops, late)
    wait_for("E to try the lock twice more (or F's approval to close)", lambda: lock_tries(ops, late) >= tries + 2
             or ops.run(waiting["run_id"])["approval_state"] != "pending")

    assert ops.run(waiting["run_id"])["approval_state"] == "pending"  # a newer plan voids it; an older one does not
    apply(ops, waiting)
    assert ended(ops, late)["status"] == "superseded"
    assert jobs_of(stack, late["run_id"]) == []
    assert ops.deps.audit_log.last_good_commit(REPOSITORY, "prod") == newer
