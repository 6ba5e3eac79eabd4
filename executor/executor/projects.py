"""The projects of a checkout: the Terraform roots one repository holds, each planned, locked and applied
on its own.

`tfpipe.yml` may list them:

    projects:
      - name: network                 # optional: defaults to the dir (see below)
        dir: stacks/network           # relative to the repository root; required
        environments: [staging, prod] # optional: default the pipeline's default environment
        depends_on: []                # optional: other projects, applied before this one
        when_modified: ["**/*.tf", "**/*.tfvars"]   # optional, relative to dir (`../` allowed);
                                                    # each must match some file (`executor.globs`)
        ephemeral: true               # optional: whether pull requests get a preview of it
        build: [...]                  # optional: build steps as the top-level `build:`, for this
                                      # project's plan alone (commands and outputs from the repo root)

Without `projects:`, every directory holding a Terraform root (a `backend` block in a `terraform`
block) is a project named by its path. Each project is also touched by the local modules (`./`, `../`)
it calls, followed transitively, so changing `modules/queue` touches every caller.

The repository root as a project is named "" (the empty name), not ".": the name becomes a segment of
state keys, run ids, locks and status contexts, and an empty segment is simply left out, so the
zero-config root keeps today's keys (`<owner>/<name>/env/<env>/terraform.tfstate`) and its existing
state stays valid, whether it is alone or has sibling roots. `dir` is "." for it.

Bad input fails the job (BuildFailed, like the rest of `tfpipe.yml`) naming the project and key and
saying what is accepted; nothing is planned.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from chalicelib.core.job import JobErrorClass
from executor.failures import JobFailure
from executor.globs import from_project, glob_matches
from executor.repo_config import FILE, MOVED, BuildStep, build_steps
from executor.sources import backend_blocks, local_module_dirs

DEFAULT_WHEN_MODIFIED = ("**/*.tf", "**/*.tfvars")
ROOT_NAME = ""
PROJECT_KEYS = ("name", "dir", "environments", "depends_on", "when_modified", "ephemeral", "build")
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Segments the state layout uses after the repository (`env/<env>`, `ephemeral/pr-<N>`): a project so
# named could not be told apart from the root's state in a listing of the bucket.
_RESERVED = {"env", "ephemeral"}
_SKIPPED_DIRS = {".git", ".terraform"}
DOING = "finding the projects of the repository"


@dataclass(frozen=True)
class Project:
    name: str  # "" for the repository root (module docstring)
    dir: str  # relative to the repository root, POSIX; "." for the root
    environments: tuple[str, ...] = ()  # empty: the pipeline's default environment
    depends_on: tuple[str, ...] = ()
    when_modified: tuple[str, ...] = DEFAULT_WHEN_MODIFIED  # globs relative to dir
    ephemeral: bool = True
    # Run before this project's plan, in the checkout (repo_config); out of the hash (a step holds a list).
    build: tuple[BuildStep, ...] = field(default=(), hash=False)
    # Found, not declared: the local modules the project calls, relative to the repository root.
    module_dirs: tuple[str, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """How messages name it."""
        return f"project {self.name!r}" if self.name else "the repository root"


def load_projects(checkout: Path, config: Mapping | None) -> list[Project]:
    """The projects of `checkout`, sorted by name, each with its local module dirs. `config` is the
    parsed `tfpipe.yml` (`repo_config.read_repo_file`), or None without one."""
    checkout = Path(checkout)
    declared = isinstance(config, Mapping) and "projects" in config  # `projects:` left empty is refused
    projects = _declared(checkout, config["projects"]) if declared else discover_projects(checkout)
    return sorted((_with_modules(checkout, p) for p in projects), key=lambda p: p.name)


def project_named(checkout: Path, config: Mapping | None, name: str) -> Project:
    """The one project a job runs (`JobSpec.project`). The root ("") of a repository that lists no
    `projects:` is the zero-config case: it is taken as is, without discovering sibling roots (nothing
    about such a repository's jobs changes). Any other name must be one of the repository's projects."""
    declared = isinstance(config, Mapping) and "projects" in config
    if name == ROOT_NAME and not declared:
        return Project(ROOT_NAME, ".")
    projects = load_projects(checkout, config)
    found = next((p for p in projects if p.name == name), None)
    if found is None:
        where = f"`projects:` in {FILE} lists" if declared else "the repository holds (directories with a backend block)"
        listed = ", ".join(repr(p.name) + (" (the repository root)" if p.name == ROOT_NAME else "") for p in projects)
        raise JobFailure(JobErrorClass.BUILD_FAILED, f"finding the job's project {name!r}: there is no such project; "
                         f"the projects {where} are {listed}")
    return found


def discover_projects(checkout: Path) -> list[Project]:
    """Every directory holding a `backend` block, named by its path; the root alone when none does
    (today's zero-config case). Hidden directories, `.terraform` and linked directories are skipped."""
    checkout = Path(checkout)
    found = []
    for current, dirs, files in os.walk(checkout):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".")
                         and not (Path(current) / d).is_symlink())
        configs = [f for f in files if f.endswith((".tf", ".tf.json")) and not f.startswith(".")]
        # Only files that could hold a backend are parsed: most of a large repository is modules.
        if any(_mentions_backend(Path(current) / f) for f in configs) and backend_blocks(Path(current)):
            relative = Path(current).relative_to(checkout).as_posix()
            found.append(_discovered(relative))
    return found or [Project(ROOT_NAME, ".")]


def dependency_order(projects: Iterable[Project]) -> list[Project]:
    """Dependencies before their dependents; among projects free to go, by name (stable run to run).
    Dependencies outside `projects` are ignored (not being applied). A cycle is refused."""
    by_name = {p.name: p for p in projects}
    _refuse_cycles(by_name)
    waiting = {name: {d for d in p.depends_on if d in by_name} for name, p in by_name.items()}
    ready = [name for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order = []
    while ready:
        name = heapq.heappop(ready)
        order.append(by_name[name])
        for other, deps in waiting.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, other)
    return order


def _mentions_backend(path: Path) -> bool:
    try:
        return b"backend" in path.read_bytes()
    except OSError:
        return False


def _discovered(relative: str) -> Project:
    if relative == ".":
        return Project(ROOT_NAME, ".")
    if not _valid_name(relative):
        raise _bad(f"the directory {relative!r} holds a Terraform root (a backend block) but its path cannot "
                   "name a project (segments of letters, digits, '.', '_', '-', not env or ephemeral); list it "
                   f"under `projects:` in {FILE} with a name")
    return Project(relative, relative)


def _declared(checkout: Path, listed: object) -> list[Project]:
    if not isinstance(listed, list) or not listed:
        raise _bad(f"`projects:` must be a list of projects, each a mapping of {', '.join(PROJECT_KEYS)}")
    projects = [_project(checkout, raw, i) for i, raw in enumerate(listed)]
    names: dict[str, Project] = {}
    for index, project in enumerate(projects):
        if project.name in names:
            raise _bad(f"projects[{index}]: the name {project.name!r} is used twice (names must be unique; a "
                       "project without one is named by its dir)")
        names[project.name] = project
    for project in projects:
        for dependency in project.depends_on:
            if dependency not in names:
                raise _bad(f"{project.label}: depends_on names {dependency!r}, which is not a project; the "
                           f"projects are {', '.join(repr(n) for n in sorted(names))}")
    _refuse_cycles(names)
    files: list[str] = []
    for project in projects:
        if project.when_modified != DEFAULT_WHEN_MODIFIED:
            files = files or _files(checkout)
            _refuse_idle_globs(project, files)
    return projects


def _refuse_idle_globs(project: Project, files: list[str]) -> None:
    """A glob that matches nothing is a typo that would silently never plan the project."""
    for pattern in project.when_modified:
        glob = from_project(project.dir, pattern)
        if glob == ".." or glob.startswith("../"):
            raise _bad(f"{project.label}: when_modified {pattern!r} reaches outside the repository")
        if not any(glob_matches(glob, f) for f in files):
            raise _bad(f"{project.label}: when_modified {pattern!r} matches no file of the repository (globs are "
                       f"relative to the project's dir {project.dir!r}; `**/` spans directories)")


def _files(checkout: Path) -> list[str]:
    """Every file of the checkout, relative to it, as the changed paths name them."""
    found = []
    for current, dirs, names in os.walk(checkout):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS]
        found.extend(Path(current, n).relative_to(checkout).as_posix() for n in names)
    return found


def _project(checkout: Path, raw: object, index: int) -> Project:
    where = f"projects[{index}]"
    if not isinstance(raw, dict):
        raise _bad(f"{where} must be a mapping of {', '.join(PROJECT_KEYS)}")
    if isinstance(raw.get("name"), str) and raw["name"]:
        where = f"project {raw['name']!r}"
    for key in sorted(set(raw) & set(MOVED)):
        raise _bad(f"{where}: `{key}:` is refused: {MOVED[key]}")
    unknown = sorted(str(k) for k in set(raw) - set(PROJECT_KEYS))
    if unknown:
        raise _bad(f"{where}: unknown key {unknown[0]!r}; a project accepts {', '.join(PROJECT_KEYS)}")
    directory = raw.get("dir")
    if not isinstance(directory, str) or not directory.strip():
        raise _bad(f"{where}: `dir` is required: the project's directory, relative to the repository root")
    relative = PurePosixPath(directory.strip()).as_posix()
    if PurePosixPath(relative).is_absolute() or ".." in PurePosixPath(relative).parts:
        raise _bad(f"{where}: dir {directory!r} must be a relative path inside the repository")
    target = checkout / relative
    root = checkout.resolve()
    if target.is_symlink() or not target.is_dir() or not (target.resolve() == root or root in target.resolve().parents):
        raise _bad(f"{where}: dir {directory!r} is not a directory of the repository")
    name = raw.get("name", ROOT_NAME if relative == "." else relative)
    if not isinstance(name, str) or not ((name == ROOT_NAME and relative == ".") or _valid_name(name)):
        raise _bad(f"{where}: name {name!r} must be segments of letters, digits, '.', '_', '-' joined by '/' "
                   "(not env or ephemeral)")
    where = f"project {name!r}" if name else where
    environments = _names(raw.get("environments", []), f"{where}: environments", _ENVIRONMENT)
    depends_on = _names(raw.get("depends_on", []), f"{where}: depends_on", None)
    if name in depends_on:
        raise _bad(f"{where}: depends_on names the project itself (a dependency cycle)")
    when_modified = _names(raw.get("when_modified", list(DEFAULT_WHEN_MODIFIED)), f"{where}: when_modified", None)
    if not when_modified:
        raise _bad(f"{where}: when_modified must name at least one glob, relative to the project's dir")
    ephemeral = raw.get("ephemeral", True)
    if not isinstance(ephemeral, bool):
        raise _bad(f"{where}: ephemeral must be true or false")
    build = tuple(build_steps(raw.get("build") or [], DOING, f"{where}: build"))
    return Project(name, relative, environments, depends_on, when_modified, ephemeral, build)


def _names(value: object, where: str, pattern: re.Pattern | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(f"{where} must be a list of strings")
    bad = [v for v in value if pattern and not pattern.match(v)]
    if bad:
        raise _bad(f"{where}: {bad[0]!r} is not an environment name (letters, digits, '_', '-')")
    return tuple(dict.fromkeys(value))


def _valid_name(name: str) -> bool:
    parts = name.split("/")
    return len(name) <= 128 and all(_SEGMENT.match(p) and p not in _RESERVED and ".." not in p for p in parts)


def _refuse_cycles(by_name: Mapping[str, Project]) -> None:
    """Depth-first, by name: the first cycle found is named in full (`a -> b -> a`)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dependency in sorted(by_name[name].depends_on):
            if dependency not in by_name:
                continue
            if state.get(dependency) == 1:
                cycle = [*path[path.index(dependency):], dependency]
                raise _bad(f"the projects' depends_on form a cycle: {' -> '.join(cycle)}; a project cannot "
                           "(even indirectly) depend on itself")
            if dependency not in state:
                visit(dependency, [*path, dependency])
        state[name] = 2

    for name in sorted(by_name):
        if name not in state:
            visit(name, [name])


def _with_modules(checkout: Path, project: Project) -> Project:
    root = checkout.resolve()
    dirs = local_module_dirs(root / project.dir, root)
    modules = tuple(d.relative_to(root).as_posix() for d in dirs)
    return replace(project, module_dirs=modules)


def _bad(what: str) -> JobFailure:
    return JobFailure(JobErrorClass.BUILD_FAILED, f"{DOING}: {what}")
