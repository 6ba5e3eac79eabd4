"""Checks the Terraform toolchain and writes a Terraform CLI configuration for this checkout.

Runs with the system Python before the virtualenv exists, so it uses the standard library only.
Terraform is found on PATH; the `hashicorp/aws` provider is taken from a filesystem mirror found by
searching Terraform's implied mirror directories and a few conventional roots (or the one named in
TFPIPE_PROVIDER_MIRROR), and written into `<state-dir>/terraform.rc` as a `filesystem_mirror`, the
standard CLI configuration mechanism. Nothing here hard-codes where a machine keeps its mirror.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

MIN_TERRAFORM = (1, 10, 0)
PROVIDER_HOST = "registry.terraform.io"


class ToolchainError(Exception):
    pass


def terraform_version(binary: str = "terraform") -> tuple[int, int, int]:
    path = shutil.which(binary)
    if path is None:
        raise ToolchainError(
            "checking the Terraform toolchain: `terraform` is not on PATH. Install Terraform "
            f"{'.'.join(map(str, MIN_TERRAFORM))} or newer (https://developer.hashicorp.com/terraform/install) "
            "and make sure `terraform version` works, then run `make install` again."
        )
    out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}).stdout
    match = re.search(r"Terraform v(\d+)\.(\d+)\.(\d+)", out)
    if not match:
        raise ToolchainError(
            f"checking the Terraform toolchain: could not read a version from `terraform version`: {out[:200]!r}")
    found = tuple(int(p) for p in match.groups())
    if found < MIN_TERRAFORM:
        raise ToolchainError(
            f"checking the Terraform toolchain: found Terraform {'.'.join(map(str, found))}, need "
            f"{'.'.join(map(str, MIN_TERRAFORM))} or newer (S3 native state locking). Upgrade Terraform "
            "and run `make install` again."
        )
    return found  # type: ignore[return-value]


def _implied_mirror_dirs() -> list[Path]:
    home = Path.home()
    data_dirs = [os.environ.get("XDG_DATA_HOME", str(home / ".local/share"))]
    data_dirs += os.environ.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":")
    return [home / ".terraform.d/plugins", *(Path(d) / "terraform/plugins" for d in data_dirs if d)]


def find_provider_mirror(namespace: str = "hashicorp", name: str = "aws") -> Path | None:
    """A directory laid out as a Terraform filesystem mirror that holds namespace/name."""
    explicit = os.environ.get("TFPIPE_PROVIDER_MIRROR")
    candidates: list[Path] = [Path(explicit)] if explicit else []
    candidates += _implied_mirror_dirs()
    # Conventional roots where images keep mirrors; searched, never assumed.
    for root in ("/opt", "/usr/local/share", "/usr/share", "/srv", str(Path.home())):
        pattern = os.path.join(root, "*", PROVIDER_HOST, namespace, name)
        candidates += [Path(p).parents[2] for p in glob.glob(pattern)]
        pattern = os.path.join(root, "*", "*", PROVIDER_HOST, namespace, name)
        candidates += [Path(p).parents[2] for p in glob.glob(pattern)]
    for mirror in candidates:
        if (mirror / PROVIDER_HOST / namespace / name).is_dir():
            return mirror
    return None


def render_cli_config(mirror: Path | None, plugin_cache: Path) -> str:
    lines = [f'plugin_cache_dir = "{plugin_cache}"', ""]
    if mirror is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f'    path    = "{mirror}"',
            f'    include = ["{PROVIDER_HOST}/*/*"]',
            "  }",
            "  direct {",
            f'    exclude = ["{PROVIDER_HOST}/*/*"]',
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", default=".tfpipe")
    args = parser.parse_args(argv)
    try:
        version = terraform_version()
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    state_dir = Path(args.state_dir).resolve()
    cache = state_dir / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    mirror = find_provider_mirror()
    (state_dir / "terraform.rc").write_text(render_cli_config(mirror, cache))
    where = f"provider mirror {mirror}" if mirror else "no local provider mirror found (providers come from the registry)"
    print(f"terraform {'.'.join(map(str, version))}: ok; {where}; CLI config {state_dir / 'terraform.rc'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
