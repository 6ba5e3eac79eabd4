"""Trust tiers keep a pull request's plan and preview away from production's state, on the policies
Terraform renders: `terraform plan` of terraform/ (job roles, bucket policy) and of modules/deploy-role
in each target account (target roles), against moto.

Two checks, for what each can honestly evaluate:
- moto's own IAM enforcement (its INITIAL_NO_AUTH_ACTION_COUNT, switched on through /moto-api/reset-auth)
  judges real SigV4 requests signed with assumed-role credentials against the roles' identity policies
  (Action and Resource; moto ignores their conditions and, across accounts, trust policies);
- the bucket and trust policies, whose principals and conditions moto does not evaluate, go through a
  small evaluator (policy_eval.py), as if the target account granted its roles everything.

The example layout (terraform.tfvars.example): staging and the ephemeral environments share the preview
account, production has its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from tests.infra.policy_eval import decide
from tests.infra.terraform_cli import REPO, terraform_env

pytestmark = pytest.mark.terraform

if str(REPO / "executor") not in sys.path:  # the executor's inner package: the state keys it builds
    sys.path.insert(0, str(REPO / "executor"))
from executor.backend import state_location  # noqa: E402

PIPELINE = "123456789012"  # moto's default account: the pipeline's own
PREVIEW = "222222222222"  # the ephemeral pr-<N> environments, and staging
PROD = "333333333333"
ENVIRONMENTS = {"staging": PREVIEW, "prod": PROD}
STATE_BUCKET, ARTIFACTS_BUCKET = "tfpipe-dev-tfstate", "tfpipe-dev-artifacts"
KEYS = {env: state_location(STATE_BUCKET, "acme/infra", env, "pr-7" if env == "pr-7" else "default")
        for env in ("prod", "staging", "pr-7")}
# The same environments of a named project (`<owner>/<name>/<project>/...`, issue 14): IAM's `*` spans
# `/`, so the roles' key patterns cover them without a pattern of their own, and bind them the same way.
KEYS.update({f"network/{env}": state_location(STATE_BUCKET, "acme/infra", env, "pr-7" if env == "pr-7" else "default",
                                              project="network") for env in ("prod", "staging", "pr-7")})


def plan_json(root: Path, env: dict[str, str], *args: str) -> dict:
    def run(*command: str) -> str:
        result = subprocess.run(["terraform", *command], cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    run("init", "-backend=false", "-input=false", "-no-color")
    run("plan", "-input=false", "-no-color", "-lock=false", f"-state={root / 'none.tfstate'}",
        f"-out={root / 'plan.bin'}", *args)
    return json.loads(run("show", "-json", str(root / "plan.bin")))


def policies(plan: dict) -> dict[str, str]:
    """Address => JSON of every aws_iam_policy_document the plan read (each is known at plan time)."""
    return {r["address"]: r["values"]["json"] for r in plan["prior_state"]["values"]["root_module"]["resources"]
            if r["type"] == "aws_iam_policy_document"}


def planned(plan: dict, address: str) -> dict:
    return next(r["change"]["after"] for r in plan["resource_changes"] if r["address"] == address)


@pytest.fixture(scope="module")
def rendered(moto_server, tmp_path_factory):
    """The policies of terraform/ and of modules/deploy-role in the preview and production accounts."""
    from moto.stepfunctions.responses import StepFunctionResponse

    moto_server.reset()
    work = tmp_path_factory.mktemp("isolation")
    ignore = shutil.ignore_patterns(".terraform*", "chalice.tf.json", "deployment.zip", "__pycache__")
    shutil.copytree(REPO / "terraform", work / "terraform", ignore=ignore)
    shutil.copytree(REPO / "statemachines", work / "statemachines")
    env = terraform_env(AWS_ENDPOINT_URL=moto_server.url)
    with pytest.MonkeyPatch.context() as patch:  # moto 5.2.5 lacks it; the provider calls it while planning
        patch.setattr(StepFunctionResponse, "validate_state_machine_definition",
                      lambda self: json.dumps({"result": "OK", "diagnostics": []}), raising=False)
        root = plan_json(work / "terraform", {**env, "TF_DATA_DIR": str(work / "root-data")},
                         '-var=subnet_ids=["subnet-12345678"]', f"-var=environments={json.dumps(ENVIRONMENTS)}",
                         f"-var=ephemeral_account_id={PREVIEW}", "-var=ephemeral_shared_account=allow")
    job_roles = {tier: f"arn:aws:iam::{PIPELINE}:role/" + planned(root, 'aws_iam_role.job["' + tier + '"]')["name"]
                 for tier in ("plan", "preview", "apply")}
    accounts = {}
    for account, variables in {PREVIEW: {"environments": ["staging"], "preview": True},
                               PROD: {"environments": ["prod"], "preview": False}}.items():
        module = work / f"deploy-role-{account}"
        shutil.copytree(REPO / "terraform" / "modules" / "deploy-role", module, ignore=ignore)
        (module / "terraform.tfvars.json").write_text(json.dumps({
            **variables, "pipeline_job_role_arns": job_roles,
            "pipeline_buckets": {"state_bucket": STATE_BUCKET, "artifacts_bucket": ARTIFACTS_BUCKET,
                                 "kms_key_arn": f"arn:aws:kms:us-east-1:{PIPELINE}:key/pipeline"}}))
        plan = plan_json(module, {**env, "TF_DATA_DIR": str(module / ".data")})
        docs = policies(plan)
        accounts[account] = {
            planned(plan, f'aws_iam_role.this["{key}"]')["name"]: {
                "trust": docs[f'data.aws_iam_policy_document.trust["{key}"]'],
                "policy": docs[f'data.aws_iam_policy_document.pipeline_buckets["{key}"]']}
            for key in ("plan", "deploy", "preview") if f'data.aws_iam_policy_document.trust["{key}"]' in docs}
    docs = policies(root)
    return {"job_roles": job_roles, "accounts": accounts,
            "state_bucket": docs['data.aws_iam_policy_document.bucket_access["state"]'],
            "job_tier": {t: docs[f'data.aws_iam_policy_document.job_tier["{t}"]'] for t in job_roles}}


# ---- moto's IAM enforcement ----------------------------------------------------------------------

def client(service: str, endpoint: str, credentials: dict | None = None):
    keys = ({"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
             "aws_session_token": credentials["SessionToken"]} if credentials else
            {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": None})
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", **keys)


@pytest.fixture
def world(moto_endpoint, rendered):
    """The buckets with state of prod, staging and pr-7; the roles as rendered; a session of each tier's job
    role (as ECS hands it to the job). Then moto enforces IAM until the test ends."""
    s3 = client("s3", moto_endpoint)
    for bucket in (STATE_BUCKET, ARTIFACTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    for location in KEYS.values():
        s3.put_object(Bucket=STATE_BUCKET, Key=location.state_key, Body=b"{}")
    iam = client("iam", moto_endpoint)
    for tier, arn in rendered["job_roles"].items():
        name = arn.rsplit("/", 1)[1]
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName=name, PolicyName="tier", PolicyDocument=rendered["job_tier"][tier])
    for account, roles in rendered["accounts"].items():
        admin = client("sts", moto_endpoint).assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup",
                                                         RoleSessionName="setup")["Credentials"]
        for name, role in roles.items():
            client("iam", moto_endpoint, admin).create_role(RoleName=name, AssumeRolePolicyDocument=role["trust"])
            client("iam", moto_endpoint, admin).put_role_policy(RoleName=name, PolicyName="tfpipe-state-and-artifacts",
                                                                PolicyDocument=role["policy"])
    jobs = {tier: client("sts", moto_endpoint).assume_role(RoleArn=arn, RoleSessionName=f"job-{tier}")["Credentials"]
            for tier, arn in rendered["job_roles"].items()}
    requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        yield jobs
    finally:
        requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()


def assume(endpoint: str, job: dict, account: str, role: str) -> dict | None:
    """The target role's credentials, or None when moto refuses the job's session the AssumeRole."""
    try:
        return client("sts", endpoint, job).assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}",
                                                        RoleSessionName="tfpipe-run")["Credentials"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        return None


def can(s3, operation: str, key: str, bucket: str = STATE_BUCKET) -> bool:
    try:
        if operation == "read":
            s3.get_object(Bucket=bucket, Key=key)
        else:
            s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
        return True
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied"
        return False


def test_a_preview_job_reaches_only_the_preview_role_which_cannot_read_production_or_staging_state(world, moto_endpoint):
    job = world["preview"]
    assert assume(moto_endpoint, job, PROD, "tfpipe-deploy") is None
    assert assume(moto_endpoint, job, PREVIEW, "tfpipe-deploy") is None  # staging's, in the same account
    assert assume(moto_endpoint, job, PROD, "tfpipe-plan") is None
    preview = client("s3", moto_endpoint, assume(moto_endpoint, job, PREVIEW, "tfpipe-preview"))
    assert not can(preview, "read", KEYS["prod"].state_key)
    assert not can(preview, "write", KEYS["prod"].state_key)
    assert not can(preview, "read", KEYS["staging"].state_key)
    assert not can(preview, "write", KEYS["staging"].lock_key)
    assert can(preview, "read", KEYS["pr-7"].state_key) and can(preview, "write", KEYS["pr-7"].lock_key)
    assert not can(preview, "read", KEYS["network/prod"].state_key)
    assert not can(preview, "write", KEYS["network/staging"].lock_key)
    assert can(preview, "read", KEYS["network/pr-7"].state_key) and can(preview, "write", KEYS["network/pr-7"].lock_key)


def test_a_plan_job_reads_state_through_the_plan_role_and_can_write_no_state_or_lock(world, moto_endpoint):
    job = world["plan"]
    assert assume(moto_endpoint, job, PROD, "tfpipe-deploy") is None
    assert assume(moto_endpoint, job, PREVIEW, "tfpipe-preview") is None
    plan = client("s3", moto_endpoint, assume(moto_endpoint, job, PROD, "tfpipe-plan"))
    assert can(plan, "read", KEYS["prod"].state_key)
    assert not can(plan, "write", KEYS["prod"].state_key) and not can(plan, "write", KEYS["prod"].lock_key)
    assert not can(plan, "read", KEYS["staging"].state_key)  # another account's environment
    assert can(plan, "read", KEYS["network/prod"].state_key) and not can(plan, "write", KEYS["network/prod"].lock_key)
    own = client("s3", moto_endpoint, job)  # the job role itself: no state at all, only its tier's artifacts
    assert not can(own, "read", KEYS["prod"].state_key) and not can(own, "write", KEYS["pr-7"].state_key)
    assert can(own, "write", "runs/plan/plan-prod-1/plan.tfplan", ARTIFACTS_BUCKET)
    assert not can(own, "read", "runs/apply/plan-apply-prod-1/plan.tfplan", ARTIFACTS_BUCKET)
    assert not can(own, "write", "runs/apply/plan-apply-prod-1/plan.tfplan", ARTIFACTS_BUCKET)


def test_an_apply_job_deploys_production_through_its_deploy_role_and_nothing_ephemeral(world, moto_endpoint):
    job = world["apply"]
    assert assume(moto_endpoint, job, PREVIEW, "tfpipe-preview") is None
    deploy = client("s3", moto_endpoint, assume(moto_endpoint, job, PROD, "tfpipe-deploy"))
    assert can(deploy, "write", KEYS["prod"].lock_key) and can(deploy, "read", KEYS["prod"].state_key)
    assert not can(deploy, "read", KEYS["pr-7"].state_key) and not can(deploy, "read", KEYS["staging"].state_key)
    assert can(deploy, "write", KEYS["network/prod"].lock_key) and not can(deploy, "read", KEYS["network/pr-7"].state_key)


# ---- bucket and trust policies (policy_eval.py) ----------------------------------------------------

def state_object(location) -> str:
    return f"arn:aws:s3:::{STATE_BUCKET}/{location.state_key}"


@pytest.mark.parametrize(("account", "role", "action", "environment", "decision"), [
    (PREVIEW, "tfpipe-preview", "s3:GetObject", "prod", "Deny"),
    (PREVIEW, "tfpipe-preview", "s3:GetObject", "staging", "Deny"),
    (PREVIEW, "tfpipe-preview", "s3:PutObject", "prod", "Deny"),
    (PREVIEW, "tfpipe-preview", "s3:PutObject", "pr-7", "Allow"),
    (PROD, "tfpipe-plan", "s3:GetObject", "prod", "Allow"),
    (PROD, "tfpipe-plan", "s3:PutObject", "prod", "Deny"),
    (PROD, "tfpipe-plan", "s3:GetObject", "staging", "Deny"),
    (PREVIEW, "tfpipe-plan", "s3:PutObject", "pr-7", "Deny"),
    (PROD, "tfpipe-deploy", "s3:PutObject", "prod", "Allow"),
    (PROD, "tfpipe-deploy", "s3:GetObject", "pr-7", "Deny"),
    (PREVIEW, "tfpipe-deploy", "s3:PutObject", "prod", "Deny"),
    (PIPELINE, "tfpipe-preview", "s3:GetObject", "prod", "Deny"),  # even a same-account preview role
    ("444444444444", "tfpipe-deploy", "s3:GetObject", "prod", "None"),  # an undeclared account: no grant
    (PREVIEW, "tfpipe-preview", "s3:PutObject", "network/pr-7", "Allow"),  # a named project's keys alike
    (PREVIEW, "tfpipe-preview", "s3:GetObject", "network/prod", "Deny"),
    (PREVIEW, "tfpipe-preview", "s3:PutObject", "network/staging", "Deny"),
    (PROD, "tfpipe-deploy", "s3:PutObject", "network/prod", "Allow"),
    (PROD, "tfpipe-deploy", "s3:GetObject", "network/pr-7", "Deny"),
    (PROD, "tfpipe-plan", "s3:PutObject", "network/prod", "Deny"),
])
def test_the_state_bucket_policy_binds_each_role_to_its_environments_whatever_its_account_grants_it(
        rendered, account, role, action, environment, decision):
    got = decide(rendered["state_bucket"], f"arn:aws:iam::{account}:role/{role}", action, state_object(KEYS[environment]))
    assert got == decision


def test_no_target_role_may_write_the_default_workspace_key_every_ephemeral_init_reads(rendered):
    bare = f"arn:aws:s3:::{STATE_BUCKET}/{KEYS['pr-7'].key}"
    assert decide(rendered["state_bucket"], f"arn:aws:iam::{PREVIEW}:role/tfpipe-preview", "s3:GetObject", bare) == "Allow"
    for role in ("tfpipe-preview", "tfpipe-deploy", "tfpipe-plan"):
        assert decide(rendered["state_bucket"], f"arn:aws:iam::{PREVIEW}:role/{role}", "s3:PutObject", bare) == "Deny"


def test_each_target_role_trusts_only_its_own_tiers_job_role(rendered):
    tier_of = {"tfpipe-plan": "plan", "tfpipe-preview": "preview", "tfpipe-deploy": "apply"}
    seen = set()
    for roles in rendered["accounts"].values():
        for name, role in roles.items():
            for tier, job_role in rendered["job_roles"].items():
                expected = "Allow" if tier == tier_of[name] else "None"
                assert decide(role["trust"], job_role, "sts:AssumeRole", "*") == expected, (name, tier)
            seen.add(name)
    assert seen == set(tier_of)
    assert set(rendered["accounts"][PROD]) == {"tfpipe-plan", "tfpipe-deploy"}  # no preview role in production


def secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:us-east-1:{PIPELINE}:secret:{name}-AbCdEf"  # Secrets Manager's 6-char suffix


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:us-east-1:{PIPELINE}:table/{name}"


def test_no_job_role_reads_the_pipelines_secrets_only_its_repositories_and_only_its_own_token_item(rendered):
    """A pull request's code runs in plan and preview jobs: the GitHub token (which could comment /approve
    as the bot) and the webhook secret are out of every job role's reach; a job fetches its task token
    from the tokens table and may not write or list it (moto evaluates no resource-level grants for
    Secrets Manager or DynamoDB, so these go through the evaluator)."""
    for tier, job_role in rendered["job_roles"].items():
        policy = rendered["job_tier"][tier]

        def decision(action: str, resource: str, policy=policy, job_role=job_role) -> str:
            return decide(policy, job_role, action, resource)

        for pipelines in ("tfpipe/dev/github-token", "tfpipe/dev/github-webhook-secret", "tfpipe/dev/slack-webhook-url"):
            assert decision("secretsmanager:GetSecretValue", secret_arn(pipelines)) == "None", (tier, pipelines)
        assert decision("secretsmanager:GetSecretValue", secret_arn("tfpipe/dev/repos/acme/infra/db")) == "Allow"
        tokens = table_arn("tfpipe-dev-tokens")
        assert decision("dynamodb:GetItem", tokens) == "Allow" and decision("dynamodb:DeleteItem", tokens) == "Allow"
        for action in ("dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:UpdateItem"):
            assert decision(action, tokens) == "None", (tier, action)
        assert decision("dynamodb:GetItem", table_arn("tfpipe-dev-runs")) == "None"  # approval tokens live there


def test_the_evaluator_tells_an_allow_from_a_deny_from_nothing():
    policy = {"Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a/*",
         "Principal": {"AWS": "arn:aws:iam::111111111111:root"}},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/a/*", "Principal": {"AWS": "*"},
         "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/r"}}}]}
    assert decide(policy, "arn:aws:iam::111111111111:role/x", "s3:GetObject", "arn:aws:s3:::b/a/k") == "Allow"
    assert decide(policy, "arn:aws:iam::222222222222:role/x", "s3:GetObject", "arn:aws:s3:::b/a/k") == "None"
    assert decide(policy, "arn:aws:iam::222222222222:role/r", "s3:GetObject", "arn:aws:s3:::b/c/k") == "Deny"
