"""Run history (the audit trail in a real bare Git repository) and the last commit that applied cleanly."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import InvalidRequest
from chalicelib.tasks import last_good
from tests.tasks.conftest import OLD_SHA, SHA, make_run, task_event


def resolve(deps, run):
    return last_good.resolve(deps, task_event(run))["sha"]


def test_no_history_means_no_last_good_commit(deps):
    assert resolve(deps, make_run()) is None


def test_last_good_commit_is_the_newest_clean_apply_not_a_later_failure(deps):
    good, bad = make_run(sha=OLD_SHA, key="a"), make_run(sha=SHA, key="b")
    last_good.record(deps, task_event(good, state={"approval": {"actor": "lead@example.com"}},
                                      action="apply", result="applied"))
    last_good.record(deps, task_event(bad, state={"error": {"Error": "ApplyFailed", "Cause": "boom"}},
                                      action="apply", result="failed"))
    assert resolve(deps, bad) == OLD_SHA
    history = deps.audit_log.history("acme/infra", "prod")
    assert [(r.sha, r.result, r.error_class) for r in history] == [(OLD_SHA, "applied", None),
                                                                   (SHA, "failed", "ApplyFailed")]
    assert history[0].approver == "lead@example.com"


def test_a_rollback_records_the_commit_it_applied(deps):
    run = make_run(sha=SHA)
    last_good.record(deps, task_event(run, state={"last_good": {"sha": OLD_SHA}, "rollback": {"artifacts": {"log": "k"}}},
                                      action="rollback", result="rolled-back-to"))
    [record] = deps.audit_log.history("acme/infra", "prod")
    assert (record.action, record.sha, record.artifacts) == ("rollback", OLD_SHA, {"log": "k"})
    assert resolve(deps, run) == OLD_SHA


def test_other_environments_do_not_count(deps):
    last_good.record(deps, task_event(make_run(environment="staging"), action="apply", result="applied"))
    assert resolve(deps, make_run(environment="prod")) is None


def test_unknown_action_or_result_is_refused_by_name(deps):
    with pytest.raises(InvalidRequest, match=r"action: got 'deploy'.*result: got 'ok'"):
        last_good.record(deps, task_event(make_run(), action="deploy", result="ok"))
