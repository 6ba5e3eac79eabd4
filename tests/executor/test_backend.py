"""The state layout in the state bucket and the backend flags init gets."""

from __future__ import annotations

import pytest
from executor.backend import backend_args, state_location


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
