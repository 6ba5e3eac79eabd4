"""Providers and module sources are checked against the allow-lists before `terraform init`."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from executor.failures import JobFailure
from executor.sources import check_configuration, configuration_uses

from chalicelib.core.job import JobAction, JobErrorClass
from tests.executor.conftest import ARTIFACTS_BUCKET, make_spec, run_executor

DEFAULT = ("hashicorp/*",)
EVIL_PROVIDER = """terraform {
  required_providers {
    x = {
      source = "evilcorp/x"
    }
  }
}
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _refusal(root: Path, providers=DEFAULT, modules=()) -> str:
    with pytest.raises(JobFailure) as caught:
        check_configuration(root, providers, modules)
    assert caught.value.error is JobErrorClass.INIT_FAILED
    return str(caught.value)


def test_providers_come_from_required_providers_provider_blocks_and_resource_types(tmp_path):
    _write(tmp_path, {
        "main.tf": 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n'
                   '    dd = { source = "DataDog/datadog" }\n  }\n}\nprovider "google" {}\n'
                   'resource "random_id" "r" {\n  byte_length = 4\n}\nresource "dd_monitor" "m" {}\n'
                   'data "terraform_remote_state" "s" {\n  backend = "s3"\n}\nresource "terraform_data" "t" {}\n',
        "other.tf.json": '{"data": {"external": {"e": {"program": ["sh"]}}}}'})
    found = {(u.address, u.where) for u in configuration_uses(tmp_path) if u.kind == "provider"}
    assert {a for a, _ in found} == {"registry.terraform.io/hashicorp/aws", "registry.terraform.io/datadog/datadog",
                                     "registry.terraform.io/hashicorp/google", "registry.terraform.io/hashicorp/random",
                                     "registry.terraform.io/hashicorp/external"}
    assert ("registry.terraform.io/hashicorp/external", "other.tf.json") in found


def test_hashicorp_random_is_allowed_by_default_and_evilcorp_is_refused_naming_it_the_file_and_the_setting(tmp_path):
    _write(tmp_path, {"main.tf": 'resource "random_id" "r" {\n  byte_length = 4\n}\n'})
    assert check_configuration(tmp_path, DEFAULT, ()) == []
    _write(tmp_path, {"versions.tf": EVIL_PROVIDER})
    message = _refusal(tmp_path)
    assert "provider registry.terraform.io/evilcorp/x (versions.tf) is not allowed" in message
    assert "TFPIPE_ALLOWED_PROVIDERS allows hashicorp/*" in message


def test_a_narrower_allow_list_refuses_a_provider_a_resource_type_implies(tmp_path):
    _write(tmp_path, {"main.tf": 'resource "aws_s3_bucket" "b" {}\nresource "random_id" "r" {\n  byte_length = 4\n}\n'})
    assert "registry.terraform.io/hashicorp/random (main.tf)" in _refusal(tmp_path, ("hashicorp/aws",))
    assert check_configuration(tmp_path, ("registry.terraform.io/hashicorp/*",), ()) == []


def test_local_modules_are_followed_recursively(tmp_path):
    _write(tmp_path, {"main.tf": 'module "app" {\n  source = "./modules/app"\n}\n',
                      "modules/app/main.tf": 'module "net" {\n  source = "../net"\n}\n',
                      "modules/net/main.tf": 'resource "evilcorp_tunnel" "t" {}\n',
                      "modules/net/versions.tf": EVIL_PROVIDER.replace("x = {", "evilcorp = {")})
    message = _refusal(tmp_path)
    assert "registry.terraform.io/evilcorp/x (modules/net/versions.tf (module 'net'))" in message


def test_remote_module_sources_need_the_module_allow_list(tmp_path):
    source = "git::https://github.com/evilcorp/modules.git//vpc?ref=v1"
    _write(tmp_path, {"main.tf": f'module "vpc" {{\n  source = "{source}"\n}}\n'})
    message = _refusal(tmp_path)
    assert f"module source {source!r} (main.tf module 'vpc') is not allowed" in message
    assert "TFPIPE_ALLOWED_MODULE_SOURCES (none set)" in message
    [remote] = check_configuration(tmp_path, DEFAULT, ("git::https://github.com/evilcorp/*",))
    assert remote.address == source


def test_a_local_module_outside_the_repository_or_a_linked_file_is_refused_without_quoting_content(tmp_path):
    repo = tmp_path / "repo"
    _write(repo, {"main.tf": 'module "up" {\n  source = "../elsewhere"\n}\n'})
    (tmp_path / "elsewhere").mkdir()
    assert "is not a directory inside the repository" in _refusal(repo)
    secret = tmp_path / "runner-secret"
    secret.write_text("AWS_SECRET_ACCESS_KEY=runner-only-value\n")
    _write(repo, {"main.tf": ""})
    (repo / "leak.tf").symlink_to(secret)
    assert "leak.tf links outside the repository" in _refusal(repo)
    (repo / "leak.tf").unlink()
    _write(repo, {"broken.tf": 'resource "x" {\n  value = runner-only-value {\n'})
    message = _refusal(repo)
    assert "broken.tf is not valid HCL" in message and "runner-only-value" not in message


def test_a_project_below_the_repository_root_may_call_a_shared_module_whose_providers_are_checked(tmp_path):
    _write(tmp_path, {"stacks/app/main.tf": 'module "queue" {\n  source = "../../modules/queue"\n}\n',
                      "modules/queue/main.tf": 'resource "terraform_data" "q" {}\n'})
    project = tmp_path / "stacks/app"
    assert check_configuration(project, DEFAULT, (), repo_root=tmp_path) == []
    assert "is not a directory inside the repository" in _refusal(project)  # the project alone: outside it
    _write(tmp_path, {"modules/queue/versions.tf": EVIL_PROVIDER})
    with pytest.raises(JobFailure, match=r"evilcorp/x \(modules/queue/versions.tf \(module 'queue'\)\)"):
        check_configuration(project, DEFAULT, (), repo_root=tmp_path)


# ---- end to end: the executor refuses before `terraform init` ----------------------------------------

@pytest.mark.terraform
def test_a_pull_request_adding_an_unlisted_provider_fails_init_before_terraform_runs(aws, infra):
    infra.write("evil.tf", EVIL_PROVIDER)
    sha = infra.commit("a provider from elsewhere")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN))
    assert failed.returncode == 1
    assert failed.answer["error"] == "InitFailed"
    assert "provider registry.terraform.io/evilcorp/x (evil.tf) is not allowed" in failed.answer["cause"]
    log = aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan/log.txt")
    assert "terraform init -input" not in log and "working as role" not in log  # nothing installed, nothing assumed


@pytest.fixture
def module_repo():
    """A directory the work user can read and, for git, owns: Terraform fetches the module as that user,
    who cannot enter pytest's private temporary directory."""
    module = Path(tempfile.mkdtemp(prefix="tfpipe-module-"))
    module.chmod(0o755)
    yield module
    shutil.rmtree(module, ignore_errors=True)


def _hand_to_the_work_user(path: Path) -> None:
    """git refuses a repository another user owns; the executor's work user is tfpipe-work, else nobody."""
    users = {entry.pw_name: entry for entry in pwd.getpwall()}
    entry = users.get("tfpipe-work") or users.get("nobody")
    if os.geteuid() == 0 and entry:
        for item in [path, *path.rglob("*")]:
            os.chown(item, entry.pw_uid, entry.pw_gid, follow_symlinks=False)


@pytest.mark.terraform
def test_a_module_from_a_disallowed_source_fails_init_and_an_allowed_one_has_its_providers_checked(aws, infra,
                                                                                                  module_repo):
    module = module_repo
    _write(module, {"main.tf": EVIL_PROVIDER + 'resource "x_thing" "t" {}\n'})
    for args in (["init", "--quiet"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "m"]):
        subprocess.run(["git", "-C", str(module), *args], check=True)
    _hand_to_the_work_user(module)
    source = f"git::{module.as_uri()}"
    infra.write("remote.tf", f'module "remote" {{\n  source = "{source}"\n}}\n')
    sha = infra.commit("a module from another repository")

    refused = run_executor(aws, make_spec(infra, sha, JobAction.PLAN))
    assert refused.answer["error"] == "InitFailed"
    assert f"module source {source!r} (remote.tf module 'remote') is not allowed" in refused.answer["cause"]

    fetched = run_executor(aws, make_spec(infra, sha, JobAction.PLAN, run_id="run-2"),
                           TFPIPE_ALLOWED_MODULE_SOURCES="git::file://*")
    assert fetched.answer["error"] == "InitFailed", fetched.stdout[-2000:]
    assert "provider registry.terraform.io/evilcorp/x (main.tf (module 'remote'))" in fetched.answer["cause"]
    log = aws.text(ARTIFACTS_BUCKET, "runs/run-2/plan/log.txt")
    assert "terraform get" in log and "terraform init -input" not in log


@pytest.mark.terraform
def test_a_syntax_error_is_reported_with_terraforms_own_diagnostic_not_the_checkers(aws, infra):
    infra.write("broken.tf", 'resource "terraform_data" "greeting" {\n  input = "hello"\n  triggers_replace =\n}\n')
    sha = infra.commit("a syntax error")
    failed = run_executor(aws, make_spec(infra, sha, JobAction.PLAN))
    assert failed.answer["error"] == "InitFailed"
    assert failed.answer["cause"].startswith("reading the configuration for staging failed (exit 2): Error: Invalid "
                                             "expression (broken.tf:3)"), failed.answer["cause"]
    log = aws.text(ARTIFACTS_BUCKET, "runs/run-1/plan/log.txt")
    assert "terraform fmt -check" in log and "terraform init -input" not in log
