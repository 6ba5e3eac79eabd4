"""A job's failure cause: Terraform's error blocks bounded to what a reader needs, and read back
only from what a job sent (never from Batch's or a Lambda's cause)."""

import json

from chalicelib.core.failure_cause import (
    CUT,
    MAX_DIAGNOSTICS,
    MAX_DIAGNOSTICS_CHARS,
    Diagnostic,
    JobFailureCause,
    diagnostics_of,
    trimmed,
)


def block(summary: str, file: str | None = None, line: int | None = None, detail: str = "detail") -> Diagnostic:
    where = f"\n\n  on {file} line {line}:\n  {line}: x =" if file else ""
    return Diagnostic(summary, f"Error: {summary}{where}\n\n{detail}", file, line)


def test_the_first_few_errors_are_kept_those_naming_a_place_first():
    preamble = block("Terraform encountered problems during initialisation")
    located = [block(f"Invalid expression {i}", "main.tf", i) for i in range(1, 6)]
    kept = trimmed([preamble, *located])
    assert len(kept) == MAX_DIAGNOSTICS
    assert [d.location for d in kept] == ["main.tf:1", "main.tf:2", "main.tf:3"]


def test_long_blocks_are_cut_within_the_budget_saying_so():
    kept = trimmed([block("huge", "main.tf", 1, detail="x" * 5000), block("next", "main.tf", 2)])
    assert sum(len(d.text) for d in kept) <= MAX_DIAGNOSTICS_CHARS
    assert kept[0].text.startswith("Error: huge\n\n  on main.tf line 1") and kept[0].text.endswith(CUT)
    assert [d.summary for d in kept] == ["huge"]  # nothing left for the second


def test_a_cause_goes_as_json_and_comes_back_whole():
    cause = JobFailureCause("terraform plan for prod failed (exit 1)", [block("Bad", "a.tf", 3)],
                            "runs/r1/plan/log.txt", "last lines")
    assert len(cause.to_json()) < 32768  # Step Functions' limit for a cause
    assert JobFailureCause.parse(cause.to_json()) == cause


def test_a_huge_message_or_log_tail_still_fits_a_cause():
    cause = JobFailureCause("m" * 100_000, [block("Bad", "a.tf", 3, detail="d" * 100_000)] * 10, None, "t" * 100_000)
    assert len(cause.to_json()) < 16_000
    parsed = JobFailureCause.parse(cause.to_json())
    assert parsed.message.startswith("mmm") and parsed.log_tail.endswith("ttt")


def test_other_causes_are_not_taken_for_a_jobs():
    assert JobFailureCause.parse("Batch job tfpipe-plan (4c75) failed: Essential container in task exited") is None
    assert JobFailureCause.parse(json.dumps({"errorMessage": "no such run", "errorType": "NotFound"})) is None
    assert JobFailureCause.parse(None) is None and JobFailureCause.parse("[1, 2]") is None


def test_diagnostics_read_from_an_event_skip_what_is_not_one():
    good = block("Bad", "a.tf", 3)
    read = diagnostics_of([good.to_dict(), "text", {"summary": "no text"}, {**good.to_dict(), "line": "7"}])
    assert read[0] == good and read[1].line is None and len(read) == 2
    assert diagnostics_of("not a list") == []
