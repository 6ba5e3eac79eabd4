"""The state layout in the state bucket and the backend flags init gets."""

from __future__ import annotations

import pytest
from executor.backend import REFUSED_SETTINGS, backend_args, refuse_own_settings, state_location
from executor.failures import JobFailure
from executor.sources import backend_blocks

from chalicelib.core.job import JobErrorClass


def test_long_lived_environment_has_one_state_key_per_repository_and_environment():
    location = state_location("state", "acme/infra", "prod", "default")
    assert location.state_key == "acme/infra/env/prod/terraform.tfstate"
    assert location.lock_key == "acme/infra/env/prod/terraform.tfstate.tflock"
    assert backend_args(location, "eu-west-1", use_path_style=False) == [
        "-backend-config=bucket=state", "-backend-config=key=acme/infra/env/prod/terraform.tfstate",
        "-backend-config=region=eu-west-1", "-backend-config=use_lockfile=true", "-backend-config=encrypt=true"]


def test_ephemeral_environment_is_a_workspace_under_the_repositorys_ephemeral_prefix():
    location = state_location("state", "acme/infra", "pr-42", "pr-42")
    assert location.state_key == "acme/infra/ephemeral/pr-42/terraform.tfstate"
    args = backend_args(location, "us-east-1", use_path_style=True)
    assert "-backend-config=workspace_key_prefix=acme/infra/ephemeral" in args
    assert "-backend-config=use_path_style=true" in args


def test_a_named_projects_state_has_its_own_key_and_ephemeral_prefix_and_the_roots_stay_todays():
    network = state_location("state", "acme/infra", "prod", "default", project="network")
    assert network.state_key == "acme/infra/network/env/prod/terraform.tfstate"
    nested = state_location("state", "acme/infra", "prod", "default", project="stacks/dns")
    assert nested.state_key == "acme/infra/stacks/dns/env/prod/terraform.tfstate"
    preview = state_location("state", "acme/infra", "pr-42", "pr-42", project="network")
    assert preview.state_key == "acme/infra/network/ephemeral/pr-42/terraform.tfstate"
    assert "-backend-config=workspace_key_prefix=acme/infra/network/ephemeral" in backend_args(preview, "r", False)
    root = state_location("state", "acme/infra", "prod", "default", project="")
    assert root == state_location("state", "acme/infra", "prod", "default")
    assert root.state_key == "acme/infra/env/prod/terraform.tfstate"


@pytest.mark.parametrize("project", ["..", "a/../b", "env", "x/ephemeral", "a//b", "/abs", "a b"])
def test_a_project_name_that_would_leave_or_mix_into_another_state_is_refused(project):
    with pytest.raises(ValueError, match="unsafe path segment"):
        state_location("state", "acme/infra", "prod", "default", project=project)


@pytest.mark.parametrize(("repository", "environment"), [("acme/..", "prod"), ("acme/infra", "../prod"),
                                                         ("acme", "prod"), ("acme/infra", "")])
def test_unsafe_path_segments_are_refused(repository, environment):
    with pytest.raises(ValueError, match="unsafe path segment"):
        state_location("state", repository, environment, "default")


def test_a_missing_state_bucket_is_named():
    with pytest.raises(ValueError, match="no state bucket configured"):
        state_location("", "acme/infra", "prod", "default")


def test_the_state_layout_docs_onboarding_shows_is_the_executors():
    from tests.executor.conftest import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "onboarding.md").read_text()
    long_lived = state_location("b", "owner/name", "environment", "default").state_key
    ephemeral = state_location("b", "owner/name", "pr-1", "pr-1").state_key
    assert long_lived.replace("owner/name", "<owner>/<name>").replace("environment", "<environment>") in doc
    assert ephemeral.replace("owner/name", "<owner>/<name>").replace("pr-1", "pr-<N>") in doc
    # and the move of existing state writes the long-lived key
    assert 'key=$REPOSITORY/env/$ENVIRONMENT/terraform.tfstate' in doc
    assert long_lived == "owner/name/env/environment/terraform.tfstate"


def test_an_empty_backend_block_passes_the_check_before_init(tmp_path):
    (tmp_path / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    assert [(b.where, b.kind, b.settings) for b in backend_blocks(tmp_path)] == [("main.tf", "s3", ())]
    refuse_own_settings(backend_blocks(tmp_path))


@pytest.mark.parametrize(("name", "text"), [
    ("main.tf", 'terraform {\n  backend "s3" {\n    key = "old/terraform.tfstate"\n'
                '    dynamodb_table = "locks"\n    use_lockfile = true\n  }\n}\n'),
    ("backend.tf.json", '{"terraform": {"backend": {"s3": {"key": "old/terraform.tfstate", '
                        '"dynamodb_table": "locks", "use_lockfile": true}}}}')])
def test_a_backend_block_with_its_own_settings_is_refused_naming_file_and_settings(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    with pytest.raises(JobFailure) as caught:
        refuse_own_settings(backend_blocks(tmp_path))
    assert caught.value.error is JobErrorClass.INIT_FAILED
    assert f"in {name} sets key, dynamodb_table, use_lockfile" in str(caught.value)
    assert 'docs/onboarding.md, "Bringing existing state"' in str(caught.value)


def test_every_setting_the_job_passes_to_init_is_one_the_block_may_not_set():
    location = state_location("state", "acme/infra", "pr-42", "pr-42")
    passed = {arg.removeprefix("-backend-config=").split("=")[0] for arg in backend_args(location, "r", True)}
    assert passed <= REFUSED_SETTINGS
