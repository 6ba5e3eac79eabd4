"""The issue's fixture repository: three projects (`network`, `app` depending on `network`, `dns`
independent) and a shared local module `modules/queue` (itself calling `modules/naming`) that `app`
and `dns` call."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = 'terraform {\n  backend "s3" {}\n}\n'
PROJECTS_YML = """projects:
  - name: network
    dir: stacks/network
  - name: app
    dir: stacks/app
    depends_on: [network]
    environments: [staging, prod]
  - name: dns
    dir: stacks/dns
    ephemeral: false
"""
FILES = {
    "stacks/network/main.tf": ROOT + 'resource "terraform_data" "vpc" {\n  input = "10.0.0.0/16"\n}\n',
    "stacks/app/main.tf": ROOT + 'module "queue" {\n  source = "../../modules/queue"\n}\n',
    "stacks/app/environments/prod.tfvars": 'size = "large"\n',
    "stacks/dns/main.tf": ROOT + 'module "queue" {\n  source = "../../modules/queue"\n}\n',
    "modules/queue/main.tf": 'module "name" {\n  source = "../naming"\n}\nresource "terraform_data" "q" {}\n',
    "modules/naming/main.tf": 'output "prefix" {\n  value = "acme"\n}\n',
    "README.md": "infrastructure\n",
}


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write_monorepo(root: Path, projects_yml: str | None = PROJECTS_YML) -> Path:
    write(root, FILES)
    if projects_yml is not None:
        write(root, {"tfpipe.yml": projects_yml})
    return root


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def git_monorepo(root: Path) -> str:
    """The fixture repository as a real Git repository on `main`; returns the first commit."""
    write_monorepo(root)
    git(root, "init", "--quiet", "--initial-branch=main")
    return commit(root, "three projects and a shared module")
