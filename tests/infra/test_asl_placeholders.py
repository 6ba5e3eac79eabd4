"""Every ${Placeholder} in statemachines/*.asl.json is supplied by Terraform (asl_placeholders.tf and
names.json's asl_functions), and every ASL file is a workflow Terraform names."""

from __future__ import annotations

import json
import re

import pytest

from tests.infra.terraform_cli import REPO

STATEMACHINES = REPO / "statemachines"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def terraform_substitution_keys() -> set[str]:
    source = (REPO / "terraform" / "asl_placeholders.tf").read_text()
    block = re.search(r"asl_substitutions = merge\(local\.asl_function_arns, \{\n(.*?)\n  \}\)", source, re.DOTALL)
    assert block, "asl_placeholders.tf lost its predictable form (one `Key = value` per line in asl_substitutions)"
    keys = set(re.findall(r"^\s+([A-Za-z][A-Za-z0-9_]*)\s+=", block[1], re.MULTILINE))
    names = json.loads((REPO / "terraform" / "names.json").read_text())
    return keys | set(names["asl_functions"])


def asl_files():
    return sorted(STATEMACHINES.glob("*.asl.json"))


def test_terraform_keys_are_read_from_the_block():
    keys = terraform_substitution_keys()
    assert {"DestroyStateMachineArn", "SubmitJobFunctionArn", "Region"} <= keys


@pytest.mark.parametrize("path", asl_files(), ids=lambda p: p.name)
def test_every_placeholder_of_the_state_machine_is_supplied_by_terraform(path):
    placeholders = set(PLACEHOLDER.findall(path.read_text()))
    missing = placeholders - terraform_substitution_keys()
    assert missing == set(), f"{path.name} uses placeholders terraform/asl_placeholders.tf does not supply"


@pytest.mark.parametrize("path", asl_files(), ids=lambda p: p.name)
def test_state_machine_file_is_a_workflow_with_a_name(path):
    names = json.loads((REPO / "terraform" / "names.json").read_text())
    assert path.name.removesuffix(".asl.json") in names["state_machines"]
    # templatefile would choke on a template directive or a placeholder that is not a plain name.
    assert "%{" not in path.read_text()
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", p) for p in PLACEHOLDER.findall(path.read_text()))


@pytest.mark.parametrize("path", asl_files(), ids=lambda p: p.name)
def test_asl_task_functions_exist_in_the_chalice_app(path):
    names = json.loads((REPO / "terraform" / "names.json").read_text())
    app = (REPO / "app.py").read_text()
    for placeholder in set(PLACEHOLDER.findall(path.read_text())) & set(names["asl_functions"]):
        function = names["asl_functions"][placeholder]
        assert f'name="{function}"' in app, f"{path.name}: {placeholder} names Chalice function {function!r}, not in app.py"
