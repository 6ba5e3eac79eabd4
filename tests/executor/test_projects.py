"""The projects of a checkout: read from `tfpipe.yml` or discovered from backend blocks, each with the
local modules it calls; a bad project list refused naming the project and key; applies in dependency
order."""

from __future__ import annotations

import pytest
from executor.failures import JobFailure
from executor.projects import DEFAULT_WHEN_MODIFIED, Project, dependency_order, load_projects, project_named
from executor.repo_config import read_repo_file

from chalicelib.core.job import JobErrorClass
from tests.executor.conftest import INFRA
from tests.executor.monorepo import ROOT, write, write_monorepo


def projects_of(root):
    return load_projects(root, read_repo_file(root))


def refused(root, yml: str) -> str:
    write_monorepo(root, yml)
    with pytest.raises(JobFailure) as caught:
        projects_of(root)
    assert caught.value.error == JobErrorClass.BUILD_FAILED
    return str(caught.value)


def test_listed_projects_are_read_with_defaults_and_the_local_modules_they_call_transitively(tmp_path):
    network, app, dns = (next(p for p in projects_of(write_monorepo(tmp_path)) if p.name == n)
                         for n in ("network", "app", "dns"))
    assert (app.dir, app.depends_on, app.environments, app.ephemeral) == ("stacks/app", ("network",),
                                                                          ("staging", "prod"), True)
    assert app.when_modified == DEFAULT_WHEN_MODIFIED == ("**/*.tf", "**/*.tfvars")
    assert app.module_dirs == dns.module_dirs == ("modules/naming", "modules/queue")
    assert network.module_dirs == () and network.environments == () and dns.ephemeral is False


def test_a_dependency_cycle_is_refused_naming_the_cycle(tmp_path):
    message = refused(tmp_path, "projects:\n  - {name: network, dir: stacks/network, depends_on: [dns]}\n"
                                "  - {name: app, dir: stacks/app, depends_on: [network]}\n"
                                "  - {name: dns, dir: stacks/dns, depends_on: [app]}\n")
    assert "cycle: app -> network -> dns -> app" in message


def test_a_project_depending_on_itself_is_refused(tmp_path):
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/app, depends_on: [app]}\n")
    assert "project 'app': depends_on names the project itself" in message


def test_a_project_whose_dir_is_missing_is_refused_naming_it(tmp_path):
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/ap}\n")
    assert "project 'app': dir 'stacks/ap' is not a directory of the repository" in message


def test_a_project_without_dir_or_outside_the_repository_is_refused(tmp_path):
    assert "project 'app': `dir` is required" in refused(tmp_path, "projects:\n  - {name: app}\n")
    assert "must be a relative path inside" in refused(tmp_path, "projects:\n  - {name: app, dir: ../x}\n")
    (tmp_path / "outside/x").mkdir(parents=True)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo/linked").symlink_to(tmp_path / "outside")
    message = refused(tmp_path / "repo", "projects:\n  - {name: a, dir: linked/x}\n")
    assert "project 'a': dir 'linked/x' is not a directory of the repository" in message


def test_an_unknown_key_is_refused_naming_it_and_the_accepted_keys(tmp_path):
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/app, plan_after: [network]}\n")
    assert ("project 'app': unknown key 'plan_after'; a project accepts name, dir, environments, depends_on, "
            "when_modified, ephemeral, build") in message


def test_secrets_in_a_project_are_refused_saying_where_they_are_declared_now(tmp_path):
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/app, secrets: {k: v}}\n")
    assert "project 'app': `secrets:` is refused" in message and "TFPIPE_REPOSITORY_SECRETS" in message


def test_depends_on_an_unknown_project_is_refused_listing_the_projects(tmp_path):
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/app, depends_on: [netwrk]}\n"
                                "  - {name: network, dir: stacks/network}\n")
    assert "project 'app': depends_on names 'netwrk', which is not a project; the projects are 'app', 'network'" \
        in message


def test_two_projects_with_one_name_are_refused(tmp_path):
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/app}\n  - {name: app, dir: stacks/dns}\n")
    assert "projects[1]: the name 'app' is used twice" in message


@pytest.mark.parametrize("yml", ["projects: {app: stacks/app}\n", "projects: []\n", "projects:\n",
                                 "projects:\n  - stacks/app\n"])
def test_a_project_list_of_the_wrong_shape_is_refused(tmp_path, yml):
    assert "a mapping of name, dir" in refused(tmp_path, yml)


def test_a_local_module_outside_the_repository_is_refused(tmp_path):
    repo = tmp_path / "repo"
    write_monorepo(repo)
    write(tmp_path, {"elsewhere/main.tf": "\n"})
    write(repo, {"stacks/dns/main.tf": ROOT + 'module "x" {\n  source = "../../../elsewhere"\n}\n'})
    with pytest.raises(JobFailure, match=r"module 'x' in stacks/dns/main.tf calls '../../../elsewhere', which is "
                                         "not a directory inside the repository"):
        projects_of(repo)


def test_without_projects_every_backend_root_is_discovered_named_by_its_path_and_the_root_is_named_empty(tmp_path):
    write(tmp_path, {"main.tf": ROOT, "stacks/dns/main.tf": ROOT + 'module "q" {\n  source = "../../modules/q"\n}\n',
                     "modules/q/main.tf": 'resource "terraform_data" "backend" {}\n',  # says backend, is none
                     ".terraform/modules/x/main.tf": ROOT})
    projects = projects_of(tmp_path)
    assert [(p.name, p.dir, p.module_dirs) for p in projects] == [("", ".", ()),
                                                                  ("stacks/dns", "stacks/dns", ("modules/q",))]


def test_the_zero_config_repository_is_the_root_alone_named_empty(tmp_path):
    write(tmp_path, {"main.tf": (INFRA / "main.tf").read_text()})
    assert projects_of(tmp_path) == [Project("", ".")]
    assert projects_of(tmp_path)[0].label == "the repository root"


def test_a_repository_without_any_backend_block_stays_the_root_alone(tmp_path):
    write(tmp_path, {"main.tf": 'resource "terraform_data" "x" {}\n', "tfpipe.yml": "build: []\n"})
    assert [p.name for p in projects_of(tmp_path)] == [""]


def test_dependency_order_applies_network_before_app_and_is_stable_by_name(tmp_path):
    projects = projects_of(write_monorepo(tmp_path))
    assert [p.name for p in dependency_order(projects)] == ["dns", "network", "app"]
    assert [p.name for p in dependency_order(reversed(projects))] == ["dns", "network", "app"]
    only_app = [p for p in projects if p.name == "app"]
    assert [p.name for p in dependency_order(only_app)] == ["app"]  # network not being applied


def test_a_when_modified_glob_matching_nothing_or_leaving_the_repository_is_refused(tmp_path):
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/app, when_modified: ['**/*.tf', '*.tfvar']}\n")
    assert "project 'app': when_modified '*.tfvar' matches no file of the repository" in message
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/app, when_modified: ['../../../x/*']}\n")
    assert "project 'app': when_modified '../../../x/*' reaches outside the repository" in message
    write_monorepo(tmp_path, "projects:\n  - {name: app, dir: stacks/app, when_modified: ['../../README.md']}\n")
    assert projects_of(tmp_path)[0].when_modified == ("../../README.md",)


def test_a_project_has_build_steps_of_its_own_checked_like_the_top_level_ones(tmp_path):
    write_monorepo(tmp_path, "projects:\n  - name: app\n    dir: stacks/app\n    build:\n      - name: lambda\n"
                             "        command: [python3, build.py]\n        output: dist/app.zip\n"
                             "        variable: package_key\n")
    [app] = projects_of(tmp_path)
    [step] = app.build
    assert (step.name, step.command, step.output, step.variable) == ("lambda", ["python3", "build.py"],
                                                                     "dist/app.zip", "package_key")
    assert {app} == {app}  # usable in sets and as keys, build steps and all
    message = refused(tmp_path, "projects:\n  - {name: app, dir: stacks/app, build: [{name: x, command: make}]}\n")
    assert "project 'app': build[0].command must be an argument list" in message


def test_a_job_finds_its_project_by_name_listed_or_discovered(tmp_path):
    listed = write_monorepo(tmp_path / "listed")
    app = project_named(listed, read_repo_file(listed), "app")
    assert (app.dir, app.module_dirs) == ("stacks/app", ("modules/naming", "modules/queue"))
    discovered = write_monorepo(tmp_path / "discovered", None)
    assert project_named(discovered, None, "stacks/dns").dir == "stacks/dns"


def test_the_root_job_of_a_repository_without_projects_is_the_root_as_today_without_discovery(tmp_path):
    # A directory whose path cannot name a project would fail discovery: the root's job never looks.
    write(tmp_path, {"main.tf": ROOT, "old stacks/x/main.tf": ROOT})
    assert project_named(tmp_path, None, "") == Project("", ".")
    assert project_named(tmp_path, {"build": []}, "") == Project("", ".")


def test_a_job_for_a_project_that_does_not_exist_fails_naming_those_that_do(tmp_path):
    listed = write_monorepo(tmp_path / "listed")
    for name in ("netwrk", ""):  # the root is no project once `projects:` leaves it out
        with pytest.raises(JobFailure) as caught:
            project_named(listed, read_repo_file(listed), name)
        assert caught.value.error == JobErrorClass.BUILD_FAILED
        assert (f"finding the job's project {name!r}: there is no such project; the projects `projects:` in "
                "tfpipe.yml lists are 'app', 'dns', 'network'") in str(caught.value)
    discovered = write_monorepo(tmp_path / "discovered", None)
    write(discovered, {"main.tf": ROOT})
    with pytest.raises(JobFailure, match=r"the projects the repository holds \(directories with a backend block\) "
                                         r"are '' \(the repository root\), 'stacks/app'"):
        project_named(discovered, None, "dns")
