"""`tfpipe.yml` at the root of an infrastructure repository: what to build before planning.

    build:                               # each command an argument list, run in the checkout, no shell
      - name: app
        command: ["python3", "build.py", "dist/app.zip"]
        output: dist/app.zip             # uploaded to runs/<tier>/<run-id>/build/<name>/<file>
        variable: app_package_key        # gets the S3 key: -var app_package_key=<key>
        timeout: 10m                     # optional, default 10m
    artifacts_bucket_variable: artifacts_bucket   # gets the bucket the outputs went to

A failing build fails the run (BuildFailed) before anything is planned.

The file is read from the commit being planned, a pull request's head included, so nothing in it may
widen what the job reaches. Which secrets Terraform receives is declared in the pipeline's settings
(`TFPIPE_REPOSITORY_SECRETS`, per repository and environment), and a `secrets:` key here is refused
before any secret is read. The two keys left change nothing a job may reach: build steps are the
pull request's code like its Terraform, run with the same (lack of) credentials, and the artifacts
bucket is the one the job role may write its own prefix of anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from chalicelib.core.durations import parse_duration
from chalicelib.core.job import JobErrorClass
from executor.failures import JobFailure
from executor.isolation import read_untrusted

FILE = "tfpipe.yml"
KEYS = {"build", "artifacts_bucket_variable", "projects"}  # `projects:` is read by executor.projects
# Keys this file once had, and why they are refused now (a stale file fails loudly, it is not ignored).
MOVED = {"secrets": "secrets are no longer read from the repository: a pull request could name any secret "
                    "(the pipeline's GitHub token included). Declare them in the pipeline's settings, "
                    "TFPIPE_REPOSITORY_SECRETS (per repository and environment, names under "
                    "<app>/<stage>/repos/<owner>/<name>/; docs/security.md, Secrets), and remove `secrets:`"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
DEFAULT_BUILD_TIMEOUT = 600


@dataclass(frozen=True)
class BuildStep:
    name: str
    command: list[str]
    output: str | None = None
    variable: str | None = None
    timeout_seconds: int = DEFAULT_BUILD_TIMEOUT


@dataclass(frozen=True)
class RepoConfig:
    build: list[BuildStep] = field(default_factory=list)
    artifacts_bucket_variable: str | None = None


def read_repo_file(checkout: Path) -> object | None:
    """`tfpipe.yml` as YAML gives it, not yet checked (None: the repository has none; {} when empty).
    Shared by the build settings here and the project list (`executor.projects`)."""
    if not (Path(checkout) / FILE).exists():
        return None
    doing = f"reading {FILE}"
    try:
        # Never through a link the repository planted (to /proc/self/environ): YAML errors quote the text.
        return yaml.safe_load(read_untrusted(Path(checkout), FILE).decode(errors="replace")) or {}
    except OSError:
        raise _bad(doing, f"{FILE} must be a regular file in the repository, not a link") from None
    except yaml.YAMLError as exc:
        raise JobFailure(JobErrorClass.BUILD_FAILED, f"{doing}: not valid YAML: {exc}") from None


def load_repo_config(checkout: Path) -> RepoConfig:
    raw = read_repo_file(checkout)
    if raw is None:
        return RepoConfig()
    doing = f"reading {FILE}"
    if isinstance(raw, dict):
        for key in sorted(set(raw) & set(MOVED)):
            raise _bad(doing, f"`{key}:` is refused: {MOVED[key]}")
    if not isinstance(raw, dict) or set(raw) - KEYS:
        raise _bad(doing, f"expected a mapping with only the keys {', '.join(sorted(KEYS))}")
    steps = raw.get("build") or []
    bucket_variable = raw.get("artifacts_bucket_variable")
    if bucket_variable is not None and not (isinstance(bucket_variable, str) and _NAME.match(bucket_variable)):
        raise _bad(doing, "artifacts_bucket_variable must be a Terraform variable name")
    return RepoConfig(build_steps(steps, doing), bucket_variable)


def var_file(checkout: Path, environment: str, ephemeral: bool) -> str | None:
    """`environments/<env>.tfvars`, or for an ephemeral workspace without one `environments/ephemeral.tfvars`."""
    candidates = [f"environments/{environment}.tfvars"] + (["environments/ephemeral.tfvars"] if ephemeral else [])
    return next((c for c in candidates if (Path(checkout) / c).is_file()), None)


def _bad(doing: str, what: str) -> JobFailure:
    return JobFailure(JobErrorClass.BUILD_FAILED, f"{doing}: {what}")


def build_steps(steps: object, doing: str, where: str = "build") -> list[BuildStep]:
    """A `build:` list (the file's, or a project's in `executor.projects`), each step checked."""
    if not isinstance(steps, list):
        raise _bad(doing, f"{where} must be a list of steps (name, command, output, variable)")
    return [_step(s, f"{where}[{i}]", doing) for i, s in enumerate(steps)]


def _step(raw: object, where: str, doing: str) -> BuildStep:
    if not isinstance(raw, dict) or set(raw) - {"name", "command", "output", "variable", "timeout"}:
        raise _bad(doing, f"{where} must be a mapping of name, command, output, variable, timeout")
    name, command = raw.get("name"), raw.get("command")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _bad(doing, f"{where}.name must be a simple name")
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise _bad(doing, f"{where}.command must be an argument list, e.g. [python3, build.py]")
    output, variable = raw.get("output"), raw.get("variable")
    if output is not None and not (isinstance(output, str) and _inside(output)):
        raise _bad(doing, f"{where}.output must be a relative path inside the repository")
    if variable is not None and not (isinstance(variable, str) and _NAME.match(variable) and output):
        raise _bad(doing, f"{where}.variable must be a Terraform variable name, with an output to name")
    try:
        timeout = parse_duration(str(raw.get("timeout", "10m")))
    except ValueError as exc:
        raise _bad(doing, f"{where}.timeout: {exc}") from None
    return BuildStep(name, list(command), output, variable, timeout)


def _inside(rel: str) -> bool:
    path = PurePosixPath(rel)
    return not path.is_absolute() and ".." not in path.parts and bool(path.parts)
