"""Untrusted code runs apart from the runner's secrets.

Build steps (from the pull request's `tfpipe.yml`) and every Terraform process, with the providers,
provisioners and `external` programs Terraform starts, run as a separate unprivileged user
(`TFPIPE_WORK_USER`, default `tfpipe-work`; `nobody` when that user does not exist) with an
environment built from an allow-list. The runner keeps the task token, the job role's credentials and
the job's contract; Linux does not let another uid read `/proc/<runner>/environ`, so the work user
cannot learn them from there either. This needs the runner to be root (the image runs it so, only to
drop privileges for its children); otherwise isolation is off and the job log says so.

The work user gets the job's `src/` checkout and a `home/` of its own (HOME, a per-job plugin cache
seeded read-only from the shared one, the AWS profile Terraform uses); the work directory itself
stays the runner's. Files the work user leaves behind that the runner uploads are read with
`read_untrusted`, which never follows a symbolic link (a link to `/proc/<runner>/environ` would
otherwise be uploaded with the runner's rights).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from chalicelib.core.job import JobErrorClass
from executor.failures import JobFailure

WORK_USER_ENV = "TFPIPE_WORK_USER"
DEFAULT_WORK_USER = "tfpipe-work"
FALLBACK_USER = "nobody"

# What the runner has that untrusted code never gets (the runner's own git may use what is not here).
RUNNER_ONLY = ("AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
               "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID",
               "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
               "TFPIPE_JOB", "TFPIPE_TASK_TOKEN")
# The allow-list for untrusted code: tools, locale, proxies, which AWS region and endpoints, and the
# operator's Terraform settings. Everything else (TFPIPE_*, credentials, ECS metadata) stays behind.
_PASSED = {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TERM", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
           "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "AWS_REGION",
           "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
           "AWS_STS_REGIONAL_ENDPOINTS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"}
_PASSED_PREFIXES = ("LC_", "AWS_ENDPOINT_URL", "TF_")
_PLUGIN_CACHE_LINE = re.compile(r'^\s*plugin_cache_dir\s*=\s*"([^"]+)"', re.MULTILINE)


def runner_env(environ: dict[str, str]) -> dict[str, str]:
    """For the runner's own tools (git): its environment less what it must not hand to any child."""
    return {k: v for k, v in environ.items() if k not in RUNNER_ONLY and not k.startswith("TF_VAR_")}


def work_env(environ: dict[str, str]) -> dict[str, str]:
    """The allow-listed part of the runner's environment that untrusted code may see."""
    return {k: v for k, v in environ.items() if k not in RUNNER_ONLY and not k.startswith("TF_VAR_")
            and (k in _PASSED or k.startswith(_PASSED_PREFIXES))}


@dataclass
class WorkUser:
    """Who runs untrusted code; `uid` None means isolation is off (children run as the runner)."""

    name: str
    uid: int | None = None
    gid: int | None = None
    env: dict[str, str] = field(default_factory=dict)  # HOME and the plugin cache, once `prepare`d

    @property
    def isolated(self) -> bool:
        return self.uid is not None

    def spawn_kwargs(self) -> dict:
        """subprocess arguments that start a child as the work user, with none of our groups."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []} if self.isolated else {}

    def prepare(self, workdir: Path, environ: dict[str, str]) -> Path:
        """The work user's HOME in the work directory, with a plugin cache of its own (the shared one
        may serve later jobs, so untrusted code must not write into it). Returns HOME."""
        home = workdir / "home"
        home.mkdir(mode=0o700, exist_ok=True)
        if not self.isolated:
            return home
        self._check_reachable(workdir.parent)
        # The work user may reach src/ and home/ by name, not list or read the rest.
        os.chmod(workdir, 0o711)  # noqa: S103 - execute-only for others, by design
        cache = home / "plugin-cache"
        cache.mkdir(exist_ok=True)
        shared = shared_plugin_cache(environ)
        if shared:
            seed_plugin_cache(cache, shared)
        self.give(home)
        self.env = {"HOME": str(home), "TF_PLUGIN_CACHE_DIR": str(cache)}
        return home

    def _check_reachable(self, directory: Path) -> None:
        """Every directory above the work directory must let the work user pass (a private temporary
        directory would leave Terraform unable to enter its own checkout)."""
        for ancestor in [directory, *directory.parents]:
            info = os.stat(ancestor)
            bit = (stat.S_IXUSR if info.st_uid == self.uid else stat.S_IXGRP if info.st_gid == self.gid
                   else stat.S_IXOTH)
            if not info.st_mode & bit:
                raise JobFailure(JobErrorClass.JOB_FAILED, f"preparing the work directory: {ancestor} (mode "
                                 f"{stat.S_IMODE(info.st_mode):04o}) does not let the work user {self.name} pass; "
                                 "set TFPIPE_JOB_WORK_DIR below directories others may enter, e.g. /tmp/tfpipe")

    def give(self, path: Path) -> None:
        """Hand a tree to the work user, never following a link inside it."""
        if not self.isolated:
            return
        os.chown(path, self.uid, self.gid, follow_symlinks=False)
        for root, dirs, files in os.walk(path):  # os.walk does not descend into linked directories
            for name in dirs + files:
                os.chown(os.path.join(root, name), self.uid, self.gid, follow_symlinks=False)


def work_user(name: str, log) -> WorkUser:
    """The user for untrusted code, found by name; logs clearly when isolation is off."""
    if os.geteuid() != 0:
        log.event(f"isolation is OFF: the runner is not root (uid {os.geteuid()}), so build steps and Terraform "
                  "run as the runner's own user and could read its environment (task token, job-role "
                  f"credentials) through /proc; run the executor as root with a {name!r} user, as the image does",
                  level="warning")
        return WorkUser(name)
    for candidate in (name, FALLBACK_USER):
        try:
            entry = pwd.getpwnam(candidate)
        except KeyError:
            continue
        if entry.pw_uid == 0:
            raise JobFailure(JobErrorClass.JOB_FAILED, f"isolating untrusted code: {WORK_USER_ENV}={candidate} is "
                             "root; name an unprivileged user")
        if candidate != name:
            log.event(f"no user {name!r} ({WORK_USER_ENV}): build steps and Terraform run as {candidate!r}",
                      level="warning")
        log.event(f"build steps and terraform run as user {candidate} (uid {entry.pw_uid}), apart from the runner")
        return WorkUser(candidate, entry.pw_uid, entry.pw_gid)
    raise JobFailure(JobErrorClass.JOB_FAILED, f"isolating untrusted code: neither {name!r} ({WORK_USER_ENV}) "
                     f"nor {FALLBACK_USER!r} exists; create the user (the image creates {DEFAULT_WORK_USER})")


def shared_plugin_cache(environ: dict[str, str]) -> Path | None:
    """The operator's plugin cache: TF_PLUGIN_CACHE_DIR, else plugin_cache_dir of the CLI configuration."""
    if environ.get("TF_PLUGIN_CACHE_DIR"):
        return Path(environ["TF_PLUGIN_CACHE_DIR"])
    config = environ.get("TF_CLI_CONFIG_FILE") or os.path.join(environ.get("HOME", "/root"), ".terraformrc")
    with contextlib.suppress(OSError):
        match = _PLUGIN_CACHE_LINE.search(Path(config).read_text())
        if match:
            return Path(os.path.expanduser(match.group(1)))
    return None


def seed_plugin_cache(cache: Path, shared: Path) -> None:
    """Link every provider package of the shared cache (<host>/<ns>/<type>/<version>/<platform>) into
    the job's: Terraform reads them through the links, and installs anything new beside them."""
    for package in shared.glob("*/*/*/*/*"):
        target = cache / package.relative_to(shared)
        if package.is_dir() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(package)


def read_untrusted(root: Path, relative: str) -> bytes:
    """A regular file below `root` that untrusted code may have replaced, opened component by component
    without following any link (so not `/proc/<runner>/environ` through one)."""
    parts = _parts(relative)
    fd = None
    try:
        fd = _open_dirs(root, parts[:-1])
        leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError as exc:
        raise OSError(f"{relative}: not a regular file inside the work directory ({exc.strerror})") from None
    finally:
        if fd is not None:
            os.close(fd)
    with os.fdopen(leaf, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(f"{relative}: not a regular file")
        return handle.read()


def write_untrusted(root: Path, relative: str, data: bytes) -> None:
    """Write a file into a directory untrusted code owns (a project's dir below `root` too): no link on
    the way is followed, and whatever stands at the file's name (a link the repository planted to a file
    of the runner's) is removed first, and the new file is created anew."""
    parts = _parts(relative)
    fd, name = _open_dirs(root, parts[:-1]), parts[-1]
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=fd)
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=fd)
    finally:
        os.close(fd)
    with os.fdopen(out, "wb") as handle:
        handle.write(data)


def _parts(relative: str) -> tuple[str, ...]:
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise OSError(f"{relative}: not a path inside the work directory")
    return parts


def _open_dirs(root: Path, parts: tuple[str, ...]) -> int:
    """`root`, then each of `parts` below it, opened without following links: the last one's fd."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except OSError:
        os.close(fd)
        raise
    return fd
