import re

import pytest

from chalicelib.core.plan_diff import as_diff
from tests.fixtures.plans import SCENARIOS, plan_output

NOISE = ("Refreshing state...", ": Reading...", "Read complete after", "Still reading...")


def marker_put_back(line: str) -> str:
    """Undo the move: `+   arn` -> `  + arn`, `!   x` -> `  ~ x`, `-/+ resource` stays."""
    match = re.match(r"^(-/\+|\+/-|[-+!])( +)", line)
    if match is None:
        return line
    marker = "~" if match[1] == "!" else match[1]
    return " " * (len(match[2]) - 1) + marker + " " + line[match.end():]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_line_terraform_printed_is_kept_with_its_marker_moved_to_the_first_column(name):
    printed = plan_output(name)
    meant = [line for line in printed.splitlines() if not any(n in line for n in NOISE)]
    shown = as_diff(printed).splitlines()
    assert [marker_put_back(line) for line in shown] == meant[meant.index(shown[0]):][:len(shown)]
    # nothing is indented in front of a marker any more: diff highlighting sees it
    assert not [line for line in shown if re.match(r"^ +(-/\+|\+/-|[-+~]) ", line)]


def test_refresh_and_read_lines_and_the_saved_plan_note_are_dropped():
    printed = plan_output("mixed")
    assert "Refreshing state..." in printed and "Read complete after" in printed and "Saved the plan to" in printed
    shown = as_diff(printed)
    assert not any(noise in shown for noise in NOISE)
    assert "Saved the plan to" not in shown and 'terraform apply "plan.tfplan"' not in shown
    assert shown.startswith("Terraform used the selected providers")
    assert shown.endswith("Plan: 2 to add, 3 to change, 2 to destroy.\n")


def test_updates_are_marked_changed_and_replacements_keep_terraforms_marker():
    shown = as_diff(plan_output("mixed")).splitlines()
    assert '!   resource "aws_ssm_parameter" "setting" {' in shown
    assert '-/+ resource "aws_sqs_queue" "jobs" {' in shown
    assert '+   resource "aws_dynamodb_table" "visits" {' in shown
    assert '-   resource "aws_s3_bucket" "logs" {' in shown
    assert '  # aws_sqs_queue.jobs must be replaced' in shown  # comments stay as context


def test_a_data_source_read_during_apply_is_not_shown_as_a_deletion():
    shown = as_diff('  # data.x.y will be read during apply\n <= data "x" "y" {\n      + id = (known after apply)\n    }\n')
    assert not shown.splitlines()[1].startswith("<")
