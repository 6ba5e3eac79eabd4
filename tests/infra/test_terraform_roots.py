"""`terraform fmt` and `terraform validate` (offline, with the real hashicorp/aws provider from the
filesystem mirror) over every Terraform directory of the repository."""

from __future__ import annotations

import pytest

from tests.infra.conftest import TERRAFORM_DIRS
from tests.infra.terraform_cli import REPO, terraform, terraform_env

pytestmark = pytest.mark.terraform


def test_every_terraform_file_is_formatted():
    result = terraform(["fmt", "-check", "-recursive", "-list=true", "-no-color", "terraform", "examples", "executor",
                        "tests/executor/infra"],
                       REPO, terraform_env(), check=False)
    assert result.returncode == 0, f"run `terraform fmt -recursive` on these files:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("directory", TERRAFORM_DIRS)
def test_terraform_directory_validates_offline(directory, initialized):
    env = initialized(directory)
    result = terraform(["validate", "-json", "-no-color"], REPO / directory, env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"valid": true' in result.stdout


@pytest.mark.parametrize("directory", ["executor", "tests/executor/infra"])
def test_the_executor_image_and_test_configurations_validate_offline(directory, tmp_path):
    # Copied out first: their folders are not git-ignoring a lock file, and init would leave one.
    import shutil

    work = tmp_path / "root"
    shutil.copytree(REPO / directory, work, ignore=shutil.ignore_patterns(".terraform*", "*.py", "__pycache__",
                                                                        "Dockerfile*", "*.yml", "*.txt", "executor"))
    env = terraform_env(TF_DATA_DIR=str(tmp_path / ".terraform"))
    terraform(["init", "-backend=false", "-input=false", "-no-color"], work, env)
    result = terraform(["validate", "-json", "-no-color"], work, env, check=False)
    assert '"valid": true' in result.stdout, result.stdout + result.stderr
