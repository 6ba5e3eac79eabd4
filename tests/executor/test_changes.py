"""Which projects a pull request or push touches, from real Git: a change to one project touches it
alone, a shared module touches every caller, a force push or unknown `before` touches everything, a
deleted project is removed (not planned), and 400 changed files are all seen. The job's own path too:
a depth-1 checkout from a bare file:// remote, then `fetch_changes` fetching the history it needs."""

from __future__ import annotations

import shutil

import pytest
from executor.changes import Changes, fetch_changes, pull_request_changes, push_changes, touched_projects
from executor.checkout import git_auth_env
from executor.globs import glob_matches
from executor.projects import load_projects
from executor.repo_config import read_repo_file

from tests.executor.bare_remote import BareRemote, head_and_status, job_checkout
from tests.executor.monorepo import ROOT, commit, git, git_monorepo, write


def projects_of(root):
    return load_projects(root, read_repo_file(root))


def pushed(root, files: dict[str, str]):
    before = git(root, "rev-parse", "HEAD")
    write(root, files)
    after = commit(root, "change")
    return touched_projects(projects_of(root), push_changes(root, before, after), root)


def test_touching_app_touches_only_app_and_lists_the_others_as_unchanged(tmp_path):
    git_monorepo(tmp_path)
    result = pushed(tmp_path, {"stacks/app/main.tf": ROOT + 'module "queue" {\n  source = "../../modules/queue"\n}\n'
                                                        'output "x" {\n  value = 1\n}\n'})
    assert (result.touched, result.unchanged, result.removed, result.all_projects) == (
        ("app",), ("dns", "network"), (), False)


def test_touching_the_shared_module_touches_every_caller_even_through_another_module(tmp_path):
    git_monorepo(tmp_path)
    queue = (tmp_path / "modules/queue/main.tf").read_text()
    assert pushed(tmp_path, {"modules/queue/main.tf": queue + 'resource "terraform_data" "q2" {}\n'}).touched == (
        "app", "dns")
    assert pushed(tmp_path, {"modules/naming/main.tf": 'output "prefix" {\n  value = "b"\n}\n'}).touched == (
        "app", "dns")


def test_a_tfvars_in_a_subdirectory_touches_its_project_and_a_readme_touches_none(tmp_path):
    git_monorepo(tmp_path)
    assert pushed(tmp_path, {"stacks/app/environments/prod.tfvars": 'size = "xl"\n'}).touched == ("app",)
    result = pushed(tmp_path, {"README.md": "changed\n", "stacks/network/NOTES.md": "not terraform\n"})
    assert result.touched == () and result.unchanged == ("app", "dns", "network")


def test_a_pull_request_counts_only_its_own_changes_not_what_landed_on_main_since(tmp_path):
    git_monorepo(tmp_path)
    git(tmp_path, "checkout", "--quiet", "-b", "feature")
    write(tmp_path, {"stacks/dns/records.tf": 'resource "terraform_data" "a" {}\n'})
    head = commit(tmp_path, "pull request: a record")
    git(tmp_path, "checkout", "--quiet", "main")
    write(tmp_path, {"stacks/network/main.tf": ROOT + "# landed on main meanwhile\n"})
    base = commit(tmp_path, "main moves on")
    changes = pull_request_changes(tmp_path, base, head)
    assert changes.paths == ("stacks/dns/records.tf",)
    git(tmp_path, "checkout", "--quiet", "feature")
    assert touched_projects(projects_of(tmp_path), changes, tmp_path).touched == ("dns",)


def test_a_400_file_change_is_seen_whole(tmp_path):
    git_monorepo(tmp_path)
    before = git(tmp_path, "rev-parse", "HEAD")
    write(tmp_path, {f"stacks/network/generated/subnet_{i:03}.tf": f'locals {{\n  s{i} = {i}\n}}\n' for i in range(399)})
    write(tmp_path, {"stacks/dns/zone.tf": 'resource "terraform_data" "zone" {}\n'})  # the 400th, sorted last
    changes = push_changes(tmp_path, before, commit(tmp_path, "400 files"))
    assert len(changes.paths) == 400 and changes.paths[-1] == "stacks/network/generated/subnet_398.tf"
    assert touched_projects(projects_of(tmp_path), changes, tmp_path).touched == ("dns", "network")


def test_a_force_push_touches_every_project_saying_why(tmp_path):
    git_monorepo(tmp_path)
    write(tmp_path, {"stacks/app/x.tf": "\n"})
    replaced = commit(tmp_path, "to be replaced")
    git(tmp_path, "reset", "--quiet", "--hard", "HEAD~1")
    write(tmp_path, {"stacks/dns/y.tf": "\n"})
    after = commit(tmp_path, "force-pushed instead")
    changes = push_changes(tmp_path, replaced, after)
    assert changes.all_projects and "force push" in changes.reason
    result = touched_projects(projects_of(tmp_path), changes, tmp_path)
    assert result.touched == ("app", "dns", "network") and result.all_projects and "force push" in result.reason


@pytest.mark.parametrize(("before", "reason"), [("0" * 40, "created the branch"),
                                                ("1234567890abcdef" * 2 + "12345678", "not in the checkout")])
def test_a_new_branch_or_an_unknown_before_touches_every_project(tmp_path, before, reason):
    after = git_monorepo(tmp_path)
    changes = push_changes(tmp_path, before, after)
    assert changes.all_projects and reason in changes.reason and changes.paths == ()


def test_a_deleted_project_dir_is_removed_not_touched(tmp_path):
    git_monorepo(tmp_path)
    before_projects = projects_of(tmp_path)
    before = git(tmp_path, "rev-parse", "HEAD")
    shutil.rmtree(tmp_path / "stacks/dns")
    changes = push_changes(tmp_path, before, commit(tmp_path, "drop dns"))
    result = touched_projects(before_projects, changes, tmp_path)
    assert (result.touched, result.removed, result.unchanged) == ((), ("dns",), ("app", "network"))
    everything = push_changes(tmp_path, "0" * 40, git(tmp_path, "rev-parse", "HEAD"))
    assert touched_projects(before_projects, everything, tmp_path).removed == ("dns",)


def test_moving_a_file_between_projects_touches_both(tmp_path):
    git_monorepo(tmp_path)
    before = git(tmp_path, "rev-parse", "HEAD")
    git(tmp_path, "mv", "stacks/app/environments/prod.tfvars", "stacks/dns/prod.tfvars")
    changes = push_changes(tmp_path, before, commit(tmp_path, "move"))
    assert touched_projects(projects_of(tmp_path), changes, tmp_path).touched == ("app", "dns")


def test_a_nested_root_owns_its_files_and_the_outer_root_is_not_planned_for_them(tmp_path):
    write(tmp_path, {"main.tf": ROOT, "stacks/dns/main.tf": ROOT})
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    commit(tmp_path, "root and a second root")
    result = pushed(tmp_path, {"stacks/dns/main.tf": ROOT + 'resource "terraform_data" "topic" {}\n'})
    assert (result.touched, result.unchanged) == (("stacks/dns",), ("",))
    assert pushed(tmp_path, {"extra.tf": "\n"}).touched == ("",)


def test_when_modified_globs_are_relative_to_the_project_and_may_reach_outside_it(tmp_path):
    git_monorepo(tmp_path)
    write(tmp_path, {"tfpipe.yml": "projects:\n  - {name: app, dir: stacks/app, "
                                   "when_modified: ['*.tf', '../../shared/*.json']}\n"
                                   "  - {name: dns, dir: stacks/dns}\n"})
    commit(tmp_path, "app watches shared json, and only its top-level .tf")
    assert pushed(tmp_path, {"shared/app.json": "{}"}).touched == ("app",)
    assert pushed(tmp_path, {"stacks/app/environments/prod.tfvars": "x = 2\n"}).touched == ()


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("**/*.tf", "main.tf", True), ("**/*.tf", "sub/x.tf", True), ("**/*.tf", "a/b/c.tf", True),
    ("**/*.tf", "main.tfvars", False), ("*.tf", "sub/x.tf", False), ("stacks/app/**", "stacks/app/a/b", True),
    ("stacks/app/**/*.tf", "stacks/application/x.tf", False), ("env/[!x]*.tfvars", "env/prod.tfvars", True),
    ("env/?.tf", "env/ab.tf", False)])
def test_glob_semantics(pattern, path, matches):
    assert glob_matches(pattern, path) is matches


def job_changes(remote: BareRemote, dest, head: str, **base_or_before):
    """What a job sees: the depth-1 checkout of `head`, then `fetch_changes`; HEAD and the tree stay."""
    job_checkout(remote, head, dest)
    changes = fetch_changes(dest, remote.url, git_auth_env(remote.url, None), 60, head=head, **base_or_before)
    assert head_and_status(dest) == (head, "")
    return changes


@pytest.mark.parametrize(("base_given_as", "main_moved_on"), [
    ("branch", 50), ("sha", 50), ("branch", 400)])  # 400: past every deepening round, the rest is fetched
def test_a_pull_request_checked_out_alone_counts_only_its_own_changes_however_far_back_it_branched(
        tmp_path, base_given_as, main_moved_on):
    remote = BareRemote(tmp_path)
    head, base = remote.pull_request(20, main_moved_on)
    changes = job_changes(remote, tmp_path / "src", head, base="main" if base_given_as == "branch" else base)
    assert changes == Changes(("stacks/dns/records.tf",))
    assert touched_projects(projects_of(tmp_path / "src"), changes, tmp_path / "src").touched == ("dns",)


def test_a_push_checked_out_alone_counts_every_commit_since_before(tmp_path):
    remote = BareRemote(tmp_path)
    before = remote.commits(30, "stacks/network/main.tf")
    remote.push("main")
    write(remote.work, {"stacks/app/main.tf": ROOT})
    commit(remote.work, "app")
    after = remote.commits(40, "README.md")
    remote.push("main")
    changes = job_changes(remote, tmp_path / "src", after, before=before)
    assert changes == Changes(("README.md", "stacks/app/main.tf"))


def test_a_400_file_pull_request_checked_out_alone_is_seen_whole(tmp_path):
    remote = BareRemote(tmp_path)
    remote.branch("feature")
    write(remote.work, {f"stacks/network/generated/subnet_{i:03}.tf": f"# {i}\n" for i in range(400)})
    head = commit(remote.work, "400 files")
    remote.push("feature")
    changes = job_changes(remote, tmp_path / "src", head, base="main")
    assert len(changes.paths) == 400 and not changes.all_projects


@pytest.mark.parametrize(("server_forgot", "reason"), [
    (True, "before the push ({}) is no longer in the repository (force-pushed away or deleted)"),
    (False, "a force push: {} is not an ancestor")])
def test_a_force_pushed_before_plans_every_project_saying_why(tmp_path, server_forgot, reason):
    remote = BareRemote(tmp_path)
    write(remote.work, {"stacks/app/x.tf": "\n"})
    replaced = commit(remote.work, "to be replaced")
    remote.push("main")
    git(remote.work, "reset", "--quiet", "--hard", "HEAD~1")
    after = remote.commits(3, "stacks/dns/y.tf")
    remote.push("main", force=True)
    if server_forgot:
        remote.forget_unreachable()
    changes = job_changes(remote, tmp_path / "src", after, before=replaced)
    assert changes.all_projects and reason.format(replaced[:12]) in changes.reason and changes.paths == ()


def test_a_pull_request_whose_base_branch_is_gone_plans_every_project_saying_why(tmp_path):
    remote = BareRemote(tmp_path)
    remote.branch("feature")
    head = remote.commits(1, "stacks/dns/records.tf")
    remote.push("feature")
    changes = job_changes(remote, tmp_path / "src", head, base="release-1")
    assert changes.all_projects and "the base branch release-1 could not be fetched" in changes.reason


def test_a_pull_request_sharing_no_history_with_its_base_plans_every_project_saying_why(tmp_path):
    remote = BareRemote(tmp_path)
    remote.commits(30, "README.md")
    remote.push("main")
    git(remote.work, "checkout", "--quiet", "--orphan", "imported")
    head = commit(remote.work, "an unrelated history")
    remote.push("imported")
    changes = job_changes(remote, tmp_path / "src", head, base="main")
    assert changes.all_projects and "no merge base" in changes.reason
