"""terraform/names.json (shared by Terraform and the embedded stack) agrees with the app's own view of
the world: .chalice/config.json's stage variables, the settings the code reads, and the workflows."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.core.tiers import Tier
from chalicelib.core.workflows import Workflow
from chalicelib.settings import Settings
from tests.infra.terraform_cli import REPO

NAMES = json.loads((REPO / "terraform" / "names.json").read_text())
CONFIG = json.loads((REPO / ".chalice" / "config.json").read_text())
LOCALS_TF = (REPO / "terraform" / "locals.tf").read_text()

# Settings read without a default that AWS deployments leave unset on purpose. (Settings read with a
# default are the code's decision; the ones without are names, ARNs and URLs Terraform must supply.)
UNSET_IN_AWS = {
    "LOCAL_GIT_ROOT",  # the embedded stack's Git stand-in only
    "ARTIFACTS_BASE_URL",  # unset: artifact links point at the S3 console
    # One job definition and queue for every tier: tests and single-definition setups. Terraform sets
    # each tier's own (JOB_DEFINITION_ARN_<TIER>, JOB_QUEUE_ARN_<TIER>), which the check below requires.
    "JOB_DEFINITION_ARN", "JOB_QUEUE_ARN",
}


def expand(pattern: str, stage: str, app: str = "tfpipe") -> str:
    return pattern.replace("{app}", app).replace("{stage}", stage)


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_names_match_the_chalice_stage_variables(stage):
    variables = CONFIG["stages"][stage]["environment_variables"]
    named = {r["env"]: expand(r["name"], stage) for r in NAMES["resources"].values()
             if r.get("env") and r["env"] in variables}
    assert named, "names.json shares no variable with config.json"
    assert named == {env: variables[env] for env in named}
    # Every plain name in config.json is one names.json knows.
    plain = {k for k in variables if k.endswith(("_TABLE", "_BUCKET", "_SECRET_NAME", "_GROUP"))}
    assert plain <= set(named)


def test_one_state_machine_per_workflow_named_by_its_settings_variable():
    assert set(NAMES["state_machines"]) == {w.value for w in Workflow}
    for workflow in Workflow:
        assert NAMES["state_machines"][workflow.value]["env"] == f"TFPIPE_STATE_MACHINE_{workflow.settings_key}"


def test_every_variable_names_json_exports_is_read_by_the_settings():
    exported = {r["env"] for r in [*NAMES["resources"].values(), *NAMES["state_machines"].values()] if r.get("env")}
    marker = "value-from-terraform"
    for env in sorted(exported):
        settings = Settings.from_env({env: marker if "ENVIRONMENTS" not in env else "{}"})
        assert marker in repr(settings), f"{env} is not a setting chalicelib/settings.py reads"


def test_terraform_gives_the_lambdas_every_setting_without_a_default_that_config_json_leaves_unset():
    source = (REPO / "chalicelib" / "settings.py").read_text()
    read = set(re.findall(r'(?<![.\w])get\("([A-Z_]+)"\)', source)) | {f"STATE_MACHINE_{w.settings_key}" for w in Workflow}
    read |= {f"JOB_{kind}_ARN_{t.settings_key}" for t in Tier for kind in ("DEFINITION", "QUEUE")}
    from_config = {k.removeprefix("TFPIPE_") for stage in CONFIG["stages"].values()
                   for k in stage["environment_variables"]} | {k.removeprefix("TFPIPE_")
                                                              for k in CONFIG["environment_variables"]}
    # locals.tf passes names.json's names through, except the keys it turns into URLs and ARNs itself.
    converted = set(json.loads(re.search(r"!contains\((\[[^]]*\]), key\)", LOCALS_TF)[1]))
    from_names = {r["env"].removeprefix("TFPIPE_") for key, r in NAMES["resources"].items()
                  if r.get("env") and key not in converted}
    from_names |= {sm["env"].removeprefix("TFPIPE_") for sm in NAMES["state_machines"].values()}
    from_terraform = set(re.findall(r"^\s+TFPIPE_([A-Z_]+)\s+=", LOCALS_TF, re.MULTILINE)) | from_names
    missing = read - from_config - from_terraform - UNSET_IN_AWS
    assert missing == set(), f"settings read but set by neither config.json nor terraform/locals.tf: {missing}"


def test_table_keys_are_the_attributes_the_adapters_use():
    adapters = {
        "locks_table": REPO / "chalicelib" / "adapters" / "dynamodb_locks.py",
        "runs_table": REPO / "chalicelib" / "adapters" / "runs_table.py",
        "deliveries_table": REPO / "chalicelib" / "adapters" / "deliveries_table.py",
    }
    for table, source in adapters.items():
        if not source.exists():
            continue
        key = NAMES["tables"][table]["hash_key"]
        assert f'Key={{"{key}": ' in source.read_text(), f"{source.name} does not key {table} by {key}"
