"""Checkout of exactly one commit, and the token kept out of argv, config and messages; then the
history a diff needs, fetched into that checkout without moving it."""

from __future__ import annotations

import base64
import os
import socket
import subprocess

import pytest
from executor.changes import Changes, pull_request_changes
from executor.checkout import checkout, fetch_history, git_auth_env
from executor.failures import JobFailure

from chalicelib.core.job import JobErrorClass
from tests.executor.bare_remote import BareRemote, head_and_status, job_checkout
from tests.executor.conftest import InfraRepo
from tests.executor.monorepo import git


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


def pull_request(remote: BareRemote, main_moves_on: int = 50) -> tuple[str, str]:
    """5 commits to stacks/dns branched `main_moves_on` commits behind main, on a history of 100."""
    return remote.pull_request(5, main_moves_on, history=100)


def missing_objects(dest, *commits: str) -> list[str]:
    """Objects the checkout lacks under `commits`, listed without fetching them."""
    listed = git(dest, "rev-list", "--objects", "--missing=print", *commits)
    return [line for line in listed.splitlines() if line.startswith("?")]


def test_history_comes_without_blobs_and_the_diff_needs_none_of_them(tmp_path):
    remote = BareRemote(tmp_path)
    head, base = pull_request(remote)
    dest = job_checkout(remote, head, tmp_path / "src")
    history = fetch_history(remote.url, dest, git_auth_env(remote.url, None), 60, sha=head, base="main")
    assert (history.base, history.blob_less) == (base, True)
    assert missing_objects(dest, base, head)  # old versions of the files were left on the server
    assert git(dest, "rev-parse", "--is-shallow-repository") == "true"  # 50 commits back: not the whole history
    remote.bare.rename(tmp_path / "gone.git")  # a diff that needed a blob would now fail to fetch it
    assert pull_request_changes(dest, base, head) == Changes(("stacks/dns/records.tf",))
    assert head_and_status(dest) == (head, "")


def test_a_remote_that_cannot_filter_gives_the_same_history_with_its_blobs(tmp_path):
    remote = BareRemote(tmp_path, allow_filter=False)  # a plain bare repository, as `git init --bare` makes it
    head, base = pull_request(remote)
    dest = job_checkout(remote, head, tmp_path / "src")
    history = fetch_history(remote.url, dest, git_auth_env(remote.url, None), 60, sha=head, base="main")
    assert (history.base, history.blob_less) == (base, False)
    assert missing_objects(dest, base, head) == []
    assert pull_request_changes(dest, base, head) == Changes(("stacks/dns/records.tf",))
    assert head_and_status(dest) == (head, "")


def test_fetching_history_keeps_the_token_out_of_every_argument_list_and_every_file_under_git(tmp_path):
    remote = BareRemote(tmp_path)
    head, _ = pull_request(remote, main_moves_on=400)  # every round, down to --unshallow
    logged = tmp_path / "argv.log"
    wrapper = tmp_path / "bin" / "git"  # the real git, recording each argument list it is started with
    wrapper.parent.mkdir()
    real_git = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {logged}\nexec {real_git} "$@"\n')
    wrapper.chmod(0o755)
    token = "ghs_secret0123456789"
    env = {**git_auth_env("https://github.com/acme/infra.git", token), "PATH": f"{wrapper.parent}:{os.environ['PATH']}"}
    dest = job_checkout(remote, head, tmp_path / "src", env)
    history = fetch_history(remote.url, dest, env, 60, sha=head, base="main")
    assert history.base and git(dest, "rev-parse", "--is-shallow-repository") == "false"
    forms = [token, base64.b64encode(f"x-access-token:{token}".encode()).decode()]
    assert "fetch" in logged.read_text() and not any(form in logged.read_text() for form in forms)
    for path in (dest / ".git").rglob("*"):
        if path.is_file():
            assert not any(form.encode() in path.read_bytes() for form in forms), path
    assert head_and_status(dest) == (head, "")


def test_a_remote_that_stops_answering_fails_the_checkout_naming_what_was_being_fetched(tmp_path):
    remote = BareRemote(tmp_path)
    head, _ = pull_request(remote, main_moves_on=1)
    dest = job_checkout(remote, head, tmp_path / "src")
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/acme/infra.git"
        with pytest.raises(JobFailure, match=f"fetching the history of {head[:12]} and its base main from {url}: "
                                             "git fetch timed out after 2s") as failure:
            fetch_history(url, dest, git_auth_env(url, None), 2, sha=head, base="main")
    assert failure.value.error is JobErrorClass.CHECKOUT_FAILED
    assert head_and_status(dest) == (head, "")


def test_fetching_history_into_a_checkout_of_another_commit_is_refused(tmp_path):
    remote = BareRemote(tmp_path)
    head, base = pull_request(remote, main_moves_on=1)
    dest = job_checkout(remote, head, tmp_path / "src")
    with pytest.raises(JobFailure, match=f"HEAD is {head}, not the requested commit"):
        fetch_history(remote.url, dest, git_auth_env(remote.url, None), 60, sha=base, base="main")


def test_a_base_that_looks_like_an_option_is_a_ref_that_cannot_be_fetched_not_an_option(tmp_path):
    remote = BareRemote(tmp_path)
    head, _ = pull_request(remote, main_moves_on=1)
    dest = job_checkout(remote, head, tmp_path / "src")
    ran = tmp_path / "ran"
    history = fetch_history(remote.url, dest, git_auth_env(remote.url, None), 60, sha=head,
                            base=f"--upload-pack=touch {ran}; git-upload-pack")
    assert history.base is None and not ran.exists()
    assert head_and_status(dest) == (head, "")
