"""`tfpipe.yml`: build steps and secret variables, every bad shape refused with a clear message."""

from __future__ import annotations

import pytest
from executor.failures import JobFailure
from executor.repo_config import load_repo_config

from chalicelib.core.job import JobErrorClass

REPO_ROOT_EXAMPLE = """build:
  - name: app
    command: ["python3", "build.py", "dist/app.zip"]
    output: dist/app.zip
    variable: app_package_key
    timeout: 2m
artifacts_bucket_variable: artifacts_bucket
secrets:
  api_key: demo/api-key
"""


def test_a_repository_without_tfpipe_yml_builds_nothing(tmp_path):
    config = load_repo_config(tmp_path)
    assert (config.build, config.secrets, config.artifacts_bucket_variable) == ([], {}, None)


def test_build_steps_bucket_variable_and_secrets_are_read(tmp_path):
    (tmp_path / "tfpipe.yml").write_text(REPO_ROOT_EXAMPLE)
    config = load_repo_config(tmp_path)
    [step] = config.build
    assert (step.name, step.command, step.output, step.variable, step.timeout_seconds) == (
        "app", ["python3", "build.py", "dist/app.zip"], "dist/app.zip", "app_package_key", 120)
    assert config.artifacts_bucket_variable == "artifacts_bucket"
    assert config.secrets == {"api_key": "demo/api-key"}


def test_the_sample_applications_tfpipe_yml_is_understood():
    from tests.executor.conftest import REPO_ROOT

    config = load_repo_config(REPO_ROOT / "examples")
    assert config.build and all(step.command for step in config.build)


@pytest.mark.parametrize(("text", "message"), [
    ("build: [1, 2", "not valid YAML"),
    ("deploy: now\n", "only the keys"),
    ("build:\n  - name: app\n    command: python3 build.py\n", "argument list"),
    ("build:\n  - name: app\n    command: [make]\n    output: ../outside.zip\n", "inside the repository"),
    ("build:\n  - name: app\n    command: [make]\n    output: /etc/passwd\n", "inside the repository"),
    ("build:\n  - name: app\n    command: [make]\n    variable: key\n", "with an output"),
    ("build:\n  - name: app\n    command: [make]\n    timeout: soon\n", "timeout"),
    ("secrets:\n  api-key: [x]\n", "secrets must map"),
])
def test_bad_tfpipe_yml_fails_the_build_saying_what_is_wrong(tmp_path, text, message):
    (tmp_path / "tfpipe.yml").write_text(text)
    with pytest.raises(JobFailure, match=message) as caught:
        load_repo_config(tmp_path)
    assert caught.value.error is JobErrorClass.BUILD_FAILED


def test_the_environments_tfvars_is_chosen_and_ephemeral_workspaces_fall_back(tmp_path):
    from executor.repo_config import var_file

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod.tfvars").write_text("")
    assert var_file(tmp_path, "prod", ephemeral=False) == "environments/prod.tfvars"
    assert var_file(tmp_path, "pr-3", ephemeral=True) is None
    (tmp_path / "environments" / "ephemeral.tfvars").write_text("")
    assert var_file(tmp_path, "pr-3", ephemeral=True) == "environments/ephemeral.tfvars"
    assert var_file(tmp_path, "staging", ephemeral=False) is None
