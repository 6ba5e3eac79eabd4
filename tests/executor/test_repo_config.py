"""`tfpipe.yml`: build steps, every bad shape refused with a clear message, and no secrets: those the
pipeline's settings declare (docs/security.md, Secrets)."""

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
"""


def test_a_repository_without_tfpipe_yml_builds_nothing(tmp_path):
    config = load_repo_config(tmp_path)
    assert (config.build, config.artifacts_bucket_variable) == ([], None)


def test_build_steps_and_bucket_variable_are_read(tmp_path):
    (tmp_path / "tfpipe.yml").write_text(REPO_ROOT_EXAMPLE)
    config = load_repo_config(tmp_path)
    [step] = config.build
    assert (step.name, step.command, step.output, step.variable, step.timeout_seconds) == (
        "app", ["python3", "build.py", "dist/app.zip"], "dist/app.zip", "app_package_key", 120)
    assert config.artifacts_bucket_variable == "artifacts_bucket"


def test_a_projects_list_is_accepted_beside_the_build_steps_for_executor_projects_to_read(tmp_path):
    (tmp_path / "tfpipe.yml").write_text(REPO_ROOT_EXAMPLE + "projects:\n  - {name: app, dir: .}\n")
    assert [s.name for s in load_repo_config(tmp_path).build] == ["app"]


@pytest.mark.parametrize("text", ["secrets:\n  api_key: demo/api-key\n",
                                  "secrets:\n  stolen: tfpipe/prod/github-token\n", "secrets: {}\n"])
def test_secrets_in_tfpipe_yml_are_refused_saying_where_they_are_declared_now(tmp_path, text):
    (tmp_path / "tfpipe.yml").write_text(text)
    with pytest.raises(JobFailure, match=r"`secrets:` is refused: .*TFPIPE_REPOSITORY_SECRETS") as caught:
        load_repo_config(tmp_path)
    assert caught.value.error is JobErrorClass.BUILD_FAILED


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


def test_the_tfpipe_yml_docs_onboarding_shows_is_read_as_it_says(tmp_path):
    """The onboarding doc's `tfpipe.yml` is one the executor accepts, and it names every key there is."""
    import re

    from executor.repo_config import KEYS

    from tests.executor.conftest import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "onboarding.md").read_text()
    shown = re.search(r"^```yaml\n(.*?)^```", doc.split("### `tfpipe.yml`", 1)[1], re.M | re.S)[1]
    (tmp_path / "tfpipe.yml").write_text(shown)
    config = load_repo_config(tmp_path)
    assert set(re.findall(r"^([a-z_]+):", shown, re.M)) == KEYS
    step = config.build[0]
    assert (step.output, step.variable, step.timeout_seconds) == ("dist/app.zip", "app_package_key", 600)
    assert config.artifacts_bucket_variable == "artifacts_bucket"


def test_a_pull_requests_own_tfvars_comes_before_the_shared_ephemeral_one(tmp_path):
    """As docs/onboarding.md says: environments/pr-<N>.tfvars when there is one, else ephemeral.tfvars."""
    from executor.repo_config import var_file

    from tests.executor.conftest import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "onboarding.md").read_text()
    assert "`environments/pr-<N>.tfvars` if that file exists, otherwise\n  `environments/ephemeral.tfvars`" in doc
    (tmp_path / "environments").mkdir()
    for name in ("pr-3", "ephemeral", "prod"):
        (tmp_path / "environments" / f"{name}.tfvars").write_text("")
    assert var_file(tmp_path, "pr-3", ephemeral=True) == "environments/pr-3.tfvars"
    assert var_file(tmp_path, "pr-4", ephemeral=True) == "environments/ephemeral.tfvars"
    assert var_file(tmp_path, "staging", ephemeral=False) is None  # a long-lived one never falls back


def test_a_tfpipe_yml_that_links_to_the_runners_environment_is_refused_without_quoting_it(tmp_path):
    secret = tmp_path / "environ"
    secret.write_text("AWS_SECRET_ACCESS_KEY: [job-role-secret\n")  # not valid YAML: its error would quote it
    checkout = tmp_path / "src"
    checkout.mkdir()
    (checkout / "tfpipe.yml").symlink_to(secret)
    with pytest.raises(JobFailure, match="must be a regular file in the repository, not a link") as caught:
        load_repo_config(checkout)
    assert "job-role-secret" not in str(caught.value)
