"""`PipelineRequest`: every input of a run, validated at the edge.

Validation collects every bad field with what it got and what is accepted, so one answer tells the
caller all that is wrong. A custom command is kept as an argument list, never a shell string.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

from chalicelib.core.durations import TtlBounds
from chalicelib.core.errors import FieldError, InvalidRequest
from chalicelib.core.tiers import JobTarget, Tier, target_errors, tier_for
from chalicelib.core.workflows import CUSTOM_ALLOW_LIST, READ_ONLY_CUSTOM, WORKFLOW_BY_COMMAND, Command, Workflow

REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
SHA = re.compile(r"^[0-9a-f]{40}$")
# A branch, tag or full ref: git's check-ref-format rules, simplified to what is safe to pass along.
REF = re.compile(r"^(?!/)(?!.*(?:\.\.|//|@\{|\.lock$|/$|\.$))[A-Za-z0-9._/+-]{1,255}$")
ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
JOB_DEFINITION_ARN = re.compile(
    r"^arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job-definition/[A-Za-z0-9_-]{1,128}(?::\d+)?$")
JOB_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:job-queue/[A-Za-z0-9_-]{1,128}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
CUSTOM_ARG = re.compile(r"^[A-Za-z0-9_.:/=\[\]\"'-]{1,256}$")
MAX_CUSTOM_ARGS = 16
EPHEMERAL_NAME = re.compile(r"^pr-[1-9][0-9]{0,8}$")
TTL_COMMANDS = frozenset({Command.EPHEMERAL, Command.CRON})  # the commands that apply or move a TTL
FIELDS = ("repository", "commit", "environment", "command", "job_definition_arn", "job_queue_arn",
          "user_email", "pull_request", "ttl", "args", "request_id")


@dataclass(frozen=True)
class Environment:
    name: str
    account_id: str

    @property
    def is_ephemeral(self) -> bool:
        return self.name.startswith("pr-")


@dataclass(frozen=True)
class CustomCommand:
    """An allow-listed terraform subcommand and its arguments, as an argument list."""

    subcommand: str
    args: tuple[str, ...] = ()

    @property
    def argv(self) -> list[str]:
        return [self.subcommand, *self.args]


@dataclass(frozen=True)
class RequestDefaults:
    """What a request may leave out, from settings: each tier's Batch job definition and queue (the
    first two: the one for every tier without its own), account ids."""

    job_definition_arn: str
    job_queue_arn: str
    accounts: dict[str, str] = field(default_factory=dict)
    ephemeral_account_id: str = ""
    jobs: dict[Tier, JobTarget] = field(default_factory=dict)

    def job_target(self, tier: Tier) -> JobTarget:
        return self.jobs.get(tier) or JobTarget(self.job_definition_arn, self.job_queue_arn)

    def account_for(self, environment: str) -> str | None:
        if environment in self.accounts:
            return self.accounts[environment]
        if environment.startswith("pr-") and self.ephemeral_account_id:
            return self.ephemeral_account_id
        return None


@dataclass(frozen=True)
class PipelineRequest:
    repository: str
    commit: str
    environment: Environment
    command: Command
    job_definition_arn: str
    job_queue_arn: str
    user_email: str
    pull_request: int | None = None
    ttl_seconds: int | None = None
    custom: CustomCommand | None = None
    request_id: str | None = None
    sha: str | None = None  # the commit resolved to a sha before a run starts
    # Who may not approve this run (issue 13, independence), set by the intake from the authenticated
    # channel, never from the request body: who triggered it (GitHub logins, an IAM ARN, the Actions
    # token's actor) and, for a push, the authors of the commits being applied (logins and emails).
    requested_by: tuple[str, ...] = ()
    commit_authors: tuple[str, ...] = ()

    @property
    def workflow(self) -> Workflow:
        return WORKFLOW_BY_COMMAND[self.command]

    def triggered_by(self, *identities: str | None, commit_authors: tuple[str, ...] = ()) -> PipelineRequest:
        return replace(self, requested_by=tuple(dict.fromkeys(i for i in identities if i)),
                       commit_authors=commit_authors)

    def of_merged_pull_request(self, number: int, author: str) -> PipelineRequest:
        """This push's run belongs to the merged pull request `number`: its comments and `/approve` are
        there, and its author may not approve it (issue 13: independence)."""
        return replace(self, pull_request=number,
                       requested_by=tuple(dict.fromkeys((*self.requested_by, author) if author else self.requested_by)))

    def resolved(self, sha: str) -> PipelineRequest:
        if not SHA.match(sha):
            raise InvalidRequest(f"resolving commit {self.commit!r} of {self.repository}",
                                 [FieldError("commit", sha, "a 40-character hex sha")])
        return replace(self, sha=sha)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["command"] = self.command.value
        data["custom"] = {"subcommand": self.custom.subcommand, "args": list(self.custom.args)} if self.custom else None
        data["requested_by"], data["commit_authors"] = list(self.requested_by), list(self.commit_authors)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> PipelineRequest:
        """Rebuild a request this code wrote itself (execution input, job spec); not for user input."""
        custom = data.get("custom")
        return cls(
            repository=data["repository"], commit=data["commit"],
            environment=Environment(**data["environment"]), command=Command(data["command"]),
            job_definition_arn=data["job_definition_arn"], job_queue_arn=data["job_queue_arn"],
            user_email=data["user_email"], pull_request=data.get("pull_request"),
            ttl_seconds=data.get("ttl_seconds"),
            custom=CustomCommand(custom["subcommand"], tuple(custom["args"])) if custom else None,
            request_id=data.get("request_id"), sha=data.get("sha"),
            requested_by=tuple(data.get("requested_by") or ()), commit_authors=tuple(data.get("commit_authors") or ()),
        )


def parse_custom_command(args: object, errors: list[FieldError],
                         environment: Environment | None = None) -> CustomCommand | None:
    """An allow-listed command, or None with what is wrong in `errors`; on a long-lived `environment`
    only a read-only one."""
    allowed = ", ".join(sorted(CUSTOM_ALLOW_LIST))
    accepted = (f"a list of strings starting with an allow-listed terraform subcommand ({allowed}; "
                "state takes list or show), at most 16 arguments, no shell syntax")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        errors.append(FieldError("args", args, accepted))
        return None
    subcommand, rest = args[0], args[1:]
    if subcommand not in CUSTOM_ALLOW_LIST or len(rest) > MAX_CUSTOM_ARGS:
        errors.append(FieldError("args", " ".join(args)[:200], accepted))
        return None
    second = CUSTOM_ALLOW_LIST[subcommand]
    if second is not None and (not rest or rest[0] not in second):
        errors.append(FieldError("args", " ".join(args)[:200], accepted))
        return None
    bad = [a for a in rest if not CUSTOM_ARG.match(a) or a.startswith(("-chdir", "-plugin-dir"))]
    if bad:
        errors.extend(FieldError("args", a, accepted) for a in bad)
        return None
    if environment is not None and not environment.is_ephemeral and subcommand not in READ_ONLY_CUSTOM:
        errors.append(FieldError("args", " ".join(args)[:200], (
            f"a read-only terraform subcommand on the long-lived environment {environment.name} "
            f"({', '.join(sorted(READ_ONLY_CUSTOM))})")))
        return None
    return CustomCommand(subcommand, tuple(rest))


def parse_pipeline_request(raw: object, defaults: RequestDefaults, ttl: TtlBounds,
                           doing: str = "validating the pipeline request") -> PipelineRequest:
    """A `PipelineRequest` from untrusted JSON, or InvalidRequest naming every bad field."""
    if not isinstance(raw, dict):
        raise InvalidRequest(doing, [FieldError("body", raw, "a JSON object with the PipelineRequest fields")])
    errors: list[FieldError] = []
    for name in sorted(set(raw) - set(FIELDS)):  # its value is not echoed: a stray field may carry a secret
        errors.append(FieldError(name, "(value not shown)", f"only the fields {', '.join(FIELDS)}"))

    def text(name: str, pattern: re.Pattern, accepted: str, value: object = None, required: bool = True):
        value = raw.get(name) if value is None else value
        if value is None and not required:
            return None
        if not isinstance(value, str) or not pattern.match(value):
            errors.append(FieldError(name, value, accepted))
            return None
        return value

    repository = text("repository", REPOSITORY, "owner/name of a GitHub repository")
    commit = raw.get("commit")
    if not isinstance(commit, str) or not (SHA.match(commit) or REF.match(commit)):
        errors.append(FieldError("commit", commit, "a 40-character sha, a branch, a tag or a ref (refs/...)"))
        commit = None

    command = None
    try:
        command = Command(raw.get("command"))
    except ValueError:
        errors.append(FieldError("command", raw.get("command"), ", ".join(c.value for c in Command)))

    environment = _parse_environment(raw.get("environment"), defaults, errors)
    if command in TTL_COMMANDS and environment is not None and not environment.is_ephemeral:
        errors.append(FieldError("environment.name", environment.name, (
            f"an ephemeral environment pr-<N> for the {command.value} command: only pull request environments "
            "get a TTL; a long-lived environment changes only through PLAN-APPLY (command apply)")))
    job_definition, job_queue = _job_target(raw, command, environment, defaults, errors)
    email = text("user_email", EMAIL, "an email address (the actor)")
    request_id = text("request_id", REQUEST_ID, "up to 128 letters, digits and _.:-", required=False)

    pull_request = raw.get("pull_request")
    if pull_request is not None and (isinstance(pull_request, bool) or not isinstance(pull_request, int)
                                     or not 0 < pull_request < 10**9):
        errors.append(FieldError("pull_request", pull_request, "a positive pull request number"))
        pull_request = None

    ttl_seconds = None
    if raw.get("ttl") is not None:
        ttl_seconds, error = ttl.check("ttl", raw["ttl"])
        if error:
            errors.append(error)
    elif command == Command.CRON:
        errors.append(FieldError("ttl", None, "the cron command needs " + ttl.accepted()))
    if command == Command.EPHEMERAL and ttl_seconds is None and raw.get("ttl") is None:
        ttl_seconds = ttl.default

    custom = None
    if command == Command.CUSTOM:
        custom = parse_custom_command(raw.get("args"), errors, environment)
    elif raw.get("args") is not None:
        errors.append(FieldError("args", raw.get("args"), "args only with command custom"))

    if errors:
        raise InvalidRequest(doing, errors)
    return PipelineRequest(
        repository=repository, commit=commit, environment=environment, command=command,
        job_definition_arn=job_definition, job_queue_arn=job_queue, user_email=email,
        pull_request=pull_request, ttl_seconds=ttl_seconds, custom=custom, request_id=request_id,
        sha=commit if SHA.match(commit) else None,
    )


def _job_target(raw: dict, command: Command | None, environment: Environment | None, defaults: RequestDefaults,
                errors: list[FieldError]) -> tuple[str | None, str | None]:
    """The tier's job definition and queue. A request may name them only as they are: the pipeline
    chooses the tier, so naming another tier's definition (a plan asking for the apply role) is refused."""
    target = JobTarget(defaults.job_definition_arn, defaults.job_queue_arn)
    tier = None
    if command is not None and environment is not None:
        tier = tier_for(WORKFLOW_BY_COMMAND[command], environment.is_ephemeral)
        target = defaults.job_target(tier)
    found = []
    for name, pattern, default, accepted in (
            ("job_definition_arn", JOB_DEFINITION_ARN, target.definition_arn,
             "a Batch job definition ARN (arn:aws:batch:<region>:<account>:job-definition/<name>[:<rev>])"),
            ("job_queue_arn", JOB_QUEUE_ARN, target.queue_arn,
             "a Batch job queue ARN (arn:aws:batch:<region>:<account>:job-queue/<name>)")):
        value = raw.get(name) or default
        if not isinstance(value, str) or not pattern.match(value):
            errors.append(FieldError(name, value, accepted))
            value = None
        found.append(value)
    definition, queue = found
    if tier is not None:
        asked = [raw.get(name) if value and raw.get(name) else None
                 for name, value in (("job_definition_arn", definition), ("job_queue_arn", queue))]
        errors.extend(target_errors(tier, target, *asked))
    return definition, queue


def _parse_environment(value: object, defaults: RequestDefaults, errors: list[FieldError]) -> Environment | None:
    accepted_name = "a lower-case name of letters, digits and '-', at most 32 characters"
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        errors.append(FieldError("environment", value, '{"name": ..., "account_id": "<12 digits>"}'))
        return None
    name, account = value.get("name"), value.get("account_id")
    name_ok = isinstance(name, str) and bool(ENVIRONMENT.match(name))
    if not name_ok:
        errors.append(FieldError("environment.name", name, accepted_name))
    if name_ok and name.startswith("pr-") and not EPHEMERAL_NAME.match(name):
        errors.append(FieldError("environment.name", name, "pr-<pull request number> (names starting with pr- are "
                                                           "pull request environments)"))
        return None
    declared = defaults.account_for(name) if name_ok else None
    if account is None:
        account = declared
    elif declared is not None and account != declared:
        # A long-lived environment's name is bound to its account: prod in another account is not prod.
        setting = "TFPIPE_EPHEMERAL_ACCOUNT_ID" if name.startswith("pr-") else "TFPIPE_ENVIRONMENTS"
        errors.append(FieldError("environment.account_id", account,
                                 f"{name}'s declared account {declared} ({setting}), or no account_id"))
        return None
    # With a bad name, a missing account cannot be looked up: only an account given and bad is named too.
    if (account is not None or name_ok) and (not isinstance(account, str) or not ACCOUNT_ID.match(account)):
        errors.append(FieldError("environment.account_id", account, "a 12-digit AWS account id"))
        return None
    return Environment(name, account) if name_ok else None
