"""Which providers and module sources a configuration asks for, checked against the pipeline's
allow-lists before `terraform init` installs anything.

`terraform init` downloads and later runs whatever providers a pull request names, so the executor
reads the configuration first (HCL through python-hcl2, `.tf.json` as JSON), without running
Terraform: every `required_providers` entry, every `provider` block, and the provider each resource,
data source and ephemeral resource implies (`random_id` -> hashicorp/random; the default namespace is
hashicorp), in the root module and in every local module (`./`, `../`) it calls, followed recursively.
Module sources must be local or match `TFPIPE_ALLOWED_MODULE_SOURCES`; the providers of allowed remote
modules are checked once `terraform get` has fetched them (still before `init`). The same reading
gives the root module's backend blocks, which `executor.backend` checks before init.

Allow-lists are globs: providers as `namespace/type` (the public registry) or `host/namespace/type`
(`TFPIPE_ALLOWED_PROVIDERS`, default `hashicorp/*`), module sources as the `source` string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import hcl2

from chalicelib.core.job import JobErrorClass
from executor.failures import JobFailure

PROVIDERS_SETTING = "TFPIPE_ALLOWED_PROVIDERS"
MODULES_SETTING = "TFPIPE_ALLOWED_MODULE_SOURCES"
DEFAULT_HOST = "registry.terraform.io"
BUILTIN = "terraform.io/builtin/terraform"  # terraform_data, terraform_remote_state
_LOCAL = ("./", "../")
_RESOURCE_BLOCKS = ("resource", "data", "ephemeral")


class UnreadableFile(JobFailure):
    """A configuration file the check could not parse: usually a syntax error, which Terraform itself
    describes better (the runner asks `terraform fmt`, which installs nothing)."""

    def __init__(self, relative: str, message: str):
        self.relative = relative
        super().__init__(JobErrorClass.INIT_FAILED, message)


@dataclass(frozen=True)
class Use:
    """One provider or module source a configuration asks for, and where."""

    kind: str  # "provider" or "module"
    address: str  # a provider's host/namespace/type, or a module's source
    where: str  # e.g. `main.tf` or `modules/net/main.tf (module "net")`


@dataclass(frozen=True)
class BackendBlock:
    """A `backend "<kind>" { ... }` block of the root module, and the settings written in it."""

    where: str  # the file, relative to the root
    kind: str  # e.g. "s3"
    settings: tuple[str, ...]


def parse_list(value: str) -> tuple[str, ...]:
    """A comma-separated setting: blanks dropped, each entry trimmed."""
    return tuple(p.strip() for p in value.split(",") if p.strip())


def provider_address(source: str) -> str:
    """`aws`, `hashicorp/aws` or `host/hashicorp/aws` as Terraform's full, lower-case address."""
    parts = source.strip().lower().split("/")
    if len(parts) == 1:
        parts = ["hashicorp", *parts]
    if len(parts) == 2:
        parts = [DEFAULT_HOST, *parts]
    return "/".join(parts)


def provider_allowed(address: str, patterns: tuple[str, ...]) -> bool:
    host, rest = address.split("/", 1)
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.count("/") == 2 and fnmatchcase(address, pattern):
            return True
        if pattern.count("/") == 1 and host == DEFAULT_HOST and fnmatchcase(rest, pattern):
            return True
    return address == BUILTIN


def module_allowed(source: str, patterns: tuple[str, ...]) -> bool:
    return source.startswith(_LOCAL) or any(fnmatchcase(source, p) for p in patterns)


def check_configuration(root: Path, providers: tuple[str, ...], modules: tuple[str, ...],
                        repo_root: Path | None = None) -> list[Use]:
    """Refuse (InitFailed) the first provider or module source the allow-lists do not cover; returns
    the remote module sources that were allowed (their providers are checked after `terraform get`).
    `root` is the Terraform root; `repo_root` (default `root`) the checkout its local modules must stay
    in: a project in `stacks/app` may call `../../modules/queue`."""
    uses = configuration_uses(root, repo_root)
    _refuse_any(uses, providers, modules)
    return [u for u in uses if u.kind == "module" and not u.address.startswith(_LOCAL)]


def check_fetched_modules(root: Path, data_dir: str, providers: tuple[str, ...], modules: tuple[str, ...]) -> None:
    """After `terraform get`: the providers and nested sources of every remote module it fetched."""
    manifest = Path(root) / data_dir / "modules" / "modules.json"
    try:
        entries = json.loads(manifest.read_text()).get("Modules") or []
    except (OSError, ValueError):
        return  # nothing was fetched
    uses: list[Use] = []
    for entry in entries:
        key, source, directory = entry.get("Key", ""), entry.get("Source", ""), entry.get("Dir", "")
        if not key or not directory:
            continue  # the root module
        if not source.startswith(_LOCAL):
            uses.append(Use("module", source, f"module {key!r}"))
        module_dir = (Path(root) / directory).resolve()
        if _inside(module_dir, Path(root).resolve()):
            uses.extend(_module_uses(module_dir, module_dir, f"module {key!r}", follow_local=False))
    _refuse_any(uses, providers, modules)


def configuration_uses(root: Path, repo_root: Path | None = None) -> list[Use]:
    root = Path(root).resolve()
    return _module_uses(root, Path(repo_root).resolve() if repo_root else root, "", follow_local=True)


def _refuse_any(uses: list[Use], providers: tuple[str, ...], modules: tuple[str, ...]) -> None:
    for use in uses:
        if use.kind == "provider" and not provider_allowed(use.address, providers):
            raise JobFailure(JobErrorClass.INIT_FAILED, f"checking providers before terraform init: provider "
                             f"{use.address} ({use.where}) is not allowed: {PROVIDERS_SETTING} allows "
                             f"{', '.join(providers) or 'none'}; the pipeline's operator may add it")
        if use.kind == "module" and not module_allowed(use.address, modules):
            raise JobFailure(JobErrorClass.INIT_FAILED, f"checking module sources before terraform init: module "
                             f"source {use.address!r} ({use.where}) is not allowed: only local modules (./, ../) "
                             f"and {MODULES_SETTING} ({', '.join(modules) or 'none set'}) are")


def _module_uses(directory: Path, root: Path, label: str, follow_local: bool, seen: set[Path] | None = None) -> list[Use]:
    seen = set() if seen is None else seen
    if directory in seen:
        return []
    seen.add(directory)
    documents = _documents(directory, root)
    local_names: dict[str, str] = {}  # local provider name -> source, from required_providers
    declared: list[tuple[str, Path]] = []
    for path, doc in documents:
        for terraform in _list(doc.get("terraform")):
            for block in _list(terraform.get("required_providers")):
                for name, value in _items(block):
                    source = _string(value.get("source")) if isinstance(value, dict) else None
                    local_names[name] = source or name
                    declared.append((name, path))
    uses: list[Use] = []

    def where(path: Path) -> str:
        relative = path.relative_to(root).as_posix()
        return f"{relative} ({label})" if label else relative

    def use_provider(name: str, path: Path) -> None:
        if name != "terraform":
            uses.append(Use("provider", provider_address(local_names.get(name, name)), where(path)))

    for name, path in declared:
        use_provider(name, path)  # declared: init installs it even when nothing uses it
    for path, doc in documents:
        for block in _list(doc.get("provider")):
            for name, _body in _items(block):
                use_provider(name, path)
        scopes = [doc] + [body for check in _list(doc.get("check")) for _name, body in _items(check)
                          if isinstance(body, dict)]  # a check block may hold a scoped data source
        for scope in scopes:
            for kind in _RESOURCE_BLOCKS:
                for block in _list(scope.get(kind)):
                    for rtype, named in _items(block):
                        for _name, body in _items(named):
                            explicit = _string(body.get("provider")) if isinstance(body, dict) else None
                            # `provider = google.west` names a local name; otherwise the type's prefix does
                            name = (explicit.removeprefix("${").split(".")[0] if explicit
                                    else rtype.split("_")[0])
                            use_provider(name, path)
        for block in _list(doc.get("module")):
            for name, body in _items(block):
                source = _string(body.get("source")) if isinstance(body, dict) else None
                if not source:
                    continue
                uses.append(Use("module", source, where(path) + f" module {name!r}"))
                if source.startswith(_LOCAL) and follow_local:
                    target = (directory / source).resolve()
                    if not _inside(target, root) or not target.is_dir():
                        raise JobFailure(JobErrorClass.INIT_FAILED, f"checking module sources before terraform "
                                         f"init: local module {source!r} ({where(path)}) is not a directory "
                                         "inside the repository")
                    uses.extend(_module_uses(target, root, f"module {name!r}", True, seen))
    return uses


def local_module_dirs(directory: Path, repo_root: Path) -> list[Path]:
    """The directories of the local modules (`./`, `../`) `directory` calls, followed transitively,
    resolved; a call leaving `repo_root` (or naming no directory) is refused, as `terraform init`
    could not find it in the checkout either. Remote modules are not followed: they live elsewhere."""
    repo_root = Path(repo_root).resolve()
    start = Path(directory).resolve()
    found: list[Path] = []
    pending = [start]
    while pending:
        current = pending.pop()
        for path, doc in _documents(current, repo_root):
            for block in _list(doc.get("module")):
                for name, body in _items(block):
                    source = _string(body.get("source")) if isinstance(body, dict) else None
                    if not source or not source.startswith(_LOCAL):
                        continue
                    target = (current / source).resolve()
                    if not _inside(target, repo_root) or not target.is_dir():
                        raise JobFailure(JobErrorClass.INIT_FAILED, f"following local modules: module {name!r} "
                                         f"in {path.relative_to(repo_root).as_posix()} calls {source!r}, which is "
                                         "not a directory inside the repository")
                    if target != start and target not in found:
                        found.append(target)
                        pending.append(target)
    return sorted(found)


def backend_blocks(root: Path) -> list[BackendBlock]:
    """The root module's `backend` blocks (in `terraform` blocks), with the settings each writes."""
    root = Path(root).resolve()
    return [BackendBlock(path.relative_to(root).as_posix(), kind,
                         tuple(name for name, _value in _items(body)) if isinstance(body, dict) else ())
            for path, doc in _documents(root, root)
            for terraform in _list(doc.get("terraform"))
            for block in _list(terraform.get("backend"))
            for kind, body in _items(block)]


def _documents(directory: Path, root: Path) -> list[tuple[Path, dict]]:
    # As Terraform reads a module: its .tf and .tf.json files, not hidden ones (editors' leftovers).
    return [(path, _load(path, root)) for path in sorted(directory.iterdir())
            if path.name.endswith((".tf", ".tf.json")) and not path.name.startswith(".") and path.is_file()]


def _load(path: Path, root: Path) -> dict:
    """One configuration file. Its content never appears in an error: a link the repository planted
    could point at a file of the runner's."""
    relative = path.relative_to(root).as_posix() if _inside(path, root) else path.name
    if not _inside(path.resolve(), root):
        raise JobFailure(JobErrorClass.INIT_FAILED, f"checking providers before terraform init: {relative} "
                         "links outside the repository")
    try:
        text = path.read_text()
        document = json.loads(text) if path.name.endswith(".json") else hcl2.loads(text)
    except Exception as exc:  # lark's errors quote the text: only the line goes out
        line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
        raise UnreadableFile(relative, f"checking providers before terraform init: {relative} is not valid "
                             f"{'JSON' if path.name.endswith('.json') else 'HCL'}"
                             + (f" (line {line})" if line else "")) from None
    return document if isinstance(document, dict) else {}


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _list(value) -> list:
    """HCL (python-hcl2) gives a list of blocks, JSON a block or a list of them."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _items(block) -> list[tuple[str, object]]:
    """A block's labelled entries with their labels unquoted (python-hcl2 keeps the quotes)."""
    if not isinstance(block, dict):
        return []
    return [(_unquote(k), v) for k, v in block.items() if k != "__is_block__"]


def _string(value) -> str | None:
    return _unquote(value) if isinstance(value, str) else None


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
