"""The status consumer: SQS messages (status events) fanned out to the PR comment, the commit status,
the GitHub deployment and Slack.

Each (event, sink) is delivered at most once: a record in the delivery ledger is claimed before the
sink is called and completed after it answered. A sink that fails gives its claim back and puts the
message in the batch's failures, so SQS hands it back later; the sinks that worked are not called
again. On its last allowed receive a message that still fails goes to the dead-letter queue with
the reason (if that send fails too, the queue's redrive policy moves it there without one).

Nothing on the queue is taken as sent: Terraform jobs may send their progress there too, and a pull
request's code runs in some. An event that would show a success (commit status, deployment, result
comment, Slack) is delivered only when the run's record agrees (core/fanout.py `unverified`); one it
does not is dropped with a warning, never retried.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.core import fanout
from chalicelib.core.comments import CommentView, event_marker, render
from chalicelib.core.errors import DependencyFailed
from chalicelib.core.fanout import Sink
from chalicelib.core.plan_summary import summarize
from chalicelib.core.status import StatusEvent
from chalicelib.ports import ArtifactReader, DeadLetters, DeliveryLedger, Notifier, ProgressMarks, RunRecords, Vcs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """One SQS message as the Lambda event carries it."""

    message_id: str
    body: str
    receive_count: int = 1

    @classmethod
    def from_record(cls, record: dict) -> Received:
        attributes = record.get("attributes") or {}
        return cls(record["messageId"], record["body"], int(attributes.get("ApproximateReceiveCount", "1")))


@dataclass
class Outcome:
    message_id: str
    delivered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # delivered before (a redelivery) or by a concurrent twin
    refused: dict[str, str] = field(default_factory=dict)  # sink -> why the run's record does not back it
    failed: dict[str, str] = field(default_factory=dict)  # sink -> reason
    dead_lettered: bool = False

    @property
    def retry(self) -> bool:
        return bool(self.failed) and not self.dead_lettered

    @property
    def reason(self) -> str:
        return "; ".join(f"{sink}: {why}" for sink, why in self.failed.items())


def _progress(record: dict) -> tuple:
    try:
        return (1, *fanout.progress_key(StatusEvent.from_json(record["body"])))
    except (ValueError, KeyError, TypeError):
        return (0,)  # unreadable ones first: they only fail


class StatusFanout:
    def __init__(self, vcs: Vcs, notifier: Notifier | None, ledger: DeliveryLedger, artifacts: ArtifactReader | None,
                 dead_letters: DeadLetters | None = None, max_receives: int = 5,
                 artifact_link: Callable[[str], str] | None = None, marks: ProgressMarks | None = None,
                 runs: RunRecords | None = None):
        """`runs`: where the run's record is read to check what an event claims; None (tests of the
        sinks alone) believes every event."""
        self._vcs = vcs
        self._notifier = notifier
        self._ledger = ledger
        self._artifacts = artifacts
        self._dead_letters = dead_letters
        self._max_receives = max_receives
        self._link = artifact_link
        self._marks = marks
        self._runs = runs
        self._deliverers: dict[Sink, Callable[[StatusEvent], None]] = {
            Sink.COMMENT: self._comment, Sink.COMMIT_STATUS: self._commit_status,
            Sink.DEPLOYMENT: self._deployment, Sink.SLACK: self._slack,
        }

    # -- the batch -------------------------------------------------------------------------------

    def consume(self, records: list[dict]) -> dict:
        """A Lambda SQS event's records -> the partial batch response (ReportBatchItemFailures).

        A batch is handled in the order its events happened, not the order SQS returned them, so the
        comment a run's last event renders is the one that stays."""
        failures = []
        for record in sorted(records, key=_progress):
            outcome = self.handle(Received.from_record(record))
            if outcome.retry:
                failures.append({"itemIdentifier": outcome.message_id})
        return {"batchItemFailures": failures}

    def handle(self, message: Received) -> Outcome:
        outcome = Outcome(message.message_id)
        try:
            event = StatusEvent.from_json(message.body)
        except (ValueError, KeyError, TypeError) as exc:
            outcome.failed["parse"] = f"not a status event: {type(exc).__name__}: {str(exc)[:200]}"
        else:
            record = self._record(event, outcome)
            for sink in fanout.sinks_for(event):
                if sink == Sink.SLACK and self._notifier is None:
                    continue  # no Slack configured
                why = fanout.unverified(event, sink, record) if self._runs is not None else None
                if why is not None:
                    outcome.refused[sink.value] = why
                    log.warning("status message %s: not delivered to %s: %s", message.message_id, sink.value, why)
                    continue
                self._deliver_once(event, sink, outcome)
        if outcome.failed:
            log.warning("status message %s (receive %d): %s", message.message_id, message.receive_count,
                        outcome.reason)
            if message.receive_count >= self._max_receives:
                self._dead_letter(message, outcome)
        return outcome

    def _record(self, event: StatusEvent, outcome: Outcome):
        if self._runs is None:
            return None
        try:
            return self._runs.get(event.run_id)
        except Exception as exc:  # unread, it backs nothing: successes wait for a retry
            outcome.failed["run record"] = f"reading run {event.run_id}: {exc}"
            return None

    def _deliver_once(self, event: StatusEvent, sink: Sink, outcome: Outcome) -> None:
        key = fanout.delivery_key(event, sink)
        try:
            claim = self._ledger.claim(key)
        except Exception as exc:
            outcome.failed[sink.value] = f"recording the delivery: {exc}"
            return
        if not claim.first:
            outcome.skipped.append(sink.value)
            return
        try:
            if self._behind(event, sink):
                log.info("%s of run %s left as it is: it already shows a later event", sink.value, event.run_id)
            else:
                self._deliverers[sink](event)
        except Exception as exc:
            outcome.failed[sink.value] = str(exc)[:500] or type(exc).__name__
            try:
                self._ledger.abandon(key)
            except Exception:  # the claim's lease runs out instead; the retry takes it over then
                log.warning("giving back the delivery claim %s failed", key, exc_info=True)
            return
        try:
            self._ledger.complete(key, {"sink": sink.value})
        except Exception:  # delivered all the same; the claim stays in progress and keeps twins away
            log.warning("recording the delivery %s as done failed", key, exc_info=True)
        outcome.delivered.append(sink.value)

    def _behind(self, event: StatusEvent, sink: Sink) -> bool:
        """True when the sink already shows a later state than this event's (a retried, older event), or
        a precise failure of the run that this vaguer "job died" report must not replace."""
        key = fanout.mark_key(event, sink)
        if self._marks is None or key is None:
            return False
        return not self._marks.advance(key, fanout.mark_of(event))

    def _dead_letter(self, message: Received, outcome: Outcome) -> None:
        if self._dead_letters is None:
            return
        reason = f"after {message.receive_count} receives: {outcome.reason}"
        try:
            self._dead_letters.send(message.body, reason)
        except Exception:
            log.exception("moving status message %s to the dead-letter queue", message.message_id)
            return
        outcome.dead_lettered = True
        log.error("status message %s moved to the dead-letter queue %s", message.message_id, reason)

    # -- the sinks -------------------------------------------------------------------------------

    def _links(self, event: StatusEvent) -> dict[str, str]:
        if self._link is None:
            return dict(event.artifacts)
        return {name: target if str(target).startswith(("http://", "https://")) else self._link(str(target))
                for name, target in event.artifacts.items()}

    def _comment(self, event: StatusEvent) -> None:
        summary, plan_text = None, None
        keys = event.artifacts
        if self._artifacts is not None and keys.get("plan_json"):
            summary = summarize(json.loads(self._artifacts.get_text(keys["plan_json"])))
        if self._artifacts is not None and keys.get("plan_text"):
            plan_text = self._artifacts.get_text(keys["plan_text"])
        output = self._artifacts.get_text(keys["output"]) if self._artifacts is not None and keys.get("output") else None
        bodies = render(CommentView(event, summary, plan_text, self._links(event), output))
        self._vcs.upsert_comment(event.repository, event.pull_request, event_marker(event), bodies)

    def _run_link(self, event: StatusEvent) -> str | None:
        links = self._links(event)
        return next((links[k] for k in ("log", "plan_text") if str(links.get(k, "")).startswith("http")), None)

    def _commit_status(self, event: StatusEvent) -> None:
        self._vcs.set_commit_status(event.repository, event.sha, fanout.commit_context(event),
                                    fanout.commit_state(event), fanout.short_description(event.message),
                                    self._run_link(event))

    def _deployment(self, event: StatusEvent) -> None:
        deployment_id = self._deployment_id(event)
        if deployment_id is None:
            return
        self._vcs.set_deployment_status(event.repository, deployment_id, fanout.deployment_state(event),
                                        environment_url=fanout.environment_url(event),
                                        description=fanout.short_description(event.message))
        if fanout.retires_environment(event):
            for earlier in self._vcs.deployment_ids(event.repository, event.environment):
                if earlier != deployment_id:
                    self._vcs.set_deployment_status(event.repository, earlier, "inactive",
                                                    description=f"{event.environment} destroyed by run {event.run_id}")

    def _deployment_id(self, event: StatusEvent) -> int | None:
        """One GitHub deployment per run, created by whichever of its events comes first (a run's last
        event only settles one that exists: None when the run deployed nothing)."""
        key = fanout.deployment_key(event)
        claim = self._ledger.claim(key)
        if claim.response is not None:
            return int(claim.response["deployment_id"])
        if claim.first and not fanout.creates_deployment(event):
            self._ledger.abandon(key)
            return None
        if not claim.first:
            raise DependencyFailed(f"creating the deployment of run {event.run_id}: another delivery is creating it")
        try:
            deployment_id = self._vcs.create_deployment(event.repository, event.sha, event.environment,
                                                        fanout.is_transient(event),
                                                        fanout.short_description(event.message))
        except Exception:
            self._ledger.abandon(key)
            raise
        self._ledger.complete(key, {"deployment_id": deployment_id})
        return deployment_id

    def _slack(self, event: StatusEvent) -> None:
        message = fanout.slack_message(event, fanout.slack_news(event), self._run_link(event))
        self._notifier.notify(message.text, message.blocks)
