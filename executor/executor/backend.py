"""Where state lives: the S3 backend configuration of one job.

Layout in the state bucket (one lock per state, S3 native lockfile `<state>.tflock` beside it):

    <owner>/<name>/env/<environment>/terraform.tfstate     long-lived environments (workspace default)
    <owner>/<name>/ephemeral/pr-<N>/terraform.tfstate      ephemeral environments (workspace pr-<N>)

and for a named project of the repository (executor.projects; the root, named "", keeps the above):

    <owner>/<name>/<project>/env/<environment>/terraform.tfstate
    <owner>/<name>/<project>/ephemeral/pr-<N>/terraform.tfstate

Ephemeral environments share one backend configuration and differ by Terraform workspace, so they can
be listed (`terraform workspace list`) and each destroyed alone. The default workspace of that
configuration (the bare `terraform.tfstate` key) is never used: the executor always sets TF_WORKSPACE.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.job import JobErrorClass
from chalicelib.core.naming import STATE_FILE, ephemeral_state_prefix, long_lived_state_key
from executor.failures import JobFailure
from executor.sources import BackendBlock

# What `backend_args` sets, and what would send the state or its lock elsewhere or swap the job's
# credentials: written in the root's backend "s3" block, each would be overridden or fight the job's.
REFUSED_SETTINGS = frozenset({"bucket", "key", "region", "use_lockfile", "encrypt", "workspace_key_prefix",
                              "use_path_style", "dynamodb_table", "profile", "role_arn", "assume_role"})
MIGRATION_DOC = 'docs/onboarding.md, "Bringing existing state"'
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# The layout's own segments: a project so named would put its state among another's (or the root's).
_LAYOUT = {"env", "ephemeral"}


@dataclass(frozen=True)
class StateLocation:
    bucket: str
    key: str
    workspace_key_prefix: str | None
    workspace: str

    @property
    def state_key(self) -> str:
        """The S3 key holding this job's state."""
        if self.workspace == "default":
            return self.key
        return f"{self.workspace_key_prefix}/{self.workspace}/{self.key}"

    @property
    def lock_key(self) -> str:
        return self.state_key + ".tflock"


def state_location(bucket: str, repository: str, environment: str, workspace: str, project: str = "") -> StateLocation:
    """`project` is the project's name ("" for the repository root: today's keys)."""
    owner, _, name = repository.partition("/")
    parts = [owner, name, environment] + ([] if workspace == "default" else [workspace])
    parts += project.split("/") if project else []
    bad = [p for p in parts if not _SEGMENT.match(p) or ".." in p]
    bad += [p for p in project.split("/") if p in _LAYOUT] if project else []
    if bad or not bucket:
        where = f"{repository} {environment}" + (f" (project {project!r})" if project else "")
        raise ValueError(f"locating the Terraform state of {where}: "
                         f"{'no state bucket configured' if not bucket else f'unsafe path segment {bad[0]!r}'}")
    repository = f"{owner}/{name}"
    if workspace == "default":
        return StateLocation(bucket, long_lived_state_key(repository, environment, project), None, workspace)
    return StateLocation(bucket, STATE_FILE, ephemeral_state_prefix(repository, project), workspace)


def backend_args(location: StateLocation, region: str, use_path_style: bool) -> list[str]:
    """`terraform init` flags; endpoints and credentials come from the standard AWS variables."""
    config = {"bucket": location.bucket, "key": location.key, "region": region,
              "use_lockfile": "true", "encrypt": "true"}
    if location.workspace_key_prefix:
        config["workspace_key_prefix"] = location.workspace_key_prefix
    if use_path_style:
        config["use_path_style"] = "true"
    return [f"-backend-config={k}={v}" for k, v in config.items()]


def initialized_backend(checkout: Path, data_dir: str = ".terraform") -> str | None:
    """The backend type `terraform init` set up in `checkout` (None: none, so state would be local).

    Terraform only warns when `-backend-config` meets a configuration without a backend block, and
    then keeps the state in the checkout, which is deleted when the job ends; init's record of the
    backend (`<data dir>/terraform.tfstate`) says which one it really configured.
    """
    try:
        record = json.loads((Path(checkout) / data_dir / "terraform.tfstate").read_text())
    except (OSError, ValueError):
        return None
    backend = record.get("backend") if isinstance(record, dict) else None
    return backend.get("type") if isinstance(backend, dict) else None


def refuse_own_settings(blocks: list[BackendBlock]) -> None:
    """Before init: a backend "s3" block that says where its state lives is refused, not overridden.

    `-backend-config` silently wins over the block, so a root that kept its old bucket and key would
    start from an empty state in the pipeline's bucket and plan to create everything again.
    """
    for block in blocks:
        own = [name for name in block.settings if block.kind == "s3" and name in REFUSED_SETTINGS]
        if own:
            raise JobFailure(JobErrorClass.INIT_FAILED, f"checking the backend before terraform init: the "
                             f"backend \"s3\" block in {block.where} sets {', '.join(own)}; the pipeline keeps "
                             "each environment's state in its own state bucket and sets these itself, so leave "
                             f"the block empty (`backend \"s3\" {{}}`) and move existing state there first "
                             f"({MIGRATION_DOC})")
