"""Terraform's own `Error:` blocks are read from what the real Terraform binary prints (init, plan,
with and without colour boxes) into the failure a job reports: summary, file and line, the block."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from executor.failures import JobFailure
from executor.interrupt import Interrupt
from executor.joblog import JobLog
from executor.masking import Masker
from executor.terraform import Terraform

from chalicelib.core.job import JobErrorClass

pytestmark = pytest.mark.terraform

SYNTAX_ERROR = """resource "terraform_data" "greeting" {
  input = "hello"
  triggers_replace =
}
"""
UNDECLARED = """variable "x" {
  default = "a"
}

resource "terraform_data" "a" {
  input = var.y
}

resource "terraform_data" "b" {
  input = local.nope
}
"""


def terraform(work: Path) -> Terraform:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TF_CLI_CONFIG_FILE")}
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
    return Terraform("terraform", work, env, JobLog("run-1", Masker(), io.StringIO()), Interrupt(), grace_seconds=5)


def failure(run, error=JobErrorClass.PLAN_FAILED) -> JobFailure:
    with pytest.raises(JobFailure) as raised:
        run.check(error, "terraform for staging")
    return raised.value


def test_a_syntax_error_at_init_is_reported_with_its_file_line_and_the_block_terraform_printed(tmp_path):
    (tmp_path / "main.tf").write_text(SYNTAX_ERROR)
    failed = failure(terraform(tmp_path).run(["init", "-input=false", "-no-color"], 60), JobErrorClass.INIT_FAILED)
    located = [d for d in failed.diagnostics if d.file]
    assert [(d.summary, d.location) for d in located] == [("Invalid expression", "main.tf:3")]
    assert located[0].text.startswith("Error: Invalid expression\n\n  on main.tf line 3")
    assert "Expected the start of an expression" in located[0].text
    # Init's generic preamble is an error block too; the message names the telling one first.
    assert len(failed.diagnostics) == 2
    assert str(failed).startswith("terraform for staging failed (exit 1): Error: Invalid expression (main.tf:3); ")


def test_every_error_of_a_plan_is_its_own_block_in_terraforms_order(tmp_path):
    (tmp_path / "main.tf").write_text(UNDECLARED)
    tf = terraform(tmp_path)
    tf.run(["init", "-input=false", "-no-color"], 60).check(JobErrorClass.INIT_FAILED, "init")
    failed = failure(tf.run(["plan", "-input=false", "-no-color"], 60))
    assert [(d.summary, d.file, d.line) for d in failed.diagnostics] == [
        ("Reference to undeclared input variable", "main.tf", 6),
        ("Reference to undeclared local value", "main.tf", 10)]
    assert 'An input variable with the name "y" has not been declared' in failed.diagnostics[0].text
    assert "local.nope" not in failed.diagnostics[0].text  # a block ends where the next begins


def test_warnings_are_not_errors_and_boxed_output_reads_the_same(tmp_path):
    (tmp_path / "main.tf").write_text(UNDECLARED)
    (tmp_path / "extra.tfvars").write_text('unknown = "set"\n')  # a warning: undeclared variable
    tf = terraform(tmp_path)
    tf.run(["init", "-input=false", "-no-color"], 60).check(JobErrorClass.INIT_FAILED, "init")
    boxed = tf.run(["plan", "-input=false", "-var-file=extra.tfvars"], 60)  # with colour: boxes
    assert "│ Error: Reference to undeclared input variable" in boxed.output
    assert "Warning: Value for undeclared variable" in boxed.output
    failed = failure(boxed)
    assert [(d.summary, d.location) for d in failed.diagnostics] == [
        ("Reference to undeclared input variable", "main.tf:6"), ("Reference to undeclared local value", "main.tf:10")]
    assert not any("│" in d.text or "╵" in d.text for d in failed.diagnostics)
