"""Which Secrets Manager secrets a repository's Terraform may receive, declared by the pipeline's
operator (`TFPIPE_REPOSITORY_SECRETS`), never by the repository: a pull request's `tfpipe.yml` could
otherwise name any secret the job role may read, the pipeline's own GitHub token included.

    {"acme/infra": {"*":      {"db_password": "db"},            # every environment
                    "pr-*":   {"db_password": "preview/db"},    # ephemeral pull request environments
                    "prod":   {"db_password": "prod/db", "api_key": "prod/api"}}}

Each value names a secret relative to the repository's own prefix
`<prefix><owner>/<name>/` (prefix `<app>/<stage>/repos/` by default, the only names the job roles
may read), so `db` of `acme/infra` is `tfpipe/prod/repos/acme/infra/db`. A name that could leave
that prefix (absolute, `..`, empty parts) is refused when the settings are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

SETTING = "TFPIPE_REPOSITORY_SECRETS"
ALL_ENVIRONMENTS = "*"
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_PART = re.compile(r"^[A-Za-z0-9_+=.@-]+$")  # Secrets Manager's name characters, without '/'


class RepositorySecretsError(ValueError):
    """A malformed `TFPIPE_REPOSITORY_SECRETS`; the message says where and what is accepted."""


@dataclass(frozen=True)
class RepositorySecrets:
    prefix: str = ""  # "<app>/<stage>/repos/"
    # repository (lower case) -> environment pattern -> Terraform variable -> secret name under the prefix
    declared: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: object, prefix: str) -> RepositorySecrets:
        if not isinstance(raw, dict):
            raise RepositorySecretsError(f"{SETTING}: expected a JSON object of repository -> environment -> "
                                         "{terraform variable: secret name}")
        declared: dict[str, dict[str, dict[str, str]]] = {}
        for repository, environments in raw.items():
            if not isinstance(repository, str) or not _REPOSITORY.match(repository):
                raise RepositorySecretsError(f"{SETTING}: {repository!r} is not a repository (owner/name)")
            if not isinstance(environments, dict):
                raise RepositorySecretsError(f"{SETTING}[{repository}]: expected an object of environment "
                                             f"(a name, a pattern such as pr-*, or {ALL_ENVIRONMENTS}) -> variables")
            declared[repository.lower()] = {
                str(environment): _variables(variables, f"{SETTING}[{repository}][{environment}]")
                for environment, variables in environments.items()}
        return cls(_normal_prefix(prefix), declared)

    def repository_prefix(self, repository: str) -> str:
        return f"{self.prefix}{repository.lower()}/"

    def for_environment(self, repository: str, environment: str) -> dict[str, str]:
        """Terraform variable -> full secret name, for one repository's environment: `*` first, then
        matching patterns, then the environment's own name (the more precise declaration wins)."""
        environments = self.declared.get(repository.lower(), {})
        patterns = sorted(p for p in environments if p not in (ALL_ENVIRONMENTS, environment)
                          and any(c in p for c in "*?[") and fnmatchcase(environment, p))
        chosen: dict[str, str] = {}
        for pattern in [ALL_ENVIRONMENTS, *patterns, environment]:
            chosen.update(environments.get(pattern, {}))
        base = self.repository_prefix(repository)
        return {variable: base + name for variable, name in sorted(chosen.items())}


def is_under(secret_name: str, prefix: str) -> bool:
    """Whether a full secret name lies under a repository's prefix (the executor checks again)."""
    rest = secret_name[len(prefix):] if secret_name.startswith(prefix) else None
    return bool(prefix) and rest is not None and _relative_ok(rest)


def _variables(raw: object, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise RepositorySecretsError(f"{where}: expected an object of terraform variable -> secret name")
    for variable, name in raw.items():
        if not isinstance(variable, str) or not _VARIABLE.match(variable):
            raise RepositorySecretsError(f"{where}: {variable!r} is not a Terraform variable name")
        if not isinstance(name, str) or not _relative_ok(name):
            raise RepositorySecretsError(
                f"{where}[{variable}]: {name!r} is not a secret name relative to the repository's prefix "
                "(<prefix><owner>/<name>/): use parts of letters, digits and _+=.@- joined by '/', "
                "without a leading '/', '..' or empty parts")
    return dict(raw)


def _relative_ok(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and all(part and part not in (".", "..") and _PART.match(part) for part in parts)


def _normal_prefix(prefix: str) -> str:
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"
