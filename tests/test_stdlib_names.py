"""Install works on a stock Python: no module of ours shadows the standard library, and the toolchain
check runs in an interpreter with no site hooks (Debian's python3 has none that pre-import `re`; an
image whose site hook does hid `tfpipe/operator.py` shadowing `operator` until a user hit it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {".git", ".venv", ".venv-checkov", ".tfpipe", ".terraform", "__pycache__", "node_modules"}


def our_python_files() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if not SKIPPED & set(p.relative_to(ROOT).parts)]


def test_no_module_or_package_of_ours_has_a_standard_library_name():
    names = sys.stdlib_module_names
    shadows = sorted(str(p.relative_to(ROOT)) for p in our_python_files() if p.stem in names)
    shadows += sorted(str(p.parent.relative_to(ROOT)) for p in our_python_files()
                      if p.name == "__init__.py" and p.parent.name in names)
    assert shadows == [], f"these shadow the standard library when their folder is on sys.path: {shadows}"


STOCK_PYTHON = Path("/usr/bin/python3")  # Debian's, with no site hook, where the machine has one


def makefile_toolchain_command(state_dir: Path) -> list[str]:
    recipe = re.search(r"^\t(python3 .*toolchain.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert recipe, "the Makefile's toolchain recipe is gone"
    return recipe.group(1).replace("$(STATE_DIR)", str(state_dir)).split()[1:]


def test_the_toolchain_check_runs_without_site_hooks_as_the_makefile_runs_it(tmp_path):
    # -S: no site module, so nothing pre-imports `re`; -E -s: no PYTHON* variables, no user site.
    done = subprocess.run([sys.executable, "-S", "-E", "-s", *makefile_toolchain_command(tmp_path / "state")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "terraform 1." in done.stdout
    assert (tmp_path / "state" / "terraform.rc").is_file()


def test_the_toolchain_check_runs_on_the_stock_debian_python_when_the_machine_has_one(tmp_path):
    interpreter = str(STOCK_PYTHON) if STOCK_PYTHON.exists() else sys.executable
    done = subprocess.run([interpreter, "-E", "-s", *makefile_toolchain_command(tmp_path / "state")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "state" / "terraform.rc").is_file()
