"""One job, phase by phase: checkout, build, init, then plan / apply / destroy / custom.

Each action is an explicit list of steps; each step is looked up in a table. Every step runs under a
timeout and an X-Ray subsegment, its duration lands in the result, and the job's phase changes are
published as status events. However the job ends, its log is uploaded and the task token answered:
SendTaskSuccess(JobResult) or SendTaskFailure(error class, cause), masked.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from chalicelib.adapters.artifacts import ChecksumMismatch, sha256_of
from chalicelib.core.errors import FieldError
from chalicelib.core.job import JobAction, JobErrorClass, JobResult, JobSpec
from chalicelib.core.repository_secrets import is_under
from chalicelib.core.request import parse_custom_command
from chalicelib.core.status import Phase, Status
from chalicelib.core.tiers import Tier
from executor import checkout as git
from executor.backend import backend_args, initialized_backend, refuse_own_settings, state_location
from executor.build import run_build
from executor.config import ExecutorConfig
from executor.credentials import assume_target_role, job_tier
from executor.failures import JobFailure
from executor.healthcheck import wait_healthy
from executor.heartbeat import Heartbeat
from executor.interrupt import Interrupt
from executor.isolation import WorkUser, read_untrusted, runner_env, work_env, work_user, write_untrusted
from executor.joblog import JobLog
from executor.masking import Masker
from executor.projects import Project, project_named
from executor.refresh import RefreshedCredentials
from executor.repo_config import RepoConfig, load_repo_config, read_repo_file, var_file
from executor.reporting import Reporter
from executor.sensitive import sensitive_values
from executor.sources import UnreadableFile, backend_blocks, check_configuration, check_fetched_modules
from executor.summary import Counts, counts_of
from executor.terraform import MIN_VERSION, Terraform, base_env

STEPS: dict[JobAction, tuple[str, ...]] = {
    JobAction.PLAN: ("checkout", "build", "init", "plan"),
    JobAction.APPLY: ("checkout", "init", "apply", "outputs", "health-check"),
    JobAction.PLAN_APPLY: ("checkout", "build", "init", "plan", "apply", "outputs", "health-check"),
    # Destroy evaluates the configuration, so variables the build fills in need values again.
    JobAction.DESTROY: ("checkout", "build", "init", "destroy"),
    JobAction.PLAN_DESTROY: ("checkout", "build", "init", "plan"),
    JobAction.CUSTOM: ("checkout", "init", "custom"),
}
# The status phase a step belongs to; preparation steps belong to the job's first phase.
PHASE_BY_STEP = {"plan": Phase.PLAN, "apply": Phase.APPLY, "outputs": Phase.APPLY,
                 "health-check": Phase.HEALTH_CHECK, "destroy": Phase.DESTROY, "custom": Phase.CUSTOM}
FIRST_PHASE = {JobAction.PLAN: Phase.PLAN, JobAction.APPLY: Phase.APPLY, JobAction.PLAN_APPLY: Phase.PLAN,
               JobAction.DESTROY: Phase.DESTROY, JobAction.CUSTOM: Phase.CUSTOM, JobAction.PLAN_DESTROY: Phase.PLAN}
PLAN_FILE = "plan.tfplan"
ERRORED_STATE = "errored.tfstate"  # what terraform writes when it cannot save state to the backend
STALE_PLAN = "Saved plan is stale"
_APPLIED = re.compile(r"Resources: (\d+) added, (\d+) changed, (\d+) destroyed")
_DESTROYED = re.compile(r"Destroy complete! Resources: (\d+) destroyed")


@dataclass
class Services:
    """The adapters a job talks to (all built from settings in `__main__`)."""

    artifacts: object  # S3ArtifactStore
    sts: object  # boto3 STS client
    secrets: object  # SecretStore
    status: object | None = None  # StatusPublisher
    callbacks: object | None = None  # StepFunctionsCallbacks


@dataclass
class Outcome:
    result: JobResult | None = None
    failure: JobFailure | None = None
    reported: bool = False


class Job:
    def __init__(self, spec: JobSpec, config: ExecutorConfig, services: Services, log: JobLog, masker: Masker,
                 interrupt: Interrupt, tracer, environ: dict[str, str], token: str | None = None,
                 clone_token: str | None = None):
        self.spec = spec
        self.config = config
        self.settings = config.settings
        self.services = services
        self.log = log
        self.masker = masker
        self.interrupt = interrupt
        self.tracer = tracer
        self.environ = dict(environ)
        self.token = token
        self.clone_token = clone_token  # from the tokens table; no job role may read the GitHub token's secret
        for held in (token, clone_token):  # whoever holds one can answer the run's step or push: never printed
            if held:
                masker.add(held)
        prefix = spec.artifacts_prefix or f"runs/{spec.run_id}/"
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.workdir: Path | None = None
        self.src = Path()
        self.repo = RepoConfig()
        self.project = Project("", ".")  # the job's project (spec.project), found in the checkout
        self.variables: dict[str, str] = {}  # -var flags (build outputs): not secret
        self.secret_variables: dict[str, str] = {}  # TF_VAR_ environment: masked
        self.credentials: dict[str, str] = {}
        self.work = WorkUser("")  # who runs untrusted code (executor.isolation), found when the job starts
        self.refresher: RefreshedCredentials | None = None
        self.tf: Terraform | None = None
        self.artifacts: dict[str, str] = {}
        self.durations: dict[str, float] = {}
        self.summary = Counts()
        self.has_changes = False
        self.plan_checksum: str | None = None
        self.outputs: dict = {}
        self._phase: Phase | None = None
        self.reporter = Reporter(spec, services.status, services.callbacks, token, masker, log)
        self._steps = {"checkout": self._checkout, "build": self._build, "init": self._init, "plan": self._plan,
                       "apply": self._apply, "outputs": self._outputs, "health-check": self._health_check,
                       "destroy": self._destroy, "custom": self._custom}

    # ---- the job ---------------------------------------------------------------------------------

    def run(self) -> Outcome:
        outcome = Outcome()
        self.tracer.start(f"tfpipe-{self.spec.action.value}", self.spec.trace_header, self.spec.run_id)
        project = f" project {self.spec.project!r}" if self.spec.project else ""
        self.log.event(f"{self.spec.action.value} job of run {self.spec.run_id}: {self.spec.repository}@"
                       f"{self.spec.sha[:12]}{project} -> {self.spec.environment} (workspace {self.spec.workspace})")
        beating = (Heartbeat(self.services.callbacks, self.token, self.config.heartbeat_seconds, self.log,
                             self.interrupt) if self.reporter.answers_a_token else contextlib.nullcontext())
        with beating:
            try:
                self.workdir = Path(self.config.make_work_dir())
                self.work = work_user(self.config.work_user, self.log)
                self.work.prepare(self.workdir, self.environ)
                for step in STEPS[self.spec.action]:
                    self._run_step(step)
                outcome.result = self._result()
            except JobFailure as failure:
                outcome.failure = failure
            except Exception as exc:  # a bug or an unexpected dependency error still answers the token
                outcome.failure = JobFailure(JobErrorClass.JOB_FAILED, f"{self.log.phase}: {type(exc).__name__}: {exc}")
            if self.refresher:
                self.refresher.stop()
        self._finish(outcome)
        self.tracer.finish(outcome.failure.error.value if outcome.failure else None)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return outcome

    def _run_step(self, step: str) -> None:
        if self.interrupt.requested:
            raise JobFailure(JobErrorClass.INTERRUPTED, f"before {step}: {self.interrupt.reason}")
        phase = PHASE_BY_STEP.get(step, FIRST_PHASE[self.spec.action])
        if phase != self._phase:
            if self._phase is not None:
                self._publish(Status.SUCCEEDED, f"{self._phase.value} succeeded")
            self._phase = phase
            self._publish(Status.STARTED, f"{phase.value} started")
        self.log.phase = step
        started = time.monotonic()
        with self.tracer.phase(step):
            self._steps[step]()
        self.durations[step] = round(time.monotonic() - started, 3)

    def _finish(self, outcome: Outcome) -> None:
        self.log.phase = "report"
        if outcome.failure:
            self.log.event(f"{outcome.failure.error.value}: {outcome.failure}", level="error")
        else:
            self.log.event(f"{self.spec.action.value} succeeded", result=outcome.result.to_dict())
        log_key = f"{self.prefix}{self.spec.action.value}/log.txt"
        try:
            self.services.artifacts.put_text(log_key, self.masker.mask(self.log.text()))
            self.artifacts["log"] = log_key
            if outcome.result:
                outcome.result.artifacts["log"] = log_key
        except Exception as exc:
            self.log.event(f"uploading the log: {exc}", level="error")
        cause = self.reporter.cause(outcome.failure, self.artifacts.get("log")) if outcome.failure else None
        if self._phase is not None:
            status = Status.FAILED if outcome.failure else Status.SUCCEEDED
            message = str(outcome.failure) if outcome.failure else self._success_message()
            details = ({"error_class": outcome.failure.error.value, "error": cause.message,
                        "diagnostics": [d.to_dict() for d in cause.diagnostics]}
                       if outcome.failure else self._counts())
            self._publish(status, message, details)
        outcome.reported = self.reporter.answer(outcome.result, outcome.failure, cause)

    def _result(self) -> JobResult:
        return JobResult(run_id=self.spec.run_id, action=self.spec.action.value, has_changes=self.has_changes,
                         add=self.summary.add, change=self.summary.change, destroy=self.summary.destroy,
                         resources=self.summary.resources, outputs=self.masker.mask_data(self.outputs),
                         artifacts=dict(self.artifacts), durations=dict(self.durations),
                         plan_checksum=self.plan_checksum)

    # ---- steps -----------------------------------------------------------------------------------

    def _checkout(self) -> None:
        token = self.clone_token
        if not token and self.spec.clone_url.startswith("https://") and self.settings.github_token_secret_name:
            token = self._secret(self.settings.github_token_secret_name, JobErrorClass.CHECKOUT_FAILED)  # by hand
        env = {**runner_env(self.environ), **git.git_auth_env(self.spec.clone_url, token)}
        self.src = self.workdir / "src"
        git.checkout(self.spec.clone_url, self.spec.sha, self.src, env, self.config.phase_timeout_seconds)
        self.log.event(f"checked out {self.spec.sha}")
        self.work.give(self.src)
        self.repo = load_repo_config(self.src)
        self.project = project_named(self.src, read_repo_file(self.src), self.spec.project)
        if self.project.name:
            self.log.event(f"{self.project.label} in {self.project.dir}/")

    def _build(self) -> None:
        # A project's own build steps replace the top-level ones (still run from the repository root).
        repo = replace(self.repo, build=list(self.project.build)) if self.project.build else self.repo
        if not repo.build and not repo.artifacts_bucket_variable:
            return
        variables, artifacts = run_build(repo, self.src, self._work_env(), self.log, self.interrupt,
                                         self.services.artifacts, self.prefix, self.work.spawn_kwargs())
        self.variables.update(variables)
        self.artifacts.update(artifacts)

    def _init(self) -> None:
        # Before any secret is read or role assumed: the providers and modules init would install.
        try:
            remote_modules = check_configuration(self.root, self.config.allowed_providers,
                                                 self.config.allowed_module_sources, repo_root=self.src)
            refuse_own_settings(backend_blocks(self.root))
        except UnreadableFile as unreadable:
            self._raise_syntax_errors(unreadable.relative)
            raise JobFailure(JobErrorClass.INIT_FAILED, f"{unreadable}, though Terraform reads it: the provider "
                             "check (python-hcl2) cannot, so what init would install is unknown and the job stops "
                             "here; please report the construct") from None
        # Exactly the secrets the pipeline's settings give this repository and environment (in the spec),
        # and only under the repository's own prefix: a spec written by hand cannot reach another's.
        prefix = self.settings.repository_secrets.repository_prefix(self.spec.repository)
        for variable, secret_name in sorted(self.spec.secrets.items()):
            if not is_under(secret_name, prefix):
                raise JobFailure(JobErrorClass.INIT_FAILED, f"reading secret {secret_name!r} for variable "
                                 f"{variable}: only secrets under {prefix} are handed to this repository")
            self.secret_variables[variable] = self._secret(secret_name, JobErrorClass.INIT_FAILED)
        tier = job_tier(self.spec, self.environ)
        role = self.settings.target_role_name(tier)
        sts, account, run_id = self.services.sts, self.spec.account_id, self.spec.run_id
        self.refresher = RefreshedCredentials(self.workdir, lambda: assume_target_role(sts, account, role, run_id),
                                              self.work, self.masker, self.log, self.config.credentials_refresh_seconds)
        self.credentials = self.refresher.start()  # a profile whose credentials a runner thread keeps fresh
        self.log.event(f"working as role {role} of account {self.spec.account_id} ({tier.value} tier)")
        env = {**base_env(self.environ, self.credentials, self.spec.workspace, self.secret_variables),
               **self.work.env}
        self.tf = Terraform(self.config.terraform_binary, self.root, env, self.log, self.interrupt,
                            self.config.interrupt_grace_seconds, self.work.spawn_kwargs())
        try:
            version = self.tf.version()
        except (OSError, ValueError) as exc:
            raise JobFailure(JobErrorClass.INIT_FAILED, f"checking the terraform version: {exc}") from None
        if version < MIN_VERSION:
            raise JobFailure(JobErrorClass.INIT_FAILED, f"checking the terraform version: found "
                             f"{'.'.join(map(str, version))}, need {'.'.join(map(str, MIN_VERSION))} or newer")
        try:
            location = state_location(self.settings.state_bucket, self.spec.repository, self.spec.environment,
                                      self.spec.workspace, self.project.name)
        except ValueError as exc:
            raise JobFailure(JobErrorClass.INIT_FAILED, str(exc)) from None
        self.log.event(f"state s3://{location.bucket}/{location.state_key} (lock {location.lock_key})")
        args = ["init", "-input=false", "-no-color",
                *backend_args(location, self.settings.region, self.config.s3_use_path_style)]
        # Init in the default workspace, then select (or create) the environment's: with TF_WORKSPACE
        # naming a workspace the backend does not have yet, init refuses once any other exists.
        unselected = self._without_workspace()
        if remote_modules:  # fetch them alone first: their providers are checked before init installs any
            unselected.run(["get", "-no-color"], self._timeout()).check(JobErrorClass.INIT_FAILED, "terraform get")
            check_fetched_modules(self.root, self.tf.env.get("TF_DATA_DIR", ".terraform"),
                                  self.config.allowed_providers, self.config.allowed_module_sources)
        unselected.run(args, self._timeout()).check(JobErrorClass.INIT_FAILED,
                                                    f"terraform init for {self.spec.environment}")
        backend = initialized_backend(self.root, self.tf.env.get("TF_DATA_DIR", ".terraform"))
        if backend != "s3":
            raise JobFailure(JobErrorClass.INIT_FAILED, f"terraform init for {self.spec.environment}: the "
                             f"configuration has no backend \"s3\" {{}} block ({backend or 'no'} backend "
                             "configured), so its state would stay in this job's checkout and be lost; add "
                             f"`backend \"s3\" {{}}` to the terraform block of {self._root_module()} (docs/onboarding.md)")
        if self.spec.workspace != "default":  # the read-only plan tier cannot create one: it reads what exists
            create = [] if self.spec.tier is Tier.PLAN else ["-or-create=true"]
            unselected.run(["workspace", "select", *create, "-no-color", self.spec.workspace],
                           self._timeout()).check(JobErrorClass.INIT_FAILED,
                                                  f"selecting workspace {self.spec.workspace}")

    def _without_workspace(self) -> Terraform:
        env = {k: v for k, v in self.tf.env.items() if k != "TF_WORKSPACE"}
        return Terraform(self.tf.binary, self.root, env, self.log, self.interrupt, self.config.interrupt_grace_seconds,
                         self.tf.spawn)

    def _plan(self) -> None:
        plan_path = self.root / PLAN_FILE
        # A speculative plan (plan tier) takes no state lock: its role may not write the lock file, and
        # it must never hold up an apply.
        lock = ["-lock=false"] if self.spec.tier is Tier.PLAN else [f"-lock-timeout={self._lock_timeout()}"]
        # A destroy plan is stored and applied like any plan: the approver approves exactly what goes.
        destroy = ["-destroy"] if self.spec.action is JobAction.PLAN_DESTROY else []
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", *destroy, *lock, f"-out={PLAN_FILE}",
                *self._var_args()]
        run = self.tf.run(args, self._timeout())
        if run.returncode not in (0, 2) or run.interrupted or run.timed_out:
            run.check(JobErrorClass.PLAN_FAILED, f"terraform plan for {self.spec.environment}")
        self.has_changes = run.returncode == 2
        store = self.services.artifacts
        # The plan file and its text upload while `show -json` loads the provider schemas.
        with ThreadPoolExecutor(max_workers=1) as pool:
            uploaded = pool.submit(self._upload_plan, plan_path, run.output)
            json_path = self.workdir / "plan.json"
            show = self.tf.run(["show", "-json", "-no-color", PLAN_FILE], self._timeout(), stdout_file=json_path)
            uploaded.result()
        show.check(JobErrorClass.PLAN_FAILED, f"terraform show -json for {self.spec.environment}")
        self.durations["plan-json"] = round(show.seconds, 3)  # part of "plan"; reported because it is fixed cost
        plan_json = json_path.read_text()
        document = json.loads(plan_json)
        self.masker.add_all(sensitive_values(document))  # show -json prints sensitive values in clear
        self.summary = counts_of(document)
        self.artifacts["plan_json"] = self.prefix + "plan.json"
        store.put_text(self.artifacts["plan_json"], self.masker.mask(plan_json), "application/json")
        self.log.event(f"plan: {self._success_message()}", plan_checksum=self.plan_checksum)

    def _upload_plan(self, plan_path: Path, text: str) -> None:
        store = self.services.artifacts
        self.plan_checksum = store.put_bytes(self.prefix + PLAN_FILE, read_untrusted(self.src, self._in_root(PLAN_FILE)))
        self.artifacts["plan"] = self.prefix + PLAN_FILE
        self.artifacts["plan_text"] = self.prefix + "plan.txt"
        store.put_text(self.artifacts["plan_text"], self.masker.mask(text))

    def _apply(self) -> None:
        plan_path = self.root / PLAN_FILE
        if self.spec.action is JobAction.APPLY:
            self._download_plan(plan_path)
        args = ["apply", "-input=false", "-no-color", f"-lock-timeout={self._lock_timeout()}", PLAN_FILE]
        run = self.tf.run(args, self._timeout())
        if not run.ok and STALE_PLAN in run.output:
            raise JobFailure(JobErrorClass.STALE_PLAN, "applying the stored plan: the state changed since it was "
                             "planned (Terraform: saved plan is stale); plan again, it is never re-planned here")
        self._check_keeping_errored_state(run, JobErrorClass.APPLY_FAILED, f"terraform apply for {self.spec.environment}")
        counts = _APPLIED.findall(run.output)
        if counts:
            add, change, destroy = (int(n) for n in counts[-1])
            self.summary = Counts(add, change, destroy, self.summary.resources)
            self.has_changes = self.has_changes or add + change + destroy > 0

    def _download_plan(self, plan_path: Path) -> None:
        if not self.spec.plan_key:
            raise JobFailure(JobErrorClass.APPLY_FAILED, "applying: the job names no stored plan (plan_key)")
        store = self.services.artifacts
        try:
            data = store.get_bytes(self.spec.plan_key, self.spec.plan_checksum)
        except ChecksumMismatch as exc:
            raise JobFailure(JobErrorClass.APPLY_FAILED, f"applying the stored plan: {exc}") from None
        write_untrusted(self.src, self._in_root(PLAN_FILE), data)  # src/ is the work user's: never follow a link there
        self.plan_checksum = sha256_of(data)
        self.artifacts["plan"] = self.spec.plan_key
        self.log.event(f"applying stored plan s3://{store.bucket}/{self.spec.plan_key} sha256 {self.plan_checksum}")
        json_key = self.spec.plan_key.rsplit("/", 1)[0] + "/plan.json" if "/" in self.spec.plan_key else "plan.json"
        try:
            self.summary = counts_of(json.loads(store.get_text(json_key)))
            self.artifacts["plan_json"] = json_key
        except Exception as exc:  # the counts then come from apply's own summary line
            self.log.event(f"reading the plan's JSON {json_key}: {exc}", level="warning")

    def _outputs(self) -> None:
        run = self.tf.run(["output", "-json", "-no-color"], self._timeout(), quiet=True)
        run.check(JobErrorClass.APPLY_FAILED, f"terraform output for {self.spec.environment}")
        outputs = json.loads(run.output or "{}")
        for output in outputs.values():
            if output.get("sensitive"):
                self.masker.add_all(output.get("value"))
        self.outputs = {name: o.get("value") for name, o in outputs.items() if not o.get("sensitive")}

    def _health_check(self) -> None:
        url = self.outputs.get("health_check_url")
        if not isinstance(url, str) or not url:
            self.log.event("no health_check_url output: nothing to check")
            return
        wait_healthy(url, self.config.health_check_timeout_seconds, self.config.health_check_interval_seconds,
                     self.interrupt, self.log)

    def _destroy(self) -> None:
        args = ["destroy", "-input=false", "-no-color", "-auto-approve", f"-lock-timeout={self._lock_timeout()}",
                *self._var_args()]
        run = self.tf.run(args, self._timeout())
        self._check_keeping_errored_state(run, JobErrorClass.DESTROY_FAILED, f"terraform destroy for {self.spec.environment}")
        found = _DESTROYED.findall(run.output)
        destroyed = int(found[-1]) if found else 0
        self.summary = Counts(0, 0, destroyed, [])
        self.has_changes = destroyed > 0
        if self.spec.workspace != "default":
            # The workspace's (now empty) state goes too, so the environment no longer lists.
            unselected = self._without_workspace()
            unselected.run(["workspace", "select", "-no-color", "default"], self._timeout())  # not the active one
            run = unselected.run(["workspace", "delete", "-no-color", f"-lock-timeout={self._lock_timeout()}",
                          self.spec.workspace], self._timeout())
            if not run.ok:
                self.log.event(f"deleting workspace {self.spec.workspace} failed; its empty state stays", level="warning")

    def _custom(self) -> None:
        errors: list[FieldError] = []
        command = parse_custom_command(list(self.spec.custom_args), errors)
        if command is None:  # allow-listed at the edge already; a job submitted by hand is checked again
            raise JobFailure(JobErrorClass.CUSTOM_FAILED, "running a custom command: " + "; ".join(map(str, errors)))
        # `show -json`, `output -json` and friends print sensitive values in clear: learn them first.
        state_path = self.workdir / "state.json"
        state = self.tf.run(["show", "-json", "-no-color"], self._timeout(), stdout_file=state_path)
        state.check(JobErrorClass.CUSTOM_FAILED, f"reading the state's sensitive values for {self.spec.environment}")
        self.masker.add_all(sensitive_values(json.loads(state_path.read_text() or "{}")))
        run = self.tf.run(command.argv, self._timeout())
        key = f"{self.prefix}custom/output.txt"
        self.services.artifacts.put_text(key, self.masker.mask(run.output))
        self.artifacts["output"] = key
        run.check(JobErrorClass.CUSTOM_FAILED, f"terraform {' '.join(command.argv)} for {self.spec.environment}")

    # ---- helpers ---------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The Terraform root the job runs in: its project's dir in the checkout."""
        return self.src / self.project.dir

    def _in_root(self, name: str) -> str:
        """A file of the Terraform root, relative to the checkout (for read/write_untrusted)."""
        return (PurePosixPath(self.project.dir) / name).as_posix()

    def _root_module(self) -> str:
        return f"{self.project.dir}/ ({self.project.label})" if self.project.name else "the root module"

    def _raise_syntax_errors(self, relative: str) -> None:
        """Terraform's own diagnostics (file, line, what it expected) for a file the provider check could
        not parse; `terraform fmt` parses it without installing or running anything."""
        env = {**base_env(self.environ, {}, "default", {}), **self.work.env}
        tf = Terraform(self.config.terraform_binary, self.src, env, self.log, self.interrupt,
                       self.config.interrupt_grace_seconds, self.work.spawn_kwargs())
        run = tf.run(["fmt", "-check", "-list=false", "-no-color", relative], self._timeout())
        if "Error:" in run.output:
            run.check(JobErrorClass.INIT_FAILED, f"reading the configuration for {self.spec.environment}")

    def _check_keeping_errored_state(self, run, error: JobErrorClass, doing: str) -> None:
        """run.check, but when Terraform could not save the state (its backend unreachable, the job
        stopped) the `errored.tfstate` it left goes with the run's artifacts, where the tier that
        applies reads plans, and the failure says how to push it back."""
        try:
            run.check(error, doing)
        except JobFailure as failure:
            if not (self.root / ERRORED_STATE).is_file():
                raise
            key = f"{self.prefix}{ERRORED_STATE}"
            try:
                self.services.artifacts.put_bytes(key, read_untrusted(self.src, self._in_root(ERRORED_STATE)), "application/json")
            except Exception as exc:
                self.log.event(f"uploading {ERRORED_STATE}: {exc}", level="error")
                raise failure from None
            self.artifacts["errored_state"] = key
            url = f"s3://{self.services.artifacts.bucket}/{key}"
            raise JobFailure(failure.error, f"{failure}; terraform could not save the state and left it in {url}: "
                             f"recover with `aws s3 cp {url} {ERRORED_STATE}` then `terraform state push "
                             f"{ERRORED_STATE}` in {self._root_module()}, initialized for {self.spec.environment}",
                             failure.diagnostics) from None

    def _secret(self, name: str, error: JobErrorClass) -> str:
        try:
            value = self.services.secrets.get(name)
        except Exception as exc:
            raise JobFailure(error, f"reading secret {name!r}: {exc}") from None
        self.masker.add(value)
        return value

    def _var_args(self) -> list[str]:
        args = [f"-var={name}={value}" for name, value in sorted(self.variables.items())]
        tfvars = var_file(self.root, self.spec.environment, self.spec.workspace != "default")
        return args + ([f"-var-file={tfvars}"] if tfvars else [])

    def _work_env(self) -> dict[str, str]:
        """For build commands (untrusted): the allow-listed environment, no credentials, no variables."""
        return {**work_env(self.environ), **self.work.env}

    def _timeout(self) -> float:
        return self.config.phase_timeout_seconds

    def _lock_timeout(self) -> str:
        return f"{int(self.config.lock_timeout_seconds)}s"

    def _counts(self) -> dict:
        return {"has_changes": self.has_changes, "add": self.summary.add, "change": self.summary.change,
                "destroy": self.summary.destroy, "outputs": self.masker.mask_data(self.outputs)}

    def _success_message(self) -> str:
        s = self.summary
        return f"{s.add} to add, {s.change} to change, {s.destroy} to destroy" + ("" if self.has_changes else " (no changes)")

    def _publish(self, status: Status, message: str, details: dict | None = None) -> None:
        self.reporter.publish(self._phase, status, message, self.artifacts, details)
