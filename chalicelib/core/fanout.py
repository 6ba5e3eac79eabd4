"""Which sinks a status event goes to, and what each is told. Pure: the consumer (chalicelib/fanout.py)
does the delivering, remembering and retrying.

Sinks are separate so that one failing never repeats another: the PR comment, the commit status,
the GitHub deployment and Slack are each delivered at most once per event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from chalicelib.core.batch_events import is_job_died_report
from chalicelib.core.run_records import RunRecord
from chalicelib.core.status import Phase, Status, StatusEvent
from chalicelib.core.timestamps import parse_timestamp
from chalicelib.core.workflows import LOCKING_WORKFLOWS, Workflow


class Sink(StrEnum):
    COMMENT = "github-comment"
    COMMIT_STATUS = "github-status"
    DEPLOYMENT = "github-deployment"
    SLACK = "slack"


STATUS_DESCRIPTION_CHARS = 140  # GitHub rejects longer commit status descriptions
ENVIRONMENT_CHANGING = frozenset(w.value for w in LOCKING_WORKFLOWS)

# -- commit statuses ---------------------------------------------------------------------------------

_COMMIT_FAILURES = frozenset({Status.FAILED, Status.REJECTED, Status.TIMED_OUT, Status.ROLLED_BACK,
                              Status.NEEDS_ATTENTION})


def is_final(event: StatusEvent) -> bool:
    """The run's last event: the workflows end every run with phase `done` (or the rollback's own
    ending) and mark it `details.final`."""
    return event.phase == Phase.DONE or bool((event.details or {}).get("final"))


def commit_state(event: StatusEvent) -> str:
    """GitHub commit status state: pending while the run moves, success/failure/error at its end."""
    if event.status in _COMMIT_FAILURES:
        return "failure"
    if event.status == Status.SUPERSEDED:
        return "error"
    if event.workflow == Workflow.APPLY_EPHEMERAL.value and event.phase == Phase.DESTROY:
        return "failure"  # an ephemeral run destroys only to clean up after its failed apply
    if event.status == Status.SUCCEEDED and is_final(event):
        return "success"
    # Only a run's last event, which the pipeline's Lambdas publish from the run's record, is a success:
    # a job's own phases (a DESTROY job's end included) stay pending (`unverified` below).
    return "pending"


def commit_context(event: StatusEvent) -> str:
    return f"tfpipe/{event.workflow}/{event.environment}"


def short_description(text: str, limit: int = STATUS_DESCRIPTION_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- deployments -------------------------------------------------------------------------------------

# (phase, status) -> GitHub deployment state, for the workflows that change an environment. The job's
# own phases move it along; the run's last event (phase done) settles it, but only for a deployment
# that exists: a run that applied nothing (no changes, rejected, superseded) has none.
DEPLOYMENT_STATES: dict[tuple[Phase, Status], str] = {
    (Phase.APPLY, Status.STARTED): "in_progress",
    (Phase.APPLY, Status.SUCCEEDED): "in_progress",  # its health check is still to come
    (Phase.APPLY, Status.FAILED): "failure",
    (Phase.HEALTH_CHECK, Status.FAILED): "failure",
    (Phase.ROLLBACK, Status.STARTED): "in_progress",
    (Phase.ROLLBACK, Status.ROLLED_BACK): "failure",
    (Phase.ROLLBACK, Status.NEEDS_ATTENTION): "error",
    (Phase.SCHEDULE, Status.SUCCEEDED): "success",
    (Phase.DESTROY, Status.STARTED): "in_progress",
    (Phase.DESTROY, Status.SUCCEEDED): "inactive",
    (Phase.DESTROY, Status.FAILED): "failure",
    (Phase.DONE, Status.SUCCEEDED): "success",
    (Phase.DONE, Status.FAILED): "failure",
    (Phase.DONE, Status.TIMED_OUT): "failure",
}


def deployment_state(event: StatusEvent) -> str | None:
    if event.workflow not in ENVIRONMENT_CHANGING:
        return None
    if event.workflow == Workflow.DESTROY.value and event.phase == Phase.DONE and event.status == Status.SUCCEEDED:
        return "inactive"
    return DEPLOYMENT_STATES.get((event.phase, event.status))


def retires_environment(event: StatusEvent) -> bool:
    """A DESTROY that succeeded: every earlier deployment to its environment stops being live (GitHub
    does not do it for transient environments by itself, and ephemeral ones are transient)."""
    return (event.workflow == Workflow.DESTROY.value and event.phase == Phase.DONE
            and event.status == Status.SUCCEEDED)


def creates_deployment(event: StatusEvent) -> bool:
    """Whether this event may start the run's deployment (its end only settles one that exists)."""
    return event.phase != Phase.DONE


def is_transient(event: StatusEvent) -> bool:
    return event.workflow == Workflow.APPLY_EPHEMERAL.value or event.environment.startswith("pr-")


def environment_url(event: StatusEvent) -> str | None:
    details = event.details or {}
    outputs = details.get("outputs") or {}
    for candidate in (details.get("url"), outputs.get("url"), outputs.get("environment_url"),
                      outputs.get("function_url"), outputs.get("health_check_url")):
        if isinstance(candidate, str) and candidate.startswith(("https://", "http://")):
            return candidate
    return None


# -- Slack -------------------------------------------------------------------------------------------

class SlackNews(StrEnum):
    STARTED = "started"
    APPROVAL_NEEDED = "approval needed"
    APPLIED = "applied"
    FAILED = "failed"
    ROLLED_BACK = "rolled back"
    EPHEMERAL_CREATED = "ephemeral environment created"
    DESTROYED = "destroyed"
    TTL_MOVED = "TTL moved"
    NEEDS_ATTENTION = "needs attention"


SLACK_ICONS: dict[SlackNews, str] = {
    SlackNews.STARTED: ":arrow_forward:", SlackNews.APPROVAL_NEEDED: ":raised_hand:",
    SlackNews.APPLIED: ":white_check_mark:", SlackNews.FAILED: ":x:", SlackNews.ROLLED_BACK: ":leftwards_arrow_with_hook:",
    SlackNews.EPHEMERAL_CREATED: ":seedling:", SlackNews.DESTROYED: ":wastebasket:", SlackNews.TTL_MOVED: ":hourglass:",
    SlackNews.NEEDS_ATTENTION: ":rotating_light:",
}

# What is worth a Slack message: a run starting, waiting for someone, and how it ended (its last
# event), told in the words of its workflow. A job's own failure is not told: the run's end follows.
_SLACK_BY_PHASE_STATUS: dict[tuple[Phase, Status], SlackNews] = {
    (Phase.QUEUED, Status.STARTED): SlackNews.STARTED,
    (Phase.APPROVAL, Status.PENDING): SlackNews.APPROVAL_NEEDED,
    (Phase.ROLLBACK, Status.ROLLED_BACK): SlackNews.ROLLED_BACK,
    (Phase.ROLLBACK, Status.NEEDS_ATTENTION): SlackNews.NEEDS_ATTENTION,
}
_SLACK_SUCCESS_BY_WORKFLOW: dict[str, SlackNews] = {
    Workflow.PLAN_APPLY.value: SlackNews.APPLIED,
    Workflow.APPLY_EPHEMERAL.value: SlackNews.EPHEMERAL_CREATED,
    Workflow.DESTROY.value: SlackNews.DESTROYED,
    Workflow.MODIFY_CRON.value: SlackNews.TTL_MOVED,
}
_SLACK_FAILURES = frozenset({Status.FAILED, Status.TIMED_OUT, Status.REJECTED})


def slack_news(event: StatusEvent) -> SlackNews | None:
    if event.phase != Phase.DONE:
        return _SLACK_BY_PHASE_STATUS.get((event.phase, event.status))
    if event.status in _SLACK_FAILURES:
        return SlackNews.FAILED
    if event.status == Status.SUCCEEDED:
        if event.workflow == Workflow.PLAN_APPLY.value and (event.details or {}).get("has_changes") is False:
            return None  # nothing was applied
        return _SLACK_SUCCESS_BY_WORKFLOW.get(event.workflow)
    return None


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the notification line (also the fallback for clients without blocks)
    blocks: list[dict]


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(event: StatusEvent, news: SlackNews, link: str | None = None) -> SlackMessage:
    where = f"{event.repository} · {event.environment} · {event.sha[:7]}"
    text = f"{SLACK_ICONS[news]} tfpipe {event.workflow} {news.value}: {event.message}"
    lines = [f"*{_slack_escape(f'tfpipe {event.workflow} {news.value}')}* ({_slack_escape(where)})",
             _slack_escape(event.message)]
    if event.pull_request:
        lines.append(f"pull request #{event.pull_request}")
    url = environment_url(event)
    if url and news in (SlackNews.APPLIED, SlackNews.EPHEMERAL_CREATED):
        lines.append(f"<{url}|{_slack_escape(url)}>")
    if link:
        lines.append(f"<{link}|run {_slack_escape(event.run_id)}>")
    else:
        lines.append(f"run `{_slack_escape(event.run_id)}` by {_slack_escape(event.actor)}")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{SLACK_ICONS[news]} " + "\n".join(lines)}}]
    return SlackMessage(_slack_escape(text), blocks)


# -- ordering ----------------------------------------------------------------------------------------

_PHASE_ORDER = {phase: rank for rank, phase in enumerate(Phase)}  # declaration order is a run's order
_OPEN = frozenset({Status.STARTED, Status.PENDING})


def _instant(timestamp: str) -> str:
    """An ISO 8601 timestamp as UTC with microseconds, so `Z`, `+00:00` and other offsets sort together."""
    when = parse_timestamp(timestamp)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") if when else timestamp


def progress_key(event: StatusEvent) -> tuple:
    """Sorts a run's events in the order they happened, even when they share a timestamp (whole
    seconds): by time, then phase, then an open status before the one that closes the phase."""
    return (_instant(event.timestamp), _PHASE_ORDER[event.phase], 0 if event.status in _OPEN else 1)


def progress_text(event: StatusEvent) -> str:
    """`progress_key` as a string that sorts the same way (for a conditional write)."""
    timestamp, phase, closing = progress_key(event)
    return f"{timestamp}|{phase:02d}|{closing}"


@dataclass(frozen=True)
class Mark:
    """What a sink shows now (a progress mark), enough to tell whether another event may replace it.

    Events replace each other in the order they happened, with one exception inside a run: Batch's
    "job died" report (vague: it knows only that the container exited) never replaces a failure the
    executor or the workflow reported precisely, nor the run's end, and those replace it whichever
    happened or arrived first (SQS does not keep order, and Batch reports after the job exited)."""

    progress: str  # progress_text
    run_id: str = ""
    settled: bool = False  # a precisely reported failure, or the run's last event
    vague: bool = False  # Batch's "job died" report

    def replaces(self, shown: Mark | None) -> bool:
        if shown is None:
            return True
        if self.run_id and self.run_id == shown.run_id:
            if self.vague and shown.settled:
                return False
            if shown.vague and self.settled:
                return True
        return shown.progress <= self.progress

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Mark:
        return cls(progress=str(data.get("progress", "")), run_id=str(data.get("run_id") or ""),
                   settled=bool(data.get("settled")), vague=bool(data.get("vague")))


def mark_of(event: StatusEvent) -> Mark:
    vague = is_job_died_report(event)
    settled = not vague and (event.status in _COMMIT_FAILURES or is_final(event))
    return Mark(progress_text(event), event.run_id, settled, vague)

def comment_run(event: StatusEvent) -> str | None:
    """The run whose own comment an event updates, or None for the one comment of its workflow on the
    pull request: a CUSTOM run answers one `/terraform` request, so each request gets a reply of its
    own, which the next request does not overwrite."""
    return event.run_id if event.workflow == Workflow.CUSTOM.value else None


def mark_key(event: StatusEvent, sink: Sink) -> str | None:
    """What a sink shows as a current state (not a history): the comment of a pull request and workflow
    (or run), the commit status of a sha and context, the deployment of a run. Slack messages are
    history: None."""
    run = comment_run(event)
    keys = {
        Sink.COMMENT: f"comment|{event.repository}|{event.pull_request}|{event.workflow}" + (f"|{run}" if run else ""),
        Sink.COMMIT_STATUS: f"commit-status|{event.repository}|{event.sha}|{commit_context(event)}",
        Sink.DEPLOYMENT: f"deployment|{event.repository}|{event.run_id}",
    }
    return f"mark|{keys[sink]}" if sink in keys else None


# -- routing -----------------------------------------------------------------------------------------

def sinks_for(event: StatusEvent) -> list[Sink]:
    """The sinks this event goes to, in delivery order."""
    sinks = []
    if event.pull_request is not None:
        sinks.append(Sink.COMMENT)
    sinks.append(Sink.COMMIT_STATUS)
    if deployment_state(event) is not None:
        sinks.append(Sink.DEPLOYMENT)
    if slack_news(event) is not None:
        sinks.append(Sink.SLACK)
    return sinks


def delivery_key(event: StatusEvent, sink: Sink) -> str:
    """The record that says (event, sink) was delivered."""
    return f"status|{event.dedup_key}|{sink.value}"


def deployment_key(event: StatusEvent) -> str:
    """The record that holds the GitHub deployment id of a run."""
    return f"deployment|{event.repository}|{event.run_id}"


# -- what a job may not say ---------------------------------------------------------------------------
# A Terraform job's role may send to the status queue (its phases' progress), and a pull request's code
# runs in plan and preview jobs: nothing on the queue is taken as sent. Whatever would show a success on
# GitHub (a success commit status, which branch protection trusts; a deployment made live or retired;
# the result comment) or announce one in Slack is delivered only when the run's record, which only the
# pipeline's Lambdas write (publish_status records a run's end before it publishes it), agrees.

_SUCCESS_NEWS = frozenset({SlackNews.APPLIED, SlackNews.EPHEMERAL_CREATED, SlackNews.DESTROYED, SlackNews.TTL_MOVED})


def claims_success(event: StatusEvent, sink: Sink) -> bool:
    if sink == Sink.COMMIT_STATUS:
        return commit_state(event) == "success"
    if sink == Sink.DEPLOYMENT:
        return deployment_state(event) in ("success", "inactive") or retires_environment(event)
    if sink == Sink.COMMENT:
        return is_final(event) and event.status == Status.SUCCEEDED
    return slack_news(event) in _SUCCESS_NEWS


def unverified(event: StatusEvent, sink: Sink, record: RunRecord | None) -> str | None:
    """Why the run's record does not back what `event` would show on `sink` (None: it does, or the
    event claims nothing a job could gain by forging)."""
    if sink == Sink.COMMIT_STATUS and record is not None and event.sha != record.sha:
        # A DESTROY job works at the environment's last good commit: its phases are no news for the
        # commit the run is about, and nobody else would ever settle a status left on that one.
        return f"it names commit {event.sha[:7]}, run {event.run_id} is about {record.sha[:7]}"
    if not claims_success(event, sink):
        return None
    if record is None:
        return f"it claims a success of run {event.run_id}, which has no record"
    claimed = (event.workflow, event.repository, event.environment, event.sha)
    if claimed != (record.workflow, record.repository, record.environment, record.sha):
        return (f"it claims a success of {'/'.join(claimed)}, run {event.run_id} is "
                f"{'/'.join((record.workflow, record.repository, record.environment, record.sha))}")
    if record.status != Status.SUCCEEDED.value:
        return f"it claims a success, the record of run {event.run_id} says {record.status}"
    return None
