"""The embedded stack: the whole pipeline's AWS side on loopback, in this process.

    with Stack(app="app:app", state_dir=tmp_path) as stack:
        boto3.client("stepfunctions", endpoint_url=stack.aws_url) ...

Parts (each on its own free loopback port, see `endpoints`):
  aws     moto behind the front door (routes lambda/batch by signing service to the local services)
  lambda  the local Lambda service (Invoke; everything else of Lambda goes to moto)
  batch   the local Batch service (SubmitJob, DescribeJobs, ListJobs, TerminateJob; the rest: moto)
  api, github, slack, artifacts: the app's REST API, the GitHub and Slack stand-ins, artifact links
and, without ports of their own, the Chalice app's event sources (SQS pollers, schedules, EventBridge
rules) and the EventBridge Scheduler runner (see event_sources.py).
One stack per process at a time: moto's state and the `MOTO_PORT` its Step Functions engine reads
are process-wide. `start()` exports `env` into os.environ (AWS_ENDPOINT_URL*, TFPIPE_*), `stop()`
restores what was there. One stack per state directory: `start()` refuses a directory another
process's stack owns (stack_file.own).

The app's settings, last one wins: .chalice/config.json's stage variables, provisioning's defaults,
`settings` (what the user chose: `tfpipe local up` passes the TFPIPE_* its shell exports), then what
the stack wires itself (resource names, ARNs and URLs, which no choice may point elsewhere), then
`extra_env` (tests).
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from chalice.app import Chalice

from chalicelib.settings import Settings
from tfpipe.local import stack_file
from tfpipe.local.api_gateway import ApiGateway
from tfpipe.local.artifact_files import ArtifactFiles
from tfpipe.local.batch_service import BatchService
from tfpipe.local.chalice_functions import (
    REPO_ROOT,
    ChaliceFunctions,
    chalice_app_name,
    chalice_stage_environment,
    load_app,
)
from tfpipe.local.clock import Clock
from tfpipe.local.cloudwatch_log import LogSink
from tfpipe.local.event_sources import EventSources
from tfpipe.local.front_door import FrontDoor
from tfpipe.local.function_urls import FunctionUrls
from tfpipe.local.github import git_repos
from tfpipe.local.github.api import GitHubApi
from tfpipe.local.github.local_github import LocalGitHub
from tfpipe.local.github.shapes import Urls
from tfpipe.local.github.store import GitHubStore
from tfpipe.local.lambda_service import ChaliceSource, LambdaService
from tfpipe.local.moto_server import MotoServer
from tfpipe.local.provision import Provisioned, Provisioner
from tfpipe.local.slack import SlackWebhook
from tfpipe.local.uploaded_functions import UploadedSource
from tfpipe.local.wsgi_server import BackgroundServer, free_port

log = logging.getLogger("tfpipe.local.stack")

ACCOUNT_ID = "123456789012"  # moto's default account
MEMBER_ACCOUNT_ROLE = "OrganizationAccountAccessRole"  # what `client_in` assumes in another account
OPERATOR_USER = "tfpipe-local-operator"  # the IAM user whose key the CLI signs operator calls with
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing"}
_HOST_PASSTHROUGH = ("HOME", "LANG", "LC_ALL", "TMPDIR", "TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR",
                     "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE")
_ACTIVE = threading.Lock()  # one stack per process
# Settings the stack points at its own parts whether or not provisioning ran.
STACK_WIRED = frozenset({"TFPIPE_STAGE", "TFPIPE_TRACING", "TFPIPE_LOCAL_GIT_ROOT", "TFPIPE_GITHUB_API_URL",
                         "TFPIPE_ARTIFACTS_BASE_URL", "TFPIPE_OIDC_ISSUER"})


class Stack:
    def __init__(self, app: Chalice | str = "app:app", stage: str = "dev", state_dir: str | Path = ".tfpipe",
                 host: str = "127.0.0.1", region: str = "us-east-1", export_env: bool = True,
                 extra_env: Mapping[str, str] | None = None, batch_concurrency: int = 2,
                 batch_stop_timeout: float = 30.0, clock_speed: float = 1.0, webhook_secret: str | None = None,
                 provision: bool = False, repositories: tuple[str, ...] | list[str] = (),
                 job_environment: Mapping[str, str] | None = None, job_command: list[str] | None = None,
                 settings: Mapping[str, str] | None = None):
        self.app_spec = app
        self.stage = stage
        self.state_dir = Path(state_dir).resolve()
        self.host = host
        self.region = region
        self.account_id = ACCOUNT_ID
        self.export_env = export_env
        self.extra_env = dict(extra_env or {})
        self.settings = dict(settings or {})  # the user's choices (see the module's docstring)
        self.ignored_settings: list[str] = []  # names in `settings` the stack wires to other values
        self.batch_concurrency = batch_concurrency
        self.batch_stop_timeout = batch_stop_timeout
        self.clock = Clock(clock_speed)
        self.webhook_secret = webhook_secret or secrets.token_hex(20)
        self.provision = provision
        self.repositories = list(repositories)
        self.job_environment = dict(job_environment or {})  # added to the provisioned job definition's
        self.job_command = job_command  # instead of the executor's `python -m executor` (e.g. a test stand-in)
        self.provisioned: Provisioned | None = None
        self.operator: dict[str, str] = {}  # access_key_id, secret_access_key, arn of OPERATOR_USER
        self.slack: SlackWebhook = SlackWebhook(self.state_dir)
        self.git_root = self.state_dir / "git"
        self.github_store = GitHubStore(self.state_dir)
        self.event_sources: EventSources | None = None
        self.function_urls: FunctionUrls | None = None
        self.github_api: GitHubApi | None = None
        self._session = boto3.session.Session()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.env: dict[str, str] = {}
        self.functions: ChaliceFunctions | None = None
        self.lambda_service: LambdaService | None = None
        self.batch_service: BatchService | None = None
        self.front_door: FrontDoor | None = None
        self.moto: MotoServer | None = None
        self._servers: dict[str, BackgroundServer] = {}
        self._uploaded: UploadedSource | None = None
        self._saved_env: dict[str, str | None] = {}
        self._ownership: stack_file.Ownership | None = None
        self._started = False

    # -- endpoints -------------------------------------------------------------------------------
    @property
    def aws_url(self) -> str:
        assert self.moto is not None, "start the stack first"
        return self.moto.url

    @property
    def lambda_url(self) -> str:
        return self._servers["lambda"].url

    @property
    def batch_url(self) -> str:
        return self._servers["batch"].url

    @property
    def api_url(self) -> str:
        """The Chalice app's REST API (API Gateway stand-in)."""
        return self._servers["api"].url

    @property
    def intake_url(self) -> str:
        return f"{self.api_url}/webhooks/github"

    @property
    def github_url(self) -> str:
        """The GitHub REST API stand-in (TFPIPE_GITHUB_API_URL)."""
        return self._servers["github"].url

    @property
    def oidc_issuer(self) -> str:
        """GitHub Actions' OIDC issuer, stood in by the GitHub stand-in (TFPIPE_OIDC_ISSUER)."""
        return self.github_api.oidc.issuer

    def actions_token(self, repository: str, ref: str, sha: str, **claims: Any) -> str:
        """An OIDC token as GitHub Actions mints it for a job of `repository` on `ref` at `sha`."""
        return self.github_api.oidc.mint(repository, ref, sha, **claims)

    @property
    def slack_url(self) -> str:
        """The Slack incoming-webhook stand-in (the value of the provisioned Slack secret)."""
        return f"{self._servers['slack'].url}/services/local"

    @property
    def endpoints(self) -> dict[str, str]:
        return {"aws": self.aws_url, **{name: server.url for name, server in self._servers.items()}}

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on this stack (through the front door, which routes Lambda and
        Batch calls to the local services); made once per service, boto3 clients are thread-safe."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.aws_url, region_name=self.region,
                    aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
            return self._clients[service]

    def client_in(self, account: str, service: str) -> Any:
        """A boto3 client working in `account` (moto keeps each account's resources apart, and picks the
        account from the access key): credentials of the role AWS Organizations gives an administrator
        in each member account, assumed through STS (moto checks no trust)."""
        if account == self.account_id:
            return self.client(service)
        credentials = self.role_credentials(f"arn:aws:iam::{account}:role/{MEMBER_ACCOUNT_ROLE}")
        return self._session.client(service, endpoint_url=self.aws_url, region_name=self.region,
                                    aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                                    aws_session_token=credentials["AWS_SESSION_TOKEN"])

    def role_credentials(self, role_arn: str) -> dict[str, str]:
        """Temporary credentials of `role_arn` as AWS_* variables (what a Lambda function of another
        account runs with: its own role's)."""
        found = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="tfpipe-local")["Credentials"]
        return {"AWS_ACCESS_KEY_ID": found["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": found["SecretAccessKey"],
                "AWS_SESSION_TOKEN": found["SessionToken"]}

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Stack:
        if not _ACTIVE.acquire(blocking=False):
            raise RuntimeError("starting the embedded stack: another stack is already running in this process")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._started = True
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._ownership = stack_file.own(self.state_dir)  # before anything another stack could be using
        self.moto = MotoServer(self.host, front=self._build_front_door)
        self.moto.start()
        self.moto.reset()  # moto's state is process-wide: a new stack starts from an empty account
        # The Step Functions engine reads MOTO_PORT per call: point it at the front door.
        self._set_env({"MOTO_PORT": str(self.moto.port)})
        self.operator = self._operator_credentials()
        self._serve("slack", self.slack)
        self._serve("artifacts", ArtifactFiles(lambda: self.client("s3"), lambda: self.env["TFPIPE_ARTIFACTS_BUCKET"]))
        if self.provision:
            self.provisioned = Provisioner(self.client, chalice_app_name(), self.stage, self.region,
                                           self.account_id).run(self.webhook_secret, self.slack_url,
                                                                self.job_environment, self.job_command,
                                                                self.settings)
        app_settings = {**self._app_settings(), **self.extra_env}
        Settings.from_env(app_settings)  # a malformed choice stops the start, not every invocation after it
        if self.export_env:
            # Before the app is imported: its decorators may read settings (the status queue's name).
            self._set_env(app_settings)
        self._start_services(load_app(self.app_spec))
        self.env = self._environment()
        if self.export_env:
            self._set_env(self.env)
        self._cold_start()
        assert self.functions is not None and self.lambda_service is not None
        self.event_sources = EventSources(self.functions, self.lambda_service, self.client, self.clock,
                                          self.region, self.account_id).start()
        self.function_urls = FunctionUrls(self._uploaded.function_urls, self.lambda_service.invoke, self.host,
                                          on_change=self._write_stack_file).start()
        # Repositories kept in the state dir get this stack's hook (its Python) again; new ones are made.
        for repository in {*git_repos.repositories(self.git_root), *self.repositories}:
            self.create_repository(repository)
        self._write_stack_file()
        log.info("embedded stack up: %s", self.endpoints)

    def _start_services(self, app: Chalice) -> None:
        """The local Lambda and Batch services (behind the front door and on their own ports), the
        app's REST API and the GitHub stand-in."""
        assert self.moto is not None and self.front_door is not None
        self.functions = ChaliceFunctions(app, self.stage)
        self._uploaded = UploadedSource(self.account_id, self.region, self.state_dir / "lambda",
                                        self.function_environment, self._function_log, self.role_credentials)
        self.lambda_service = LambdaService([ChaliceSource(self.functions), self._uploaded], self.moto.moto_app,
                                            self.region, self.account_id)
        self.front_door.route("lambda", self.lambda_service)
        self._serve("lambda", self.lambda_service)
        self.batch_service = BatchService(self.aws_url, self.moto.moto_app, self.state_dir, self.container_environment,
                                          self.region, self.account_id, self.batch_concurrency,
                                          self.batch_stop_timeout, FAKE_CREDENTIALS)
        self.front_door.route("batch", self.batch_service)
        self._serve("batch", self.batch_service)
        self._serve("api", ApiGateway(app, f"{app.app_name}-{self.stage}", self.lambda_service.invoke,
                                      account=self.account_id))
        github_port = free_port(self.host)
        github_url = f"http://{self.host}:{github_port}"
        self.github_api = GitHubApi(self.github_store, self.git_root, Urls(github_url, github_url, str(self.git_root)),
                                    on_comment=self._comment_webhook)
        self._serve("github", self.github_api, port=github_port)

    def _operator_credentials(self) -> dict[str, str]:
        """An IAM user with an access key in moto: the operator routes (approvals, `POST /runs`) verify
        SigV4 against moto's IAM, where the stack's fake `testing` key does not exist."""
        iam = self.client("iam")
        user = iam.create_user(UserName=OPERATOR_USER)["User"]
        key = iam.create_access_key(UserName=OPERATOR_USER)["AccessKey"]
        return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"], "arn": user["Arn"]}

    def _build_front_door(self, moto_app: Any) -> FrontDoor:
        self.front_door = FrontDoor(moto_app)
        return self.front_door

    def _serve(self, name: str, app: Any, port: int | None = None) -> BackgroundServer:
        server = BackgroundServer(app, self.host, port, name=name).start()
        self._servers[name] = server
        return server

    def _app_settings(self) -> dict[str, str]:
        """The TFPIPE_* settings the app's functions get (the module's docstring says in what order)."""
        env = dict(chalice_stage_environment(self.stage))
        wired = set(STACK_WIRED)
        if self.provisioned is not None:
            env.update(self.provisioned.env)
            wired |= self.provisioned.wiring
        env.update({name: value for name, value in self.settings.items() if name not in wired})
        env.update({"TFPIPE_STAGE": self.stage, "TFPIPE_TRACING": "off", "TFPIPE_LOCAL_GIT_ROOT": str(self.git_root)})
        if "artifacts" in self._servers:
            env["TFPIPE_ARTIFACTS_BASE_URL"] = self._servers["artifacts"].url
        if "github" in self._servers:
            env["TFPIPE_GITHUB_API_URL"] = self.github_url
            env["TFPIPE_OIDC_ISSUER"] = self.oidc_issuer
        self.ignored_settings = sorted(name for name, value in self.settings.items()
                                       if name in wired and env.get(name) != value)
        return env

    def _environment(self) -> dict[str, str]:
        env = self._app_settings()
        env.update(FAKE_CREDENTIALS)
        env.update({
            "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_url,
            "AWS_ENDPOINT_URL_BATCH": self.batch_url,
            "AWS_XRAY_SDK_ENABLED": "false",
        })
        env.update(self.extra_env)
        return env

    def container_environment(self) -> dict[str, str]:
        """What a Batch job's container starts with before its definition's environment: the host's
        tools (PATH with this venv first, Terraform's CLI config) and the AWS endpoints and fake
        credentials that stand in for the job role. TFPIPE_* settings come from the job definition."""
        venv_bin = str(Path(sys.executable).parent)
        # The image puts executor/executor/ and chalicelib/ side by side in /app (executor/Dockerfile).
        env = {"PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/bin:/bin")]),
               "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "executor"), str(REPO_ROOT)])}
        env.update({key: value for key, value in os.environ.items() if key in _HOST_PASSTHROUGH})
        toolchain_rc = REPO_ROOT / ".tfpipe" / "terraform.rc"  # what `make install` writes (tfpipe/toolchain.py)
        if not Path(env.get("TF_CLI_CONFIG_FILE", "")).is_file() and toolchain_rc.exists():
            env["TF_CLI_CONFIG_FILE"] = str(toolchain_rc)
        env.update({key: value for key, value in self.env.items() if key.startswith("AWS_")})
        return env

    def describe(self) -> dict:
        """What stack.json holds: endpoints, the intake, the local webhook secret, the app's env, the
        operator's IAM credentials (the CLI signs with them) and the Actions OIDC issuer."""
        return {"state_dir": str(self.state_dir), "git_root": str(self.git_root), "endpoints": self.endpoints,
                "api_url": self.api_url, "intake_url": self.intake_url, "slack_url": self.slack_url,
                "webhook_secret": self.webhook_secret, "env": self.env, "operator": self.operator,
                "oidc_issuer": self.oidc_issuer if self.github_api else None,
                "stage": self.stage, "region": self.region, "account_id": self.account_id, "pid": os.getpid(),
                "function_urls": self.function_urls.local_urls(sync=False) if self.function_urls else {}}

    def _write_stack_file(self) -> None:
        if self._started and self._ownership is not None:
            stack_file.write(self.state_dir, self.describe())

    def create_repository(self, full_name: str, default_branch: str = "main") -> Path:
        """A bare repository `<state-dir>/git/<owner>/<name>.git` whose pushes send webhooks here."""
        return git_repos.create_repository(self.git_root, full_name, default_branch)

    def github(self) -> LocalGitHub:
        """Pull requests and pushes as GitHub would report them to this stack's intake."""
        return LocalGitHub(self.state_dir, self.describe())

    def _comment_webhook(self, repository: str, pr: dict, comment: dict, action: str) -> None:
        # Delivered after the API has answered, as GitHub delivers webhooks asynchronously.
        def deliver() -> None:
            try:
                self.github().comment_event(repository, pr, comment, action)
            except Exception as exc:  # a stopped intake must not break the API that triggered this
                log.warning("delivering the issue_comment %s webhook for comment %s: %s", action, comment["id"], exc)
        threading.Thread(target=deliver, name="tfpipe-comment-webhook", daemon=True).start()

    def _cold_start(self) -> None:
        # The pipeline's app keeps its adapters (built from settings) for the container's life; a new
        # stack is a new deployment, so its next invocation must start cold with the new settings.
        wiring = sys.modules.get("chalicelib.wiring")
        if wiring is not None and hasattr(wiring, "reset"):
            wiring.reset()

    def function_environment(self) -> dict[str, str]:
        """What an uploaded function's sandbox starts with before its configured environment."""
        env = self.container_environment()
        env.pop("PYTHONPATH", None)
        return env

    def _function_log(self, name: str, text: str) -> None:
        if not text:
            return
        sink = LogSink(self.client("logs"), f"/aws/lambda/{name}", time.strftime("%Y/%m/%d/[$LATEST]local"),
                       self.state_dir / "lambda" / f"{name}.log")
        for line in text.splitlines():
            sink.write(line)
        sink.close()

    def function_url(self, function_name: str) -> str:
        """Where the function URL of an uploaded function is served on loopback."""
        assert self.function_urls is not None, "start the stack first"
        urls = self.function_urls.local_urls()
        if function_name not in urls:
            raise LookupError(f"serving the function URL of {function_name}: moto has no URL config for it")
        return urls[function_name]["local_url"]

    def _set_env(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            if self._ownership is not None:  # never another stack's stack.json
                stack_file.remove(self.state_dir)
            if self.event_sources is not None:
                self.event_sources.stop()
            if self.function_urls is not None:
                self.function_urls.stop()
                stack_file.remove(self.state_dir)  # again: a last function URL change may have rewritten it
            if self.batch_service is not None:  # first: a terminated job may still report to moto
                self.batch_service.close()
            for server in reversed(list(self._servers.values())):
                server.stop()
            self._servers.clear()
            if self.lambda_service is not None:
                self.lambda_service.close()
            if self._uploaded is not None:
                self._uploaded.close()
            if self.moto is not None:
                self.moto.stop()
        finally:
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env.clear()
            if self._ownership is not None:
                self._ownership.release()
                self._ownership = None
            _ACTIVE.release()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
