"""`terraform fmt` and `terraform validate` (offline, with the real hashicorp/aws provider from the
filesystem mirror) over every Terraform directory of the repository."""

from __future__ import annotations

import pytest

from tests.infra.conftest import TERRAFORM_DIRS
from tests.infra.terraform_cli import REPO, terraform, terraform_env

pytestmark = pytest.mark.terraform


def test_every_terraform_file_is_formatted():
    result = terraform(["fmt", "-check", "-recursive", "-list=true", "-no-color", "terraform", "examples"],
                       REPO, terraform_env(), check=False)
    assert result.returncode == 0, f"run `terraform fmt -recursive` on these files:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("directory", TERRAFORM_DIRS)
def test_terraform_directory_validates_offline(directory, initialized):
    env = initialized(directory)
    result = terraform(["validate", "-json", "-no-color"], REPO / directory, env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"valid": true' in result.stdout
