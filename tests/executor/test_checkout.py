"""Checkout of exactly one commit, and the token kept out of argv, config and messages."""

from __future__ import annotations

import base64
import subprocess

import pytest
from executor.checkout import checkout, git_auth_env
from executor.failures import JobFailure

from tests.executor.conftest import InfraRepo


def test_checkout_fetches_exactly_the_requested_commit_even_when_it_is_not_a_branch_tip(tmp_path):
    repo = InfraRepo(tmp_path)
    old = repo.commit("old")
    repo.commit("new")
    dest = tmp_path / "src"
    checkout(repo.url, old, dest, git_auth_env(repo.url, None), timeout=60)
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert head.strip() == old
    depth = subprocess.run(["git", "-C", str(dest), "rev-list", "--count", "HEAD"], capture_output=True, text=True)
    assert depth.stdout.strip() == "1"  # shallow: one commit fetched


def test_checkout_of_an_unknown_commit_fails_naming_the_commit(tmp_path):
    repo = InfraRepo(tmp_path)
    with pytest.raises(JobFailure, match="checking out 0123456789ab"):
        checkout(repo.url, "0123456789ab" + "0" * 28, tmp_path / "src", git_auth_env(repo.url, None), timeout=60)


def test_https_token_travels_as_an_extra_header_in_the_environment_scoped_to_the_host():
    env = git_auth_env("https://github.com/acme/infra.git", "ghs_token123")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    assert base64.b64decode(env["GIT_CONFIG_VALUE_0"].split()[-1]) == b"x-access-token:ghs_token123"
    assert env["GIT_TERMINAL_PROMPT"] == "0"


def test_local_clone_urls_get_no_credentials():
    assert "GIT_CONFIG_COUNT" not in git_auth_env("file:///srv/git/acme/infra.git", "ghs_token123")
