from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.terraform_cli import REPO, terraform, terraform_env

# Every Terraform root and module in the repository that `make test` formats, validates and scans.
TERRAFORM_DIRS = ("terraform", "terraform/modules/bucket", "terraform/modules/deploy-role", "examples")


@pytest.fixture(scope="session")
def initialized():
    """`terraform init -backend=false` once per directory per session; its .terraform goes to a temporary
    TF_DATA_DIR so the working tree only gains the (git-ignored) lock file."""
    import tempfile

    done: dict[str, dict[str, str]] = {}
    scratch = tempfile.TemporaryDirectory(prefix="tfpipe-tf-data-")

    def init(directory: str) -> dict[str, str]:
        if directory not in done:
            env = terraform_env(TF_DATA_DIR=str(Path(scratch.name) / directory.replace("/", "_")))
            terraform(["init", "-backend=false", "-input=false", "-no-color"], REPO / directory, env)
            done[directory] = env
        return done[directory]

    yield init
    scratch.cleanup()
