"""The pipeline's own PyGithub adapter (chalicelib/adapters/github.py) against the local GitHub
REST API stand-in: what it posts is kept in the state directory and shown by `pr show`."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.adapters.github import GitHubVcs
from chalicelib.core.errors import NotFound
from tests.local.github_helpers import Clone
from tests.local.stack_test_app import recorder

REPO = "acme/infra"


@pytest.fixture
def setup(stack, tmp_path):
    recorder.clear()
    work = Clone(stack.create_repository(REPO), tmp_path / "work")
    base = work.commit("main.tf", "", "Initial commit")
    work.push("main")
    work.git("checkout", "--quiet", "-b", "feature")
    head = work.commit("a.tf", "", "feature")
    work.push("feature")
    pr, _ = stack.github().open(REPO, head="feature", user="ada")
    vcs = GitHubVcs(lambda: "local-token", stack.github_url, str(stack.git_root))
    return {"vcs": vcs, "pr": pr["number"], "base": base, "head": head}


def test_permission_comes_from_the_permissions_file(stack, setup):
    stack.github_store.set_permission(REPO, "bob", "write")

    assert setup["vcs"].permission(REPO, "bob") == "write"
    assert setup["vcs"].permission(REPO, "mallory") == "read"
    assert setup["vcs"].permission(REPO, "acme") == "admin"  # the owner


def test_commits_resolve_from_the_bare_repository(stack, setup):
    assert setup["vcs"].resolve_commit(REPO, "main") == setup["base"]
    assert setup["vcs"].resolve_commit(REPO, "refs/heads/feature") == setup["head"]
    assert setup["vcs"].resolve_commit(REPO, setup["head"]) == setup["head"]
    assert setup["vcs"].resolve_commit(REPO, f"refs/pull/{setup['pr']}/head") == setup["head"]
    with pytest.raises(NotFound):
        setup["vcs"].resolve_commit(REPO, "refs/pull/99/head")
    with pytest.raises(NotFound):
        setup["vcs"].resolve_commit(REPO, "no-such-branch")


def test_comments_are_posted_and_updated_in_place(stack, setup):
    vcs, number = setup["vcs"], setup["pr"]

    first = vcs.upsert_comment(REPO, number, "<!-- tfpipe:plan -->", ["<!-- tfpipe:plan --> part 1", "<!-- tfpipe:plan --> 2"])
    second = vcs.upsert_comment(REPO, number, "<!-- tfpipe:plan -->", ["<!-- tfpipe:plan --> only"])
    other = vcs.post_comment(REPO, number, "hello")

    shown = stack.github().show(REPO, number)
    assert second == first[:1]
    assert [(c["id"], c["body"]) for c in shown["comments"]] == [(first[0], "<!-- tfpipe:plan --> only"), (other, "hello")]


def test_statuses_and_deployments_are_kept(stack, setup):
    vcs = setup["vcs"]

    vcs.set_commit_status(REPO, setup["head"], "tfpipe/plan", "success", "No changes", "http://example.test/run")
    deployment = vcs.create_deployment(REPO, setup["head"], "pr-1", transient=True, description="ephemeral")
    vcs.set_deployment_status(REPO, deployment, "success", environment_url="http://127.0.0.1:9/", description="up")

    shown = stack.github().show(REPO, setup["pr"])
    assert [(s["context"], s["state"], s["description"]) for s in shown["statuses"]] == [
        ("tfpipe/plan", "success", "No changes")]
    [kept] = shown["deployments"]
    assert (kept["id"], kept["environment"], kept["transient_environment"]) == (deployment, "pr-1", True)
    assert [(s["state"], s["environment_url"]) for s in kept["statuses"]] == [("success", "http://127.0.0.1:9/")]


def test_deployments_of_one_environment_are_listed_newest_first(setup):
    vcs = setup["vcs"]
    first = vcs.create_deployment(REPO, setup["head"], "pr-2", transient=True, description="one")
    vcs.create_deployment(REPO, setup["head"], "staging", transient=False, description="elsewhere")
    second = vcs.create_deployment(REPO, setup["head"], "pr-2", transient=True, description="two")
    assert vcs.deployment_ids(REPO, "pr-2") == [second, first]


def test_status_for_an_unknown_commit_is_refused(setup):
    from chalicelib.core.errors import DependencyFailed

    with pytest.raises(DependencyFailed, match="422"):
        setup["vcs"].set_commit_status(REPO, "f" * 40, "tfpipe/plan", "success", "x")


def test_comments_the_pipeline_posts_come_back_as_issue_comment_webhooks(setup):
    setup["vcs"].post_comment(REPO, setup["pr"], "Plan: 1 to add")

    deadline = time.monotonic() + 10
    comments = []
    while not comments and time.monotonic() < deadline:
        comments = [json.loads(d["body"]) for d in recorder.seen("webhook")
                    if d["headers"]["x-github-event"] == "issue_comment"]
        time.sleep(0.05)
    assert [(c["action"], c["sender"]["login"], c["comment"]["body"]) for c in comments] == [
        ("created", "tfpipe-bot", "Plan: 1 to add")]


def test_the_pull_request_page_shows_what_the_pipeline_posted(stack, setup):
    import requests

    setup["vcs"].post_comment(REPO, setup["pr"], "<b>plan</b> output")
    setup["vcs"].set_commit_status(REPO, setup["head"], "tfpipe/plan", "failure", "1 error")
    html_url = requests.get(f"{stack.github_url}/repos/{REPO}/pulls/{setup['pr']}", timeout=10).json()["html_url"]

    page = requests.get(html_url, timeout=10)
    index = requests.get(f"{stack.github_url}/", timeout=10)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;plan&lt;/b&gt; output" in page.text  # escaped, never rendered as markup
    assert "tfpipe/plan: failure 1 error" in page.text
    assert f"/{REPO}/pull/{setup['pr']}" in index.text


def test_a_merge_commit_lists_its_merged_pull_request_and_a_direct_push_none(stack, setup, tmp_path):
    vcs = setup["vcs"]
    assert [p.number for p in vcs.pull_requests_of_commit(REPO, setup["head"])] == [setup["pr"]]  # open, its head

    merged, _ = stack.github().close(REPO, setup["pr"], "bob", merge=True)
    [found] = vcs.pull_requests_of_commit(REPO, merged["merge_commit_sha"])
    work = Clone(stack.git_root / f"{REPO}.git", tmp_path / "direct")
    direct = work.commit("b.tf", "", "pushed straight to main")
    work.push("main")

    assert (found.number, found.author, found.merged, found.merge_commit_sha) == (
        setup["pr"], "ada", True, merged["merge_commit_sha"])
    assert vcs.pull_requests_of_commit(REPO, direct) == []
    assert vcs.pull_requests_of_commit(REPO, setup["base"]) == []  # on main before the pull request
    with pytest.raises(NotFound):
        vcs.pull_requests_of_commit(REPO, "f" * 40)


def test_compare_says_whether_a_commit_is_ahead_behind_identical_or_diverged(stack, setup, tmp_path):
    import requests

    vcs, base, head = setup["vcs"], setup["base"], setup["head"]
    work = Clone(stack.git_root / f"{REPO}.git", tmp_path / "diverged")
    work.git("checkout", "--quiet", base)
    other = work.commit("c.tf", "", "another line of work")
    work.push(f"{other}:refs/heads/other")

    assert vcs.compare(REPO, base, head) == "ahead"
    assert vcs.compare(REPO, head, base) == "behind"
    assert vcs.compare(REPO, head, head) == "identical"
    assert vcs.compare(REPO, head, other) == "diverged"
    assert vcs.compare(REPO, "main", "feature") == "ahead"  # branch names as GitHub takes them
    with pytest.raises(NotFound):
        vcs.compare(REPO, "f" * 40, head)
    shape = requests.get(f"{stack.github_url}/repos/{REPO}/compare/{head}...{other}", timeout=10).json()
    assert (shape["ahead_by"], shape["behind_by"], shape["total_commits"]) == (1, 1, 1)
    assert shape["merge_base_commit"]["sha"] == base and [c["sha"] for c in shape["commits"]] == [other]
