import pytest

from chalicelib.core.batch_events import failed_job, failure_status
from chalicelib.core.fanout import (
    Mark,
    Sink,
    SlackNews,
    commit_context,
    commit_state,
    creates_deployment,
    delivery_key,
    deployment_state,
    environment_url,
    is_transient,
    mark_key,
    mark_of,
    progress_key,
    progress_text,
    short_description,
    sinks_for,
    slack_message,
    slack_news,
    unverified,
)
from chalicelib.core.run_records import RunRecord
from tests.core.test_batch_events import batch_event_detail, spec
from tests.status_events import status_event


@pytest.mark.parametrize(("phase", "status", "state"), [
    ("queued", "started", "pending"), ("plan", "succeeded", "pending"), ("approval", "pending", "pending"),
    ("apply", "succeeded", "pending"), ("done", "succeeded", "success"), ("apply", "failed", "failure"),
    ("done", "rejected", "failure"), ("rollback", "started", "pending"), ("rollback", "rolled-back", "failure"),
    ("rollback", "needs-attention", "failure"), ("done", "superseded", "error"),
])
def test_plan_apply_commit_status_is_pending_until_the_runs_last_event(phase, status, state):
    assert commit_state(status_event(phase=phase, status=status)) == state


@pytest.mark.parametrize(("workflow", "phase", "status", "details", "state"), [
    ("plan", "plan", "succeeded", {}, "pending"),  # the job's phase; the workflow's `done` follows
    ("plan", "done", "succeeded", {"final": True}, "success"),
    ("apply-ephemeral", "schedule", "succeeded", {}, "pending"),
    ("apply-ephemeral", "destroy", "succeeded", {}, "failure"),  # cleaning up after a failed apply
    ("destroy", "destroy", "succeeded", {}, "pending"),  # a job never says success: the run's last event does
    ("destroy", "done", "succeeded", {"final": True}, "success"),
    ("custom", "approval", "succeeded", {"final": True}, "success"),  # a final event says so itself
])
def test_each_workflow_succeeds_at_its_last_event(workflow, phase, status, details, state):
    assert commit_state(status_event(workflow=workflow, phase=phase, status=status, details=details)) == state


def test_commit_status_context_separates_workflows_and_environments():
    assert commit_context(status_event()) == "tfpipe/plan-apply/prod"
    assert commit_context(status_event(workflow="plan")) != commit_context(status_event())


def test_status_description_fits_githubs_limit_without_losing_its_start():
    text = short_description("apply of 0a1b2c3 failed: " + "x" * 300)
    assert len(text) == 140 and text.startswith("apply of 0a1b2c3 failed: ") and text.endswith("…")


def test_every_environment_change_has_a_deployment_but_plans_do_not():
    assert deployment_state(status_event(phase="apply", status="started")) == "in_progress"
    assert deployment_state(status_event(phase="apply", status="succeeded")) == "in_progress"  # health check next
    assert deployment_state(status_event(phase="done", status="succeeded")) == "success"
    assert deployment_state(status_event(workflow="destroy", phase="destroy", status="succeeded")) == "inactive"
    assert deployment_state(status_event(workflow="destroy", phase="done", status="succeeded")) == "inactive"
    assert deployment_state(status_event(workflow="apply-ephemeral", phase="schedule", status="succeeded")) == "success"
    assert deployment_state(status_event(workflow="plan", phase="plan", status="succeeded")) is None
    assert deployment_state(status_event(phase="plan", status="succeeded")) is None
    assert not creates_deployment(status_event(phase="done", status="succeeded"))  # settles, never starts one


def test_ephemeral_environments_are_transient_deployments_with_their_url():
    event = status_event(workflow="apply-ephemeral", environment="pr-7", phase="schedule",
                         details={"outputs": {"function_url": "http://127.0.0.1:9/"}})
    assert is_transient(event) and not is_transient(status_event())
    assert environment_url(event) == "http://127.0.0.1:9/"
    assert environment_url(status_event(details={"outputs": {"url": "javascript:alert(1)"}})) is None


@pytest.mark.parametrize(("workflow", "phase", "status", "details", "news"), [
    ("plan-apply", "queued", "started", {}, SlackNews.STARTED),
    ("plan-apply", "approval", "pending", {}, SlackNews.APPROVAL_NEEDED),
    ("plan-apply", "done", "succeeded", {"has_changes": True}, SlackNews.APPLIED),
    ("plan-apply", "done", "succeeded", {"has_changes": False}, None),  # nothing applied
    ("plan-apply", "apply", "succeeded", {}, None),  # the job's phase: the run's end tells it
    ("plan-apply", "apply", "failed", {}, None),
    ("plan-apply", "done", "failed", {}, SlackNews.FAILED),
    ("plan-apply", "done", "rejected", {}, SlackNews.FAILED),
    ("plan-apply", "done", "timed-out", {}, SlackNews.FAILED),
    ("plan-apply", "done", "superseded", {}, None),
    ("plan-apply", "rollback", "rolled-back", {"final": True}, SlackNews.ROLLED_BACK),
    ("plan-apply", "rollback", "needs-attention", {"final": True}, SlackNews.NEEDS_ATTENTION),
    ("apply-ephemeral", "schedule", "succeeded", {}, None),
    ("apply-ephemeral", "done", "succeeded", {}, SlackNews.EPHEMERAL_CREATED),
    ("destroy", "done", "succeeded", {}, SlackNews.DESTROYED),
    ("modify-cron", "done", "succeeded", {}, SlackNews.TTL_MOVED),
    ("plan", "done", "succeeded", {}, None),
    ("plan", "done", "failed", {}, SlackNews.FAILED),
])
def test_slack_hears_of_a_run_starting_waiting_and_ending(workflow, phase, status, details, news):
    assert slack_news(status_event(workflow=workflow, phase=phase, status=status, details=details)) == news


def test_slack_message_escapes_control_characters_and_links_the_environment():
    event = status_event(workflow="apply-ephemeral", phase="schedule", message="pr-7 is up <!channel> & more",
                         details={"url": "https://pr-7.example/"})
    message = slack_message(event, SlackNews.EPHEMERAL_CREATED)
    text = message.blocks[0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; more" in text
    assert "<https://pr-7.example/|https://pr-7.example/>" in text


def test_sinks_per_event():
    assert sinks_for(status_event(phase="done", status="succeeded")) == [
        Sink.COMMENT, Sink.COMMIT_STATUS, Sink.DEPLOYMENT, Sink.SLACK]
    assert sinks_for(status_event(phase="apply", status="started")) == [Sink.COMMENT, Sink.COMMIT_STATUS, Sink.DEPLOYMENT]
    assert sinks_for(status_event(phase="plan", status="started", pull_request=None)) == [Sink.COMMIT_STATUS]


def test_delivery_records_differ_per_sink_and_per_event():
    a, b = status_event(), status_event(timestamp="2026-11-25T04:00:01Z")
    assert delivery_key(a, Sink.SLACK) != delivery_key(a, Sink.COMMENT)
    assert delivery_key(a, Sink.SLACK) != delivery_key(b, Sink.SLACK)
    assert delivery_key(a, Sink.SLACK) == delivery_key(status_event(), Sink.SLACK)


def test_events_of_one_second_sort_in_the_order_the_run_went():
    at = "2026-11-25T04:00:00Z"
    happened = [status_event(phase="queued", status="started", timestamp=at),
                status_event(phase="plan", status="started", timestamp=at),
                status_event(phase="plan", status="succeeded", timestamp=at),
                status_event(phase="done", status="succeeded", timestamp=at)]
    assert sorted(reversed(happened), key=progress_key) == happened
    later = status_event(phase="queued", status="started", timestamp="2026-11-25T04:00:00.5+00:00")
    assert sorted([later, *happened], key=progress_key)[-1] is later


def test_progress_text_sorts_like_progress_and_marks_exist_for_current_states_only():
    events = [status_event(phase=p, status=s, timestamp="2026-11-25T04:00:00Z")
              for p, s in (("queued", "started"), ("plan", "started"), ("plan", "succeeded"), ("done", "succeeded"))]
    assert sorted(reversed(events), key=progress_text) == events
    event = status_event()
    assert mark_key(event, Sink.SLACK) is None
    keys = {mark_key(event, sink) for sink in (Sink.COMMENT, Sink.COMMIT_STATUS, Sink.DEPLOYMENT)}
    assert len(keys) == 3 and all(k.startswith("mark|") for k in keys)
    assert not any(k.startswith("status|") for k in keys)  # never a delivery record's key


def job_died(at: str, **job):
    """Batch's report of the run's apply job (the status_event default run)."""
    return failure_status(failed_job(batch_event_detail(spec(**job))), at)


def shows(*arrivals) -> object:
    """What a sink shows after the events arrived in this order (each replacing what its mark allows)."""
    shown, mark = None, None
    for event in arrivals:
        if mark_of(event).replaces(mark):
            shown, mark = event, mark_of(event)
    return shown


def test_batchs_job_died_never_replaces_the_runs_precise_failure_nor_its_end_whatever_the_order():
    started = status_event(phase="apply", status="started", timestamp="2026-11-25T04:00:00Z")
    precise = status_event(phase="apply", status="failed", timestamp="2026-11-25T04:00:01Z",
                           details={"error_class": "ApplyFailed"})
    end = status_event(phase="done", status="failed", timestamp="2026-11-25T04:00:02Z",
                       details={"error_class": "ApplyFailed", "final": True})
    died = job_died("2026-11-25T04:00:05Z")
    assert died.run_id == precise.run_id and mark_of(died).vague and not mark_of(precise).vague
    assert shows(started, precise, died) is precise
    assert shows(started, died, precise) is precise  # Batch's report came through SQS first
    assert shows(started, precise, end, died) is end
    assert shows(started, died, end) is end
    assert shows(started, died, end, precise) is end  # a retried older event still does not go back
    # Nothing better known: the job's death is news.
    assert shows(started, died) is died


def test_a_job_died_report_still_replaces_another_runs_events_by_time():
    other_run = status_event(run_id="plan-apply-prod-older", phase="done", status="failed",
                             timestamp="2026-11-25T03:00:00Z", details={"final": True})
    assert shows(other_run, job_died("2026-11-25T04:00:05Z")).details["error_class"] == "JobFailed"


def test_a_mark_reads_back_what_it_wrote_and_an_old_mark_is_just_its_progress():
    mark = mark_of(status_event(phase="done", status="succeeded"))
    assert Mark.from_dict(mark.to_dict()) == mark and mark.settled
    assert Mark.from_dict({"progress": mark.progress}) == Mark(mark.progress)

def test_each_custom_run_keeps_its_own_comment_mark_so_one_reply_never_holds_back_another():
    first = status_event(run_id="custom-pr-7-0a1b2c3-aaaaaaaaaaaa", workflow="custom")
    second = status_event(run_id="custom-pr-7-0a1b2c3-bbbbbbbbbbbb", workflow="custom")
    assert mark_key(first, Sink.COMMENT) != mark_key(second, Sink.COMMENT)
    # One comment per pull request and workflow otherwise: a newer run's events move the same comment.
    assert mark_key(status_event(run_id="a"), Sink.COMMENT) == mark_key(status_event(run_id="b"), Sink.COMMENT)


def record(status: str, **overrides) -> RunRecord:
    event = status_event()
    values = dict(run_id=event.run_id, workflow=event.workflow, repository=event.repository,
                  environment=event.environment, sha=event.sha, actor="dev", execution_arn="arn",
                  started_at="2026-11-25T04:00:00Z", status=status)
    return RunRecord(**{**values, **overrides})


@pytest.mark.parametrize(("sink", "overrides"), [
    (Sink.COMMIT_STATUS, dict(phase="done", status="succeeded", details={"final": True})),
    (Sink.DEPLOYMENT, dict(phase="done", status="succeeded")),
    (Sink.COMMENT, dict(phase="done", status="succeeded", details={"final": True})),
    (Sink.SLACK, dict(phase="done", status="succeeded")),
])
def test_a_success_is_shown_only_when_the_runs_record_says_the_run_succeeded(sink, overrides):
    event = status_event(**overrides)
    assert unverified(event, sink, record("succeeded")) is None
    for other in (record("running"), record("failed"), None, record("succeeded", environment="staging"),
                  record("succeeded", workflow="plan")):
        assert unverified(event, sink, other) is not None


def test_progress_and_failures_need_no_record_but_a_destroy_jobs_other_commit_gets_no_status():
    assert unverified(status_event(phase="apply", status="started"), Sink.COMMIT_STATUS, None) is None
    assert unverified(status_event(phase="done", status="failed"), Sink.COMMIT_STATUS, record("running")) is None
    last_good = status_event(workflow="destroy", phase="destroy", status="succeeded", sha="f" * 40)
    assert "is about" in unverified(last_good, Sink.COMMIT_STATUS, record("running", workflow="destroy"))
