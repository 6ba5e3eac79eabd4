"""PLAN-APPLY with rollback, APPLY EPHEMERAL with its TTL and DESTROY, end to end with the real executor:
the real state machines and task Lambdas, the local Batch service running `python -m executor`,
real Terraform and real Git, state in moto's S3, resources in moto."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from chalicelib.core.workflows import Command, Workflow
from chalicelib.tasks import approval
from tests.workflows.conftest import ACCOUNT, execution_of

pytestmark = [pytest.mark.e2e, pytest.mark.terraform]

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "tests" / "executor" / "infra"  # the executor's small configuration (an SSM parameter)
STATE_BUCKET = "tfpipe-test-tfstate"
ARTIFACTS_BUCKET = "tfpipe-test-artifacts"


class InfraRepository:
    """acme/infra as a bare Git repository where the pipeline's clone URL points (TFPIPE_LOCAL_GIT_ROOT)."""

    def __init__(self, git_root: Path, work: Path):
        self.bare = git_root / "acme" / "infra.git"
        self.work = work
        shutil.copytree(INFRA, work)
        subprocess.run(["git", "init", "--quiet", "--bare", str(self.bare)], check=True)
        self._git("init", "--quiet", "--initial-branch=main")

    def _git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
        return subprocess.run(["git", "-C", str(self.work), *args], check=True, capture_output=True, text=True,
                              env=env).stdout.strip()

    def commit(self, tfvars: dict[str, str], message: str) -> str:
        for environment, text in tfvars.items():
            (self.work / "environments" / f"{environment}.tfvars").write_text(text)
        self._git("add", "-A")
        self._git("commit", "--quiet", "--allow-empty", "-m", message)
        self._git("push", "--quiet", str(self.bare), "HEAD:refs/heads/main")
        return self._git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def executor(pipeline, tmp_path_factory, request):
    """A job definition running the real executor, its buckets, and the infrastructure repository."""
    # Not below pytest's private temporary directory: the executor's work user must pass through it.
    jobs = Path(tempfile.mkdtemp(prefix="tfpipe-jobs-"))
    jobs.chmod(0o711)
    request.addfinalizer(lambda: shutil.rmtree(jobs, ignore_errors=True))
    stack = pipeline.stack
    s3 = stack.client("s3")
    for bucket in (STATE_BUCKET, ARTIFACTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    environment = {
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "executor"), str(REPO_ROOT)]),
        "TFPIPE_STAGE": "test", "TFPIPE_STATE_BUCKET": STATE_BUCKET, "TFPIPE_ARTIFACTS_BUCKET": ARTIFACTS_BUCKET,
        "TFPIPE_STATUS_QUEUE_URL": pipeline.settings["TFPIPE_STATUS_QUEUE_URL"],
        "TFPIPE_TOKENS_TABLE": pipeline.settings["TFPIPE_TOKENS_TABLE"],
        "TFPIPE_JOB_HEARTBEAT": "5s", "TFPIPE_JOB_LOCK_TIMEOUT": "30s", "TFPIPE_TRACING": "off",
        "TFPIPE_JOB_WORK_DIR": str(jobs)}
    definition = stack.client("batch").register_job_definition(
        jobDefinitionName="tfpipe-test-executor", type="container", platformCapabilities=["FARGATE"],
        containerProperties={"image": "tfpipe-executor", "command": [sys.executable, "-m", "executor"],
                             "environment": [{"name": k, "value": v} for k, v in environment.items()],
                             "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                      {"type": "MEMORY", "value": "2048"}]})["jobDefinitionArn"]
    repository = InfraRepository(Path(pipeline.settings["TFPIPE_LOCAL_GIT_ROOT"]), tmp_path_factory.mktemp("w") / "infra")
    # The pipeline picks the job definition by tier (the requests name this one too): every tier runs it here.
    with pipeline.changed_settings(TFPIPE_JOB_DEFINITION_ARN=definition):
        yield definition, repository


def parameter(pipeline, name: str) -> str | None:
    ssm = pipeline.stack.client("ssm")
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None


def apply_approved(pipeline, run) -> dict:
    pipeline.start(run)
    pipeline.wait_for_approval(run)
    approval.decide(pipeline.deps, run.run_id, True, "lead@example.com")
    return pipeline.wait(run, timeout=240)


def test_plan_apply_rolls_back_to_the_last_good_commit_with_the_real_executor(pipeline, executor):
    definition, repository = executor
    good = repository.commit({"e2e-real": 'message = "good"\n'}, "a good commit")
    first = pipeline.run(Command.APPLY, "e2e-real", sha=good, key="good", job_definition=definition, account=ACCOUNT)
    assert apply_approved(pipeline, first)["status"] == "SUCCEEDED", pipeline.event_bodies(first)[-1]
    assert parameter(pipeline, "/tfpipe-test/default/message") == "good"

    bad = repository.commit({"e2e-real": 'message = "bad"\nfail_apply = true\n'}, "a commit that fails to apply")
    second = pipeline.run(Command.APPLY, "e2e-real", sha=bad, key="bad", job_definition=definition, account=ACCOUNT)
    assert apply_approved(pipeline, second)["status"] == "FAILED"

    events = pipeline.events(second)
    assert ("apply", "failed") in events and events[-1] == ("rollback", "rolled-back")
    assert pipeline.jobs_of(second.run_id) == []  # the scripted stand-in never ran: the executor did
    assert parameter(pipeline, "/tfpipe-test/default/message") == "good"
    history = pipeline.deps.audit_log.history("acme/infra", "e2e-real")
    assert [(r.action, r.sha, r.result) for r in history] == [
        ("apply", good, "applied"), ("apply", bad, "failed"), ("rollback", good, "rolled-back-to")]
    assert pipeline.lock("e2e-real") is None


def test_ephemeral_apply_then_its_ttl_destroys_it_with_the_real_executor(pipeline, executor):
    definition, repository = executor
    sha = repository.commit({"pr-41": 'message = "preview"\n'}, "a pull request's head")
    run = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-41", sha=sha, pull_request=41, ttl_seconds=5,
                                      job_definition=definition, account=ACCOUNT))
    assert pipeline.wait(run, timeout=240)["status"] == "SUCCEEDED", pipeline.event_bodies(run)[-1]
    assert parameter(pipeline, "/tfpipe-test/pr-41/message") == "preview"
    ready = [e for e in pipeline.event_bodies(run) if e["phase"] == "schedule"][-1]
    assert ready["details"]["outputs"]["message_parameter"] == "/tfpipe-test/pr-41/message"

    destroy_run_id = pipeline.deps.runs.get_environment("acme/infra", "pr-41").destroy_input["run_id"]
    arn = pipeline.wait_until("the TTL schedule to start DESTROY",
                              lambda: execution_of(pipeline, Workflow.DESTROY, destroy_run_id), timeout=60)
    pipeline.wait_until("DESTROY to end", lambda: pipeline.sfn.describe_execution(executionArn=arn)["status"]
                        != "RUNNING", timeout=240)
    assert pipeline.sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    assert parameter(pipeline, "/tfpipe-test/pr-41/message") is None
    assert pipeline.deps.runs.get_environment("acme/infra", "pr-41") is None
    assert pipeline.lock("pr-41") is None
    destroyed = pipeline.deps.audit_log.history("acme/infra", "pr-41")[-1]  # unattended, and it says why
    assert (destroyed.action, destroyed.result, destroyed.approver) == ("destroy", "destroyed", None)
    assert destroyed.approval_not_needed == "pr-41 is an ephemeral environment (pr-<N>): its changes need no approval"


def test_destroy_of_a_long_lived_environment_applies_only_its_approved_destroy_plan_with_the_real_executor(
        pipeline, executor):
    definition, repository = executor
    account = "210987654321"  # its own account: the other tests' environments use the same parameter name
    ssm, name = pipeline.stack.client_in(account, "ssm"), "/tfpipe-test/default/message"
    sha = repository.commit({"e2e-gone": 'message = "long-lived"\n'}, "an environment someone wants gone")
    up = pipeline.run(Command.APPLY, "e2e-gone", sha=sha, key="up", job_definition=definition, account=account)
    assert apply_approved(pipeline, up)["status"] == "SUCCEEDED", pipeline.event_bodies(up)[-1]
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "long-lived"

    def destroy(key: str):
        return pipeline.start(pipeline.run(Command.DESTROY, "e2e-gone", sha=sha, key=key, job_definition=definition,
                                           account=account))

    rejected = destroy("rejected")
    pipeline.wait_for_approval(rejected)
    asked = pipeline.event_bodies(rejected)[-1]
    assert asked["message"] == "approval needed to destroy e2e-gone: 0 to add, 0 to change, 1 to destroy"
    assert ssm.get_parameter(Name=name)  # the destroy plan destroyed nothing
    approval.decide(pipeline.deps, rejected.run_id, False, "lead@example.com")
    assert pipeline.wait(rejected)["status"] == "SUCCEEDED"
    assert pipeline.event_bodies(rejected)[-1]["message"] == (
        "destroy of e2e-gone rejected by lead@example.com; nothing destroyed")
    assert pipeline.deps.runs.get(rejected.run_id).status == "rejected"
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "long-lived"
    assert pipeline.lock("e2e-gone") is None
    assert "Destroy" not in pipeline.states(rejected)  # the unattended destroy is for pr-<N> only

    approved = destroy("approved")
    pipeline.wait_for_approval(approved)
    assert ssm.get_parameter(Name=name)  # still there while it waits
    approval.decide(pipeline.deps, approved.run_id, True, "lead@example.com")
    assert pipeline.wait(approved, timeout=240)["status"] == "SUCCEEDED", pipeline.event_bodies(approved)[-1]
    assert ssm.get_parameters(Names=[name])["InvalidParameters"] == [name]
    assert [s for s in pipeline.states(approved) if s in ("PlanDestroy", "RequestApproval", "ApplyDestroy",
                                                          "Destroy")] == ["PlanDestroy", "RequestApproval",
                                                                          "ApplyDestroy"]
    planned = [e for e in pipeline.event_bodies(approved) if e["phase"] == "plan" and e["status"] == "succeeded"]
    last = pipeline.deps.audit_log.history("acme/infra", "e2e-gone")[-1]
    assert (last.action, last.sha, last.result, last.approver) == ("destroy", sha, "destroyed", "lead@example.com")
    assert last.plan_checksum and last.artifacts["plan"] == planned[-1]["artifacts"]["plan"]  # the plan approved
    assert pipeline.lock("e2e-gone") is None

    nothing = destroy("nothing-left")  # a plan with no changes needs no approval
    assert pipeline.wait(nothing, timeout=240)["status"] == "SUCCEEDED", pipeline.event_bodies(nothing)[-1]
    assert pipeline.event_bodies(nothing)[-1]["message"] == (
        "nothing to destroy: the destroy plan of e2e-gone has no changes")
    assert "RequestApproval" not in pipeline.states(nothing)


PREVIEW_ACCOUNT = "210987654321"


def queue_urls(client, name: str) -> list[str]:
    return client.list_queues(QueueNamePrefix=name).get("QueueUrls", [])


# Previews beside long-lived environment e2e-real, knowingly (TFPIPE_EPHEMERAL_SHARED_ACCOUNT=allow). The
# configuration names its parameter after the workspace, so long-lived environments here share one: e2e-real.
SHARED_ACCOUNT_SETTINGS = {
    "TFPIPE_ENVIRONMENTS": f'{{"e2e-real": "{ACCOUNT}"}}', "TFPIPE_EPHEMERAL_ACCOUNT_ID": ACCOUNT,
    "TFPIPE_EPHEMERAL_SHARED_ACCOUNT": "allow", "TFPIPE_STATE_BUCKET": STATE_BUCKET,
    "TFPIPE_ARTIFACTS_BUCKET": ARTIFACTS_BUCKET}


def test_a_preview_sharing_prods_account_that_would_create_prods_queue_is_refused_before_apply(pipeline, executor):
    definition, repository = executor
    shared = SHARED_ACCOUNT_SETTINGS
    # A careless configuration: the queue's name is fixed, not the workspace's.
    sha = repository.commit({"e2e-real": 'queue_name = "acme-orders"\n', "pr-43": 'queue_name = "acme-orders"\n'},
                            "a queue named the same in every environment")
    sqs = pipeline.stack.client("sqs")
    with pipeline.changed_settings(**shared):
        prod = pipeline.run(Command.APPLY, "e2e-real", sha=sha, key="shared", job_definition=definition,
                            account=ACCOUNT)
        assert apply_approved(pipeline, prod)["status"] == "SUCCEEDED", pipeline.event_bodies(prod)[-1]
        [prods_queue] = queue_urls(sqs, "acme-orders")
        sqs.tag_queue(QueueUrl=prods_queue, Tags={"owner": "e2e-real"})

        preview = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-43", sha=sha, pull_request=43, ttl_seconds=3600,
                                              job_definition=definition, account=ACCOUNT))
        assert pipeline.wait(preview, timeout=240)["status"] == "FAILED"

    message = pipeline.event_bodies(preview)[-1]["message"]
    assert message.startswith(f"apply of {sha[:7]} to pr-43 refused, nothing applied: PreviewCollision: "), message
    assert ('aws_sqs_queue.jobs[0] (name = "acme-orders") is e2e-real\'s aws_sqs_queue.jobs[0]' in message
            and "TFPIPE_EPHEMERAL_SHARED_ACCOUNT=allow" in message), message
    states = pipeline.states(preview)
    assert "PublishCollision" in states and "ApplyPlanned" not in states and "DestroyCreated" not in states
    assert parameter(pipeline, "/tfpipe-test/pr-43/message") is None  # nothing of the preview was applied
    assert queue_urls(sqs, "acme-orders") == [prods_queue]  # prod's queue untouched, not destroyed
    assert sqs.list_queue_tags(QueueUrl=prods_queue)["Tags"] == {"owner": "e2e-real"}
    assert pipeline.deps.runs.get_environment("acme/infra", "pr-43") is None
    assert pipeline.lock("pr-43") is None


def test_a_preview_sharing_prods_account_with_names_of_its_own_applies_the_checked_plan(pipeline, executor):
    definition, repository = executor
    sha = repository.commit({"pr-45": 'message = "beside prod"\nqueue_name = "pr-45-orders"\n'},
                            "a preview naming its queue after itself")
    with pipeline.changed_settings(**SHARED_ACCOUNT_SETTINGS):
        run = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-45", sha=sha, pull_request=45, ttl_seconds=3600,
                                          job_definition=definition, account=ACCOUNT))
        assert pipeline.wait(run, timeout=240)["status"] == "SUCCEEDED", pipeline.event_bodies(run)[-1]

    states = pipeline.states(run)
    assert [s for s in states if s in ("Plan", "CheckCollisions", "ApplyPlanned", "Apply")] == [
        "Plan", "CheckCollisions", "ApplyPlanned"]
    assert parameter(pipeline, "/tfpipe-test/pr-45/message") == "beside prod"
    assert queue_urls(pipeline.stack.client("sqs"), "pr-45-orders")
    assert pipeline.lock("pr-45") is None


def test_a_preview_in_its_own_account_lands_there_and_not_in_prods(pipeline, executor):
    definition, repository = executor
    sha = repository.commit({"pr-44": 'message = "own account"\n'}, "a pull request's head")
    run = pipeline.start(pipeline.run(Command.EPHEMERAL, "pr-44", sha=sha, pull_request=44, ttl_seconds=3600,
                                      job_definition=definition, account=PREVIEW_ACCOUNT))
    assert pipeline.wait(run, timeout=240)["status"] == "SUCCEEDED", pipeline.event_bodies(run)[-1]

    preview_ssm = pipeline.stack.client_in(PREVIEW_ACCOUNT, "ssm")  # that account's own credentials
    assert preview_ssm.get_parameter(Name="/tfpipe-test/pr-44/message")["Parameter"]["Value"] == "own account"
    assert parameter(pipeline, "/tfpipe-test/pr-44/message") is None  # nothing in prod's account
