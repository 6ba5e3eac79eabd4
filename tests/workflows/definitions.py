"""The state machine files, read and substituted as Terraform and the embedded stack do."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.core.workflows import Workflow

STATEMACHINES = Path(__file__).resolve().parents[2] / "statemachines"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


def text(workflow: Workflow) -> str:
    return (STATEMACHINES / f"{workflow.value}.asl.json").read_text()


def definition(workflow: Workflow) -> dict:
    return json.loads(text(workflow))


def function_placeholders() -> dict[str, str]:
    return json.loads((STATEMACHINES / "placeholders.json").read_text())["functions"]


def substitute(source: str, values: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        return values[match[1]]  # KeyError: a placeholder nobody supplies, as templatefile would refuse
    return PLACEHOLDER.sub(value, source)


def function_arns(region: str, account: str, prefix: str) -> dict[str, str]:
    return {key: f"arn:aws:lambda:{region}:{account}:function:{prefix}{name}"
            for key, name in function_placeholders().items()}
