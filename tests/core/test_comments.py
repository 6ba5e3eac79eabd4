import re

import pytest
from markdown_it import MarkdownIt

from chalicelib.core.comments import MAX_COMMENT_CHARS, CommentView, marker, render
from chalicelib.core.plan_diff import as_diff
from chalicelib.core.plan_summary import summarize
from tests.fixtures.plans import plan_json, plan_output
from tests.status_events import status_event

MD = MarkdownIt("commonmark").enable("table")


def blocks(body: str) -> list[tuple[str, str]]:
    """(summary, fenced text) of each collapsible block, checking the Markdown structure on the way:
    every <details> opens on its own, holds exactly one closed code fence, and is closed. The plan and
    the list of changed resources are fenced as `diff`, everything else as `text`."""
    assert all(c.isprintable() or c == "\n" for c in body), "control characters in a comment"
    tokens = [t for t in MD.parse(body) if t.type in ("html_block", "fence")]
    found = []
    for i, token in enumerate(tokens):
        if token.type == "html_block" and token.content.startswith("<details>"):
            fence, closing = tokens[i + 1], tokens[i + 2]
            summary = token.content.split("<summary>")[1].split("</summary>")[0]
            diff = summary.startswith(("Full plan", "Changed resources"))
            assert fence.type == "fence" and fence.info == ("diff" if diff else "text")
            assert closing.type == "html_block" and closing.content.strip() == "</details>"
            found.append((summary, fence.content))
    opened = sum(t.content.count("<details>") for t in tokens if t.type == "html_block")
    closed = sum(t.content.count("</details>") for t in tokens if t.type == "html_block")
    assert opened == closed == len(found)
    return found


def reassemble(bodies: list[str], title: str) -> str:
    return "".join(text for body in bodies for summary, text in blocks(body) if summary.startswith(title))


def table_cells(body: str) -> list[str]:
    tokens = MD.parse(body)
    return [t.content for i, t in enumerate(tokens) if t.type == "inline" and tokens[i - 1].type in ("td_open", "th_open")]


def plan_view(name: str, **event) -> CommentView:
    """A comment on a run whose plan is fixture `name`: its JSON and what `terraform plan` printed."""
    return CommentView(status_event(**event), summarize(plan_json(name)), plan_output(name))


def shown_plan(name: str) -> str:
    return as_diff(plan_output(name))


def test_no_changes_plan_says_so_in_one_comment_without_a_table():
    bodies = render(plan_view("no-changes"))
    assert len(bodies) == 1
    assert "**No changes.**" in bodies[0]
    assert table_cells(bodies[0]) == []
    assert reassemble(bodies, "Full plan") == shown_plan("no-changes")


def test_small_plan_has_summary_table_and_whole_plan_collapsed():
    bodies = render(plan_view("mixed"))
    assert len(bodies) == 1
    body = bodies[0]
    assert body.startswith(marker("plan-apply") + "\n")
    cells = table_cells(body)
    row = cells.index("`aws_sqs_queue`")
    assert cells[row:row + 5] == ["`aws_sqs_queue`", "0", "0", "0", "1"]
    assert "Plan: 2 to add, 3 to change, 2 to destroy (1 replaced)." in body
    assert blocks(body) == [("Full plan", shown_plan("mixed"))]


def test_plan_over_the_limit_is_split_into_whole_markdown_parts_that_reassemble():
    text = shown_plan("large")
    assert len(text) > 4 * MAX_COMMENT_CHARS
    bodies = render(plan_view("large"))
    assert len(bodies) >= 5
    for number, body in enumerate(bodies, start=1):
        assert len(body) <= MAX_COMMENT_CHARS
        assert body.startswith(marker("plan-apply"))
        assert f"part {number} of {len(bodies)}" in body
        assert blocks(body)  # every part carries plan text, fenced and closed
    assert "| `aws_ssm_parameter` | 400 | 0 | 0 | 0 |" in bodies[0]
    assert reassemble(bodies, "Full plan") == text
    assert all("Continued in the next comment" in body for body in bodies[:-1])
    assert "Continued in the next comment" not in bodies[-1]


@pytest.mark.parametrize("limit", [3000, 7919, 20000])
def test_any_limit_gives_parts_within_it_that_lose_nothing(limit):
    bodies = render(plan_view("mixed"), limit=limit)
    assert all(len(body) <= limit for body in bodies)
    assert reassemble(bodies, "Full plan") == shown_plan("mixed")


def test_backticks_inside_the_plan_cannot_close_its_fence():
    text = "  + policy = <<EOT\n````\n```json\n{}\n```\nEOT\n" * 50
    view = CommentView(status_event(), summarize(plan_json("small")), text)
    bodies = render(view, limit=2000)
    assert len(bodies) > 1
    assert reassemble(bodies, "Full plan") == as_diff(text)


def test_a_line_longer_than_a_comment_is_wrapped_not_dropped():
    text = "x" * 5000 + "\nend\n"
    bodies = render(CommentView(status_event(), None, text), limit=2000)
    assert all(len(body) <= 2000 for body in bodies)
    assert reassemble(bodies, "Full plan").replace("\n", "") == text.replace("\n", "")


def test_failure_shows_error_class_output_and_log_link():
    event = status_event(phase="apply", status="failed", message="applying prod: terraform apply exited 1",
                         details={"error_class": "ApplyFailed", "error": "Error: creating S3 Bucket: BucketAlreadyExists\n"},
                         artifacts={"log": "runs/r1/apply.log"})
    bodies = render(CommentView(event, links={"log": "https://console.example/runs/r1/apply.log"}))
    body = bodies[0]
    assert "### ❌ tfpipe PLAN-APPLY" in body
    assert "Error: `ApplyFailed`" in body
    assert "**Apply failed** — applying prod: terraform apply exited 1" in body
    assert blocks(body) == [("Error output", "Error: creating S3 Bucket: BucketAlreadyExists\n")]
    assert "[log](https://console.example/runs/r1/apply.log)" in body


INVALID = ("Error: Invalid expression\n\n  on main.tf line 7, in resource \"terraform_data\" \"greeting\":\n"
           "   7:   triggers_replace =\n\nExpected the start of an expression, but found an invalid expression token.")


def test_terraforms_errors_show_under_the_failure_with_file_and_line_and_a_link_to_the_whole_log():
    diagnostics = [{"summary": "Invalid expression", "text": INVALID, "file": "main.tf", "line": 7},
                   {"summary": "Unsupported argument", "text": "Error: Unsupported argument\n\n  on b.tf line 2:\n\t```",
                    "file": "b.tf", "line": 2}]
    event = status_event(phase="done", status="failed", message="plan of 0a1b2c3 for prod failed: InitFailed: ...",
                         details={"error_class": "InitFailed", "diagnostics": diagnostics, "final": True},
                         artifacts={"log": "runs/r1/plan/log.txt"})
    [body] = render(CommentView(event, links={"log": "https://artifacts.example/runs/r1/plan/log.txt"}))
    head = body.split("<sub>")[0]
    assert "Error: `InitFailed` · [full log](https://artifacts.example/runs/r1/plan/log.txt)" in head
    fences = [t for t in MD.parse(head) if t.type == "fence"]
    assert [f.info for f in fences] == ["text"]  # one block, outside any <details>: seen at once
    assert fences[0].content == INVALID + "\n\nError: Unsupported argument\n\n  on b.tf line 2:\n    ```\n"
    assert head.index("Error: `InitFailed`") < head.index("on main.tf line 7")


def test_the_failed_jobs_log_is_linked_when_a_rollback_has_a_log_of_its_own():
    event = status_event(phase="rollback", status="rolled-back", details={"error_class": "ApplyFailed"},
                         artifacts={"log": "runs/r1/rollback/log.txt", "failed_log": "runs/r1/apply/log.txt"})
    [body] = render(CommentView(event, links={"log": "https://a.example/runs/r1/rollback/log.txt",
                                              "failed_log": "https://a.example/runs/r1/apply/log.txt"}))
    assert "Error: `ApplyFailed` · [full log](https://a.example/runs/r1/apply/log.txt)" in body
    assert "[log of the failed job](https://a.example/runs/r1/apply/log.txt)" in body


def test_approval_request_says_how_to_approve_and_reject():
    event = status_event(phase="approval", status="pending", message="waiting for approval",
                         details={"approval_expires_at": "2026-11-26T04:00:00Z"})
    body = render(plan_view("mixed", phase="approval", status="pending", details=event.details))[0]
    run = event.run_id
    assert f"comment `/approve {run}`" in body
    assert f"comment `/reject {run}`" in body
    assert f"`tfpipe approve {run}`" in body
    assert "times out at 2026-11-26 04:00 UTC" in body


def test_a_destroy_waiting_for_approval_says_its_plan_is_a_destroy_plan():
    body = render(plan_view("small", workflow="destroy", phase="approval", status="pending",
                            message="approval needed to destroy prod: 0 to add, 0 to change, 1 to destroy"))[0]
    assert "tfpipe DESTROY" in body
    assert "**Approval needed** before this destroy plan is applied to `prod`" in body


def test_approval_request_names_the_sha256_of_the_plan_an_approval_approves():
    plan = "ab" * 32
    body = render(plan_view("mixed", phase="approval", status="pending", details={"plan_sha256": plan}))[0]
    assert f"- plan sha256: `{plan}` (an approval approves this plan only)" in body


def test_ephemeral_outputs_url_and_expiry_are_shown():
    event = status_event(workflow="apply-ephemeral", phase="done", environment="pr-7",
                         details={"url": "http://127.0.0.1:4567/", "expires_at": "2026-11-25T08:00:00Z",
                                  "outputs": {"function_url": "http://127.0.0.1:4567/", "table": "visits-pr-7"}})
    body = render(CommentView(event))[0]
    assert body.startswith(marker("apply-ephemeral"))
    assert "Environment URL: <http://127.0.0.1:4567/>" in body
    assert "`visits-pr-7`" in table_cells(body)


def test_hostile_text_in_the_event_cannot_break_the_markdown():
    event = status_event(status="failed", message="boom </details> ``` <details> **x**",
                         details={"error": "```\n</details>\n"})
    body = render(CommentView(event))[0]
    assert blocks(body) == [("Error output", "```\n</details>\n")]
    assert "<details> **x**" not in body


def test_long_message_moves_to_its_own_block_whole():
    message = "terraform said: " + "very long explanation " * 100
    body = render(CommentView(status_event(status="failed", message=message)))[0]
    assert blocks(body) == [("Message", message + "\n")]


def test_marker_is_per_workflow_and_stable_across_phases():
    plan_bodies = render(plan_view("small", phase="plan"))
    done_bodies = render(plan_view("small", phase="done"))
    assert plan_bodies[0].splitlines()[0] == done_bodies[0].splitlines()[0] == marker("plan-apply")
    assert marker("plan") != marker("plan-apply")
    assert marker("x --> <script>") == "<!-- tfpipe:comment workflow=x------script- -->"


def test_no_workflows_marker_is_found_inside_anothers_comment():
    from chalicelib.core.workflows import Workflow

    markers = [marker(w.value) for w in Workflow]
    assert all(a not in b for a in markers for b in markers if a != b)


def test_the_environment_url_is_found_among_the_outputs_too():
    event = status_event(workflow="apply-ephemeral", phase="done", details={"outputs": {"function_url": "https://x.example/"}})
    assert "Environment URL: <https://x.example/>" in render(CommentView(event))[0]


def test_a_custom_commands_output_is_shown_whole_and_collapsed():
    output = "aws_s3_bucket.site\naws_sqs_queue.jobs\n" * 3
    event = status_event(workflow="custom", phase="done", message="terraform state list on pr-7 finished")
    bodies = render(CommentView(event, output_text=output))
    assert blocks(bodies[0]) == [("Command output", output)]
    assert bodies[0].startswith(marker("custom", event.run_id))


def test_each_terraform_request_gets_a_reply_of_its_own_found_by_its_runs_marker():
    first = status_event(run_id="custom-pr-7-0a1b2c3-aaaaaaaaaaaa", workflow="custom", phase="done")
    second = status_event(run_id="custom-pr-7-0a1b2c3-bbbbbbbbbbbb", workflow="custom", phase="done")
    bodies = [render(CommentView(e, output_text="aws_s3_bucket.site\n"))[0] for e in (first, second)]
    assert bodies[0].splitlines()[0] == marker("custom", first.run_id)
    assert bodies[1].splitlines()[0] == marker("custom", second.run_id)
    # The fan-out edits the comment carrying the marker: neither run's marker is found in the other's reply.
    assert marker("custom", first.run_id) not in bodies[1] and marker("custom", second.run_id) not in bodies[0]
    assert marker("custom") not in bodies[0]
    # Other workflows keep one comment per pull request, whatever the run.
    assert render(plan_view("small"))[0].splitlines()[0] == marker("plan-apply")


def test_a_terraform_reply_shows_its_output_without_plan_counts():
    event = status_event(workflow="custom", phase="done", message="terraform state list on pr-7 finished",
                         details={"has_changes": False, "add": 0, "change": 0, "destroy": 0, "final": True})
    [body] = render(CommentView(event, output_text="aws_s3_bucket.site\n"))
    assert "Plan:" not in body and "to add" not in body
    assert blocks(body) == [("Command output", "aws_s3_bucket.site\n")]


def fences(body: str) -> list[tuple[str, str]]:
    """(info, content) of every code fence in a comment, in or out of <details>."""
    return [(t.info, t.content) for t in MD.parse(body) if t.type == "fence"]


def test_the_plan_renders_as_a_diff_with_terraforms_markers_in_the_first_column():
    body = render(plan_view("mixed"))[0]
    plan = next(content for info, content in fences(body) if "Terraform will perform" in content)
    assert ("diff", plan) in fences(body)
    lines = plan.splitlines()
    assert '+   resource "aws_dynamodb_table" "visits" {' in lines
    assert '-   resource "aws_s3_bucket" "logs" {' in lines
    assert '!   resource "aws_ssm_parameter" "setting" {' in lines  # Terraform's `~`: diff's "changed"
    assert '-/+ resource "aws_sqs_queue" "jobs" {' in lines
    assert "+       billing_mode     = \"PAY_PER_REQUEST\"" in lines  # attributes too, still aligned
    # no marker is left behind indentation, where GitHub's diff highlighting would not see it
    assert not [line for line in lines if re.match(r"^ +(-/\+|\+/-|[-+~]) ", line)]


def test_refresh_noise_is_dropped_from_the_plan_shown():
    assert "Refreshing state..." in plan_output("mixed") and "Read complete after" in plan_output("mixed")
    body = render(plan_view("mixed"))[0]
    for noise in ("Refreshing state...", ": Reading...", "Read complete after"):
        assert noise not in body
    (summary, plan), = blocks(body)
    assert summary == "Full plan" and plan.startswith("Terraform used the selected providers")


def test_changed_resources_are_listed_by_address_with_their_action():
    body = render(plan_view("mixed"))[0]
    listing = next(content for info, content in fences(body) if "aws_sqs_queue.jobs" in content
                   and "Terraform will perform" not in content)
    assert listing.splitlines() == [
        "+   add      aws_dynamodb_table.visits[0]",
        "-   destroy  aws_s3_bucket.logs[0]",
        "-/+ replace  aws_sqs_queue.jobs",
        "!   change   aws_ssm_parameter.setting[0]",
        "!   change   aws_ssm_parameter.setting[1]",
        "!   change   aws_ssm_parameter.setting[2]",
    ]
    assert "Changed resources (6):" in body
    assert [summary for summary, _ in blocks(body)] == ["Full plan"]  # a short list is not collapsed


def test_a_long_list_of_changed_resources_is_collapsed_and_kept_within_the_head():
    bodies = render(plan_view("large"))
    summaries = [summary for summary, _ in blocks(bodies[0])]
    assert summaries[0] == "Changed resources (403)"
    listing = blocks(bodies[0])[0][1].splitlines()
    assert listing[0] == "+   add      aws_s3_bucket.logs[0]"
    assert "+   add      aws_ssm_parameter.setting[17]" in listing
    shown = len([line for line in listing if line.startswith("+ ")])
    assert 100 < shown < 403  # a list this long is cut, saying how much it left to the plan
    assert listing[-1] == f"... and {403 - shown} more: every one is in the full plan"
    assert len(bodies[0]) <= MAX_COMMENT_CHARS
    assert reassemble(bodies, "Full plan") == shown_plan("large")


def test_a_plan_with_ten_changes_lists_them_openly_and_eleven_collapsed():
    def plan(count: int) -> dict:
        return {"format_version": "1.2", "resource_changes": [
            {"address": f"aws_sqs_queue.q[{i}]", "mode": "managed", "type": "aws_sqs_queue",
             "change": {"actions": ["create"]}} for i in range(count)]}

    ten = render(CommentView(status_event(), summarize(plan(10))))[0]
    eleven = render(CommentView(status_event(), summarize(plan(11))))[0]
    assert "Changed resources (10):" in ten and blocks(ten) == []
    assert [summary for summary, _ in blocks(eleven)] == ["Changed resources (11)"]


ANY_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}[^\s|)\\]*(?: UTC)?")


def test_every_timestamp_in_a_comment_has_one_format():
    event = status_event(
        workflow="apply-ephemeral", phase="approval", status="pending", environment="pr-7",
        timestamp="2026-12-03T10:31:07.123456+00:00",  # tasks write isoformat(): offset, microseconds
        message="pr-7 is up until 2026-12-03T18:31:07+00:00 (in 8h)",
        details={"expires_at": "2026-12-03T20:31:59+02:00", "approval_expires_at": "2026-12-04T10:31:07Z"})
    body = render(CommentView(event))[0]
    assert "updated 2026-12-03 10:31 UTC" in body
    assert "pr-7 is up until 2026-12-03 18:31 UTC (in 8h)" in body
    assert "Expires: 2026-12-03 18:31 UTC" in body  # another offset, shown in UTC
    assert "times out at 2026-12-04 10:31 UTC" in body
    times = ANY_TIME.findall(body)
    assert len(times) == 4 and all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", t) for t in times), times

