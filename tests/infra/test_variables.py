"""terraform/variables.tf refuses what the app's settings refuse, before anything is planned: the
variables alone, as `terraform plan` checks them."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.infra.terraform_cli import REPO, terraform, terraform_env

pytestmark = pytest.mark.terraform

REQUIRED = ['-var=subnet_ids=["subnet-12345678"]', "-var=vpc_id=vpc-12345678"]


@pytest.fixture(scope="module")
def variables(tmp_path_factory):
    work = tmp_path_factory.mktemp("variables")
    shutil.copy(REPO / "terraform" / "variables.tf", work)
    env = terraform_env(TF_DATA_DIR=str(work / ".terraform"))
    terraform(["init", "-input=false", "-no-color"], work, env)
    return lambda *args: terraform(["plan", "-input=false", "-no-color", *REQUIRED, *args], work, env, check=False)


def test_previews_in_a_long_lived_environments_account_are_refused_unless_allowed(variables):
    pairing = [f"-var=environments={json.dumps({'staging': '222222222222', 'prod': '333333333333'})}",
               "-var=ephemeral_account_id=222222222222"]

    refused = variables(*pairing)
    assert refused.returncode == 1
    assert "ephemeral_account_id is also the account of a long-lived environment" in refused.stderr
    assert 'ephemeral_shared_account = "allow"' in refused.stderr
    assert variables(*pairing, "-var=ephemeral_shared_account=allow").returncode == 0
    assert variables(pairing[0], "-var=ephemeral_account_id=444444444444").returncode == 0
