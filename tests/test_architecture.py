"""The layering docs/architecture.md describes, checked on the source: a pure core, a thin app.py, and no
operator-side code inside the Lambda bundle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IO_MODULES = {"boto3", "botocore", "github", "chalice", "requests", "urllib", "http", "socket", "subprocess",
              "slack_sdk", "aws_xray_sdk", "os", "shutil", "tempfile", "threading"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_core_does_no_io_and_imports_no_sdk():
    offenders = {str(p.relative_to(ROOT)): sorted(imported_roots(p) & IO_MODULES)
                 for p in (ROOT / "chalicelib" / "core").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_lambda_bundle_never_imports_the_operator_side():
    offenders = [str(p.relative_to(ROOT)) for p in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]
                 if "tfpipe" in imported_roots(p)]
    assert offenders == []


def test_app_py_constructs_no_clients():
    assert not imported_roots(ROOT / "app.py") & {"boto3", "botocore", "github", "slack_sdk"}
