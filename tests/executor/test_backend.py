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
