"""The GitHub Actions workflows parse as YAML and do what they say: CI runs `make test`; the example's
dispatch workflow reacts to push, pull request and comment events and runs the dispatch script."""

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


def test_example_dispatch_workflow_covers_push_pull_request_and_comments():
    workflow = load(REPO / "examples" / ".github" / "workflows" / "tfpipe.yml")
    assert set(workflow["on"]) == {"push", "pull_request", "issue_comment"}
    assert "closed" in workflow["on"]["pull_request"]["types"]
    [job] = workflow["jobs"].values()
    run = [s["run"] for s in job["steps"] if "run" in s]
    assert run == ["python3 .github/scripts/tfpipe_dispatch.py"]
    assert (REPO / "examples" / ".github" / "scripts" / "tfpipe_dispatch.py").is_file()
    env = next(s["env"] for s in job["steps"] if "env" in s)
    assert env["TFPIPE_WEBHOOK_SECRET"] == "${{ secrets.TFPIPE_WEBHOOK_SECRET }}"
    assert "author_association" in job["if"]
    assert workflow["permissions"] == {"contents": "read"}
