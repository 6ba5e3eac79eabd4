"""The GitHub Actions workflows parse as YAML and do what they say: CI runs `make test`; the example's
dispatch workflow needs no shared secret (the job's OIDC token) and never runs for pull requests."""

from __future__ import annotations

import yaml

from tests.infra.terraform_cli import REPO


def load(path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def test_ci_runs_make_test_on_pushes_and_pull_requests():
    ci = load(REPO / ".github" / "workflows" / "ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    steps = [s for job in ci["jobs"].values() for s in job["steps"]]
    assert any(s.get("run") == "make test" for s in steps)
    assert any(s.get("uses", "").startswith("hashicorp/setup-terraform@") for s in steps)


def test_example_dispatch_workflow_authenticates_with_oidc_and_never_runs_for_pull_requests():
    text = (REPO / "examples" / ".github" / "workflows" / "tfpipe.yml").read_text()
    workflow = load(REPO / "examples" / ".github" / "workflows" / "tfpipe.yml")
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}  # no pull_request(_target), no issue_comment
    assert workflow["permissions"] == {"contents": "read", "id-token": "write"}
    assert "secrets." not in text
    [job] = workflow["jobs"].values()
    assert "permissions" not in job  # nothing widens the workflow's permissions
    assert job["if"] == "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    run = [s["run"] for s in job["steps"] if "run" in s]
    assert run == ["python3 .github/scripts/tfpipe_dispatch.py"]
    assert (REPO / "examples" / ".github" / "scripts" / "tfpipe_dispatch.py").is_file()
    env = next(s["env"] for s in job["steps"] if "env" in s)
    assert env["TFPIPE_OIDC_AUDIENCE"] == "${{ vars.TFPIPE_OIDC_AUDIENCE || 'tfpipe' }}"
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
