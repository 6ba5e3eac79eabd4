"""Provisioning the pipeline's resources in moto from the names Terraform uses (terraform/names.json)
and the state machines in statemachines/*.asl.json with their ${Placeholders} substituted.

Answers the TFPIPE_* settings the app's functions get (Terraform's `lambda_environment`, locally)
and the job definition's environment: the names, ARNs and URLs of what it created (`wiring`, never
the user's to choose), and the settings a deployment chooses in terraform.tfvars, where the user
chose none (`default_settings`). Mirrors terraform/*.tf where a value is not in names.json
(queue redrive, job definition shape); the embedded stack stands in for Fargate with an UNMANAGED
compute environment whose jobs the local Batch service runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.core.tiers import Tier
from tfpipe.local.chalice_functions import REPO_ROOT

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_ASSUME = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
# As terraform/sqs.tf: status consumers get 6 minutes, a message is dead-lettered after 5 receives.
STATUS_QUEUE_ATTRIBUTES = {"VisibilityTimeout": "360", "MessageRetentionPeriod": "345600"}
STATUS_MAX_RECEIVES = 5
JOB_COMMAND = ["python", "-m", "executor"]  # the executor image's ENTRYPOINT (executor/Dockerfile)
# The roles jobs assume in a target account, by tier (terraform/modules/deploy-role, settings' defaults),
# and the settings that may rename them.
TARGET_ROLES = {Tier.PLAN: "tfpipe-plan", Tier.PREVIEW: "tfpipe-preview", Tier.APPLY: "tfpipe-deploy"}
TARGET_ROLE_SETTINGS = {Tier.PLAN: "TFPIPE_PLAN_ROLE_NAME", Tier.PREVIEW: "TFPIPE_PREVIEW_ROLE_NAME",
                        Tier.APPLY: "TFPIPE_DEPLOY_ROLE_NAME"}
PREVIEW_ACCOUNT = "210987654321"  # where the embedded stack's pr-<N> environments live (prod: moto's default)
LOCAL_GITHUB_TOKEN = "local-github-token"  # noqa: S105 - the stand-in accepts any token


class ProvisionError(Exception):
    pass


@dataclass
class Provisioned:
    env: dict[str, str] = field(default_factory=dict)  # TFPIPE_* for the app's functions
    resources: dict[str, str] = field(default_factory=dict)  # names.json key -> name, URL or ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # workflow -> ARN
    wiring: frozenset[str] = frozenset()  # the names in env that point at what was provisioned


def default_settings(account: str, preview_account: str) -> dict[str, str]:
    """What the embedded stack runs with where the user chose nothing (terraform.tfvars chooses these
    in AWS): every repository, `prod` in moto's default account and the ephemeral environments in an
    account of their own (moto keeps each account's resources apart: a job's assumed-role credentials
    work in the role's account), and the deploy role provisioning creates."""
    return {"TFPIPE_ALLOWED_REPOSITORIES": "*/*", "TFPIPE_ENVIRONMENTS": json.dumps({"prod": account}),
            "TFPIPE_EPHEMERAL_ACCOUNT_ID": preview_account,
            # Previews in prod's account are refused unless allowed (docs/security.md), as in AWS.
            "TFPIPE_EPHEMERAL_SHARED_ACCOUNT": "refuse",
            # No repository gets a secret until the operator declares it (docs/security.md, Secrets).
            "TFPIPE_REPOSITORY_SECRETS": "{}",
            # A fork's or a non-writer's pull request waits for a writer's `/plan` (docs/security.md).
            "TFPIPE_UNTRUSTED_PRS": "ask",
            # Nobody approves their own change, as in AWS (terraform/variables.tf allow_self_approval).
            "TFPIPE_ALLOW_SELF_APPROVAL": "false",
            **{setting: TARGET_ROLES[tier] for tier, setting in TARGET_ROLE_SETTINGS.items()}}


def load_names(repo_root: Path = REPO_ROOT) -> dict:
    path = repo_root / "terraform" / "names.json"
    if not path.exists():
        raise ProvisionError(f"provisioning the embedded stack: {path} is missing (the names Terraform uses)")
    return json.loads(path.read_text())


def expand(template: str, app: str, stage: str) -> str:
    return template.replace("{app}", app).replace("{stage}", stage)


def substitute(text: str, values: dict[str, str], source: str) -> str:
    """Fill every ${Placeholder}; one that nothing supplies is an error naming it and the file."""
    missing = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise ProvisionError(f"provisioning the state machine {source}: nothing supplies "
                             f"{', '.join('${' + m + '}' for m in missing)} (see statemachines/placeholders.json)")
    return _PLACEHOLDER.sub(lambda m: values[m[1]], text)


def placeholder_values(doc: dict, repo_root: Path, app: str, stage: str, region: str, account: str) -> dict[str, str]:
    functions = dict(doc.get("asl_functions", {}))
    table = repo_root / "statemachines" / "placeholders.json"
    if table.exists():
        functions.update(json.loads(table.read_text()).get("functions", {}))
    pattern = doc.get("lambda_function", "{app}-{stage}-{function}")
    return {placeholder: f"arn:aws:lambda:{region}:{account}:function:"
                         f"{expand(pattern, app, stage).replace('{function}', function)}"
            for placeholder, function in functions.items()}


class Provisioner:
    def __init__(self, client: Callable[[str], Any], app: str, stage: str, region: str, account: str,
                 repo_root: Path = REPO_ROOT, preview_account: str = PREVIEW_ACCOUNT):
        self._client = client
        self.app = app
        self.stage = stage
        self.region = region
        self.account = account
        self.preview_account = preview_account
        self.repo_root = repo_root
        self.doc = load_names(repo_root)
        self.names = {key: expand(r["name"], app, stage) for key, r in self.doc["resources"].items()}

    def run(self, webhook_secret: str, slack_url: str, job_environment: dict[str, str] | None = None,
            job_command: list[str] | None = None, settings: Mapping[str, str] | None = None) -> Provisioned:
        """`settings`: what the user chose; it replaces `default_settings`, never the wiring."""
        out = Provisioned(resources=dict(self.names))
        defaults = default_settings(self.account, self.preview_account)
        chosen = {**defaults, **{k: v for k, v in (settings or {}).items() if k in defaults}}
        roles = self._roles([chosen[setting] for setting in TARGET_ROLE_SETTINGS.values()])
        self._tables()
        self._buckets()
        self._secrets(webhook_secret, slack_url)
        self._client("scheduler").create_schedule_group(Name=self.names["schedule_group"])
        out.resources["status_queue"], out.resources["status_dlq"] = self._queues()
        self._log_groups()
        target_roles = {setting: chosen[setting] for setting in TARGET_ROLE_SETTINGS.values()}
        out.resources.update(self._batch(roles, out.resources["status_queue"],
                                         {**target_roles, **(job_environment or {})}, job_command or JOB_COMMAND))
        out.state_machines = self._state_machines(roles["states_role"])
        out.resources["scheduler_role"] = roles["scheduler_role"]
        wiring = self._wiring(out)
        out.env, out.wiring = {**wiring, **chosen}, frozenset(wiring)
        return out

    def _roles(self, deploy_roles: list[str]) -> dict[str, str]:
        iam = self._client("iam")
        roles = {}
        for key in [k for k in self.names if k.endswith("_role")] + ["batch_service_role"]:
            name = self.names.get(key, f"{self.app}-{self.stage}-batch-service")
            roles[key] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_ASSUME)["Role"]["Arn"]
        for name in deploy_roles:  # what jobs assume per environment and tier (moto's STS checks no trust)
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=_ASSUME)
        return roles

    def _tables(self) -> None:
        dynamodb = self._client("dynamodb")
        for key, table in self.doc.get("tables", {}).items():
            name = self.names[key]
            dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                  KeySchema=[{"AttributeName": table["hash_key"], "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": table["hash_key"], "AttributeType": "S"}])
            if table.get("ttl_attribute"):
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": table["ttl_attribute"]})

    def _buckets(self) -> None:
        s3 = self._client("s3")
        for key in ("artifacts_bucket", "state_bucket"):
            s3.create_bucket(Bucket=self.names[key])
        s3.put_bucket_versioning(Bucket=self.names["state_bucket"], VersioningConfiguration={"Status": "Enabled"})

    def _secrets(self, webhook_secret: str, slack_url: str) -> None:
        secrets = self._client("secretsmanager")
        for key, value in (("webhook_secret", webhook_secret), ("github_token_secret", LOCAL_GITHUB_TOKEN),
                           ("slack_webhook_secret", slack_url)):
            secrets.create_secret(Name=self.names[key], SecretString=value)

    def _queues(self) -> tuple[str, str]:
        """The status queue and its DLQ (their URLs)."""
        sqs = self._client("sqs")
        dlq = sqs.create_queue(QueueName=self.names["status_dlq"])["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue = sqs.create_queue(QueueName=self.names["status_queue"], Attributes={
            **STATUS_QUEUE_ATTRIBUTES,
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": STATUS_MAX_RECEIVES})})["QueueUrl"]
        return queue, dlq

    def _log_groups(self) -> None:
        logs = self._client("logs")
        for key in [k for k in self.names if k.endswith("_log_group")]:
            logs.create_log_group(logGroupName=self.names[key])

    def _batch(self, roles: dict[str, str], status_queue_url: str, extra_env: dict[str, str],
               command: list[str]) -> dict[str, str]:
        """As terraform/batch.tf: two queues (plans; previews and applies) and a job definition per trust
        tier, each with its own job role. Answers names.json key -> ARN."""
        batch = self._client("batch")
        compute = batch.create_compute_environment(
            computeEnvironmentName=self.names["compute_environment"], type="UNMANAGED", state="ENABLED",
            serviceRole=roles["batch_service_role"])["computeEnvironmentArn"]
        found = {key: batch.create_job_queue(jobQueueName=self.names[key], state="ENABLED", priority=1,
                                             computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}])[
                                                 "jobQueueArn"] for key in ("job_queue", "plan_job_queue")}
        environment = {
            "TFPIPE_STAGE": self.stage, "TFPIPE_APP_NAME": self.app,
            "TFPIPE_ARTIFACTS_BUCKET": self.names["artifacts_bucket"], "TFPIPE_STATE_BUCKET": self.names["state_bucket"],
            "TFPIPE_STATUS_QUEUE_URL": status_queue_url,
            # As terraform/batch.tf: the task token waits in the tokens table; no job reads the GitHub token.
            "TFPIPE_TOKENS_TABLE": self.names["tokens_table"],
            "TFPIPE_TRACING": "off", "AWS_REGION": self.region,
            # The image's ENV (executor/Dockerfile) that matters outside a container.
            "PYTHONUNBUFFERED": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1",
            **extra_env,
        }
        for tier in Tier:
            found[f"{tier.value}_job_definition"] = batch.register_job_definition(
                jobDefinitionName=self.names[f"{tier.value}_job_definition"], type="container",
                platformCapabilities=["FARGATE"], retryStrategy={"attempts": 1}, timeout={"attemptDurationSeconds": 3600},
                containerProperties={
                    "image": f"{self.names['executor_repository']}:local", "command": command,
                    "jobRoleArn": roles[f"{tier.value}_job_role"], "executionRoleArn": roles["job_execution_role"],
                    "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": self.names["job_log_group"], "awslogs-region": self.region,
                        "awslogs-stream-prefix": "executor"}},
                    "environment": [{"name": k, "value": v} for k, v in {**environment, "TFPIPE_JOB_TIER": tier.value}.items()],
                })["jobDefinitionArn"]
        return found

    def _state_machines(self, role_arn: str) -> dict[str, str]:
        values = placeholder_values(self.doc, self.repo_root, self.app, self.stage, self.region, self.account)
        sfn = self._client("stepfunctions")
        machines = {}
        for path in sorted((self.repo_root / "statemachines").glob("*.asl.json")):
            workflow = path.name.removesuffix(".asl.json")
            entry = self.doc.get("state_machines", {}).get(workflow)
            if entry is None:
                raise ProvisionError(f"provisioning {path.name}: terraform/names.json names no state machine {workflow!r}")
            definition = substitute(path.read_text(), values, path.name)
            machines[workflow] = sfn.create_state_machine(name=expand(entry["name"], self.app, self.stage),
                                                          definition=definition, roleArn=role_arn)["stateMachineArn"]
        return machines

    def _wiring(self, out: Provisioned) -> dict[str, str]:
        skip = {"status_queue", "status_dlq", "scheduler_role"}
        env = {r["env"]: self.names[key] for key, r in self.doc["resources"].items() if "env" in r and key not in skip}
        env.update({self.doc["state_machines"][w]["env"]: arn for w, arn in out.state_machines.items()})
        for tier in Tier:  # as terraform/locals.tf: each tier's definition; plans on their own queue
            env[f"TFPIPE_JOB_DEFINITION_ARN_{tier.settings_key}"] = out.resources[f"{tier.value}_job_definition"]
            env[f"TFPIPE_JOB_QUEUE_ARN_{tier.settings_key}"] = out.resources[
                "plan_job_queue" if tier is Tier.PLAN else "job_queue"]
        env.update({
            "TFPIPE_STAGE": self.stage, "TFPIPE_APP_NAME": self.app,
            "TFPIPE_STATUS_QUEUE_URL": out.resources["status_queue"], "TFPIPE_STATUS_DLQ_URL": out.resources["status_dlq"],
            "TFPIPE_STATUS_MAX_RECEIVES": str(STATUS_MAX_RECEIVES),
            "TFPIPE_SCHEDULER_ROLE_ARN": out.resources["scheduler_role"],
            "TFPIPE_REPOSITORY_SECRETS_PREFIX": f"{self.app}/{self.stage}/repos/",  # as terraform's default
            "TFPIPE_TRACING": "off",  # no X-Ray here
        })
        return env
