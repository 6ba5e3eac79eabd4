"""The executor image, checked statically: no Docker engine runs here (and hadolint is not reachable),
so the Dockerfile is parsed and its promises checked; the CodeBuild buildspec is parsed as YAML."""

from __future__ import annotations

import ast
import re
import shlex
import sys
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser
from executor.terraform import MIN_VERSION

from tests.executor.conftest import EXECUTOR_ROOT, REPO_ROOT

DOCKERFILE = EXECUTOR_ROOT / "Dockerfile"
BUILDSPEC = EXECUTOR_ROOT / "buildspec.yml"
REQUIREMENTS = EXECUTOR_ROOT / "requirements.txt"
# Import name -> distribution name, for the third-party modules the runner may import.
DISTRIBUTIONS = {"boto3": "boto3", "botocore": "botocore", "aws_xray_sdk": "aws-xray-sdk", "yaml": "PyYAML",
                 "hcl2": "python-hcl2"}


def instructions(name: str) -> list[str]:
    return [i["value"] for i in DockerfileParser(path=str(DOCKERFILE)).structure if i["instruction"] == name]


def test_base_image_is_pinned_to_an_exact_version_or_digest():
    base = DockerfileParser(path=str(DOCKERFILE)).baseimage
    assert "@sha256:" in base or re.search(r":\d+\.\d+\.\d+[-\w.]*$", base), base


def test_terraform_is_pinned_by_version_and_its_checksum_is_verified_in_the_build():
    args = DockerfileParser(path=str(DOCKERFILE)).args
    version = tuple(int(p) for p in args["TERRAFORM_VERSION"].split("."))
    assert version >= MIN_VERSION
    for arch in ("AMD64", "ARM64"):
        assert re.fullmatch(r"[0-9a-f]{64}", args[f"TERRAFORM_SHA256_{arch}"])
    [install] = [r for r in instructions("RUN") if "releases.hashicorp.com/terraform" in r]
    assert "sha256sum --check" in install
    assert install.index("sha256sum --check") < install.index("unzip")  # verified before it is unpacked
    assert "pipefail" in " ".join(instructions("SHELL"))


def test_git_is_installed_with_every_apt_package_pinned():
    [apt] = [r for r in instructions("RUN") if "apt-get install" in r]
    packages = [w for w in shlex.split(apt.split("apt-get install", 1)[1].split("&&")[0]) if not w.startswith("-")]
    assert any(p.startswith("git=") for p in packages)
    assert all("=" in p for p in packages), packages


def test_untrusted_code_runs_as_the_unprivileged_work_user_the_image_creates():
    """The runner is root only to start build steps and Terraform as tfpipe-work (executor/isolation.py)."""
    from executor.config import ExecutorConfig

    assert all(u in ("root", "0") for u in instructions("USER"))  # the runner must be able to switch users
    [useradd] = [r for r in instructions("RUN") if "useradd" in r]
    assert re.search(r"--uid \d+", useradd) and useradd.rstrip().endswith(ExecutorConfig().work_user)
    assert "--shell /usr/sbin/nologin" in useradd and "--no-create-home" in useradd
    env = DockerfileParser(path=str(DOCKERFILE)).envs
    assert env["TFPIPE_WORK_USER"] == ExecutorConfig().work_user
    assert not env["TF_PLUGIN_CACHE_DIR"].startswith("/home/")  # warmed as root, read-only to the work user


def test_every_copy_source_exists_in_the_repository():
    sources = [shlex.split(value)[:-1] for value in instructions("COPY")]
    assert sources
    missing = [s for group in sources for s in group if not (REPO_ROOT / s).exists()]
    assert missing == []


def test_the_entry_point_is_the_runner_and_forwards_signals():
    [entrypoint] = instructions("ENTRYPOINT")
    assert entrypoint.replace(" ", "") == '["/usr/bin/tini","--","python","-m","executor"]'


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def _requirements() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", line), f"unpinned requirement {line!r}"
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_image_requirements_are_pinned_to_the_projects_constraints():
    constraints = _constraints()
    assert {n: v for n, v in _requirements().items() if constraints.get(n) != v} == {}


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_every_module_the_runner_reaches_is_in_the_image():
    """Walk the imports from the runner through chalicelib: each file exists in what the image copies,
    and each third-party root is in the image's requirements."""
    requirements = {n.lower() for n in _requirements()}
    todo, seen, third_party = [EXECUTOR_ROOT / "executor" / "__main__.py"], set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path):
            root = module.split(".")[0]
            if root in ("executor", "chalicelib"):
                base = (EXECUTOR_ROOT if root == "executor" else REPO_ROOT) / Path(*module.split("."))
                candidates = [base.with_suffix(".py"), base / "__init__.py"]
                found = [c for c in candidates if c.exists()]
                assert found, f"{path.name} imports {module}, which the image does not hold"
                todo.extend(found)
            elif root not in sys.stdlib_module_names and root != "__future__":
                third_party.add(root)
    assert len(seen) > 10
    assert {r for r in third_party if DISTRIBUTIONS.get(r, r).lower() not in requirements} == set()


def test_buildspec_builds_tags_with_the_commit_sha_and_pushes_to_ecr():
    spec = yaml.safe_load(BUILDSPEC.read_text())
    assert spec["version"] == 0.2
    phases = spec["phases"]
    every = " ".join(c for phase in phases.values() for c in phase["commands"])
    assert "IMAGE_TAG=\"${CODEBUILD_RESOLVED_SOURCE_VERSION}\"" in every
    assert "aws ecr get-login-password" in every and "docker login" in every
    [build] = [c for c in phases["build"]["commands"] if c.startswith("docker build")]
    assert "--file executor/Dockerfile" in build and '--tag "${IMAGE_URI}"' in build and build.endswith(" .")
    assert any(c == 'docker push "${IMAGE_URI}"' for c in phases["post_build"]["commands"])
    assert spec["env"]["exported-variables"] == ["IMAGE_URI"]


def test_the_build_context_admits_exactly_what_the_dockerfile_copies():
    lines = [line.strip() for line in (EXECUTOR_ROOT / "Dockerfile.dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {s.rstrip("/") for value in instructions("COPY") for s in shlex.split(value)[:-1]}
    assert admitted == copied
