import pytest

from chalicelib.core.audit import AuditRecord, in_time_order, last_good_commit

GOOD_1, GOOD_2, BAD, OTHER = "1" * 40, "2" * 40, "b" * 40, "0" * 40


def record(action: str, sha: str, result: str, at: str, run: str = "r", environment: str = "prod") -> AuditRecord:
    return AuditRecord(run_id=run, workflow="plan-apply", action=action, environment=environment,
                       account_id="123456789012", repository="acme/infra", sha=sha, actor="dev@acme.example",
                       result=result, started_at=at, finished_at=at)


def test_no_history_has_no_last_good_commit():
    assert last_good_commit([]) is None


def test_failed_applies_are_walked_past_to_the_clean_one_before():
    trail = [record("apply", GOOD_1, "applied", "2026-11-01T10:00:00Z"),
             record("apply", BAD, "failed", "2026-11-02T10:00:00Z"),
             record("apply", BAD, "failed", "2026-11-03T10:00:00Z")]
    assert last_good_commit(trail) == GOOD_1


def test_a_successful_rollback_leaves_the_environment_at_the_commit_it_went_back_to():
    trail = [record("apply", GOOD_1, "applied", "2026-11-01T10:00:00Z"),
             record("apply", GOOD_2, "applied", "2026-11-02T10:00:00Z"),
             record("apply", BAD, "failed", "2026-11-03T10:00:00Z"),
             record("rollback", GOOD_1, "rolled-back-to", "2026-11-03T10:05:00Z")]
    # GOOD_1, not GOOD_2: the rollback is newer than GOOD_2's apply
    assert last_good_commit(trail) == GOOD_1


def test_a_failed_rollback_does_not_count_and_an_older_clean_apply_stands():
    trail = [record("apply", GOOD_1, "applied", "2026-11-01T10:00:00Z"),
             record("apply", BAD, "failed", "2026-11-02T10:00:00Z"),
             record("rollback", GOOD_1, "failed", "2026-11-02T10:05:00Z"),
             record("apply", BAD, "failed", "2026-11-03T10:00:00Z")]
    assert last_good_commit(trail) == GOOD_1


def test_interleaved_failures_and_rollbacks_end_at_the_newest_clean_state():
    trail = [record("apply", GOOD_1, "applied", "2026-11-01T10:00:00Z"),
             record("apply", BAD, "failed", "2026-11-02T10:00:00Z"),
             record("rollback", GOOD_1, "rolled-back-to", "2026-11-02T10:05:00Z"),
             record("apply", GOOD_2, "applied", "2026-11-03T10:00:00Z"),
             record("apply", BAD, "failed", "2026-11-04T10:00:00Z"),
             record("rollback", GOOD_2, "failed", "2026-11-04T10:05:00Z")]
    assert last_good_commit(trail) == GOOD_2


def test_destroy_leaves_nothing_to_roll_back_to_until_the_next_clean_apply():
    trail = [record("ephemeral-apply", GOOD_1, "applied", "2026-11-01T10:00:00Z"),
             record("destroy", GOOD_1, "destroyed", "2026-11-01T14:00:00Z")]
    assert last_good_commit(trail) is None
    trail.append(record("ephemeral-apply", GOOD_2, "applied", "2026-11-02T10:00:00Z"))
    assert last_good_commit(trail) == GOOD_2
    trail.append(record("destroy", GOOD_2, "destroy-failed", "2026-11-02T14:00:00Z"))
    assert last_good_commit(trail) == GOOD_2


def test_order_is_by_time_not_by_how_records_were_listed():
    trail = [record("apply", BAD, "failed", "2026-11-03T10:00:00+00:00"),
             record("apply", GOOD_2, "applied", "2026-11-02T10:00:00.5Z"),
             record("apply", GOOD_1, "applied", "2026-11-02T12:00:00+02:00")]  # 10:00 UTC, before GOOD_2
    assert last_good_commit(trail) == GOOD_2


def test_records_finished_at_the_same_instant_keep_their_appended_order():
    at = "2026-11-02T10:00:00Z"
    first, second = record("apply", BAD, "failed", at, run="a"), record("rollback", GOOD_1, "rolled-back-to", at, run="b")
    assert in_time_order([first, second]) == [first, second]
    assert last_good_commit([first, second]) == GOOD_1
    assert last_good_commit([second, first]) == GOOD_1  # the failed apply says nothing either way


@pytest.mark.parametrize("result", ["applied", "rolled-back-to"])
def test_either_clean_result_of_a_rollback_counts(result):
    assert last_good_commit([record("rollback", OTHER, result, "2026-11-01T10:00:00Z")]) == OTHER


def test_an_unlocks_commit_message_names_the_run_whose_lock_it_was_and_who_cleared_it():
    unlock = AuditRecord(run_id="r7", workflow="destroy", action="unlock", environment="prod", account_id="",
                         repository="acme/infra", sha="", actor="arn:aws:iam::123456789012:user/ops",
                         result="force-unlocked", started_at="2026-01-02T00:00:00", finished_at="2026-01-02T00:00:00")
    assert unlock.commit_message == "unlock prod: force-unlocked (lock of run r7, by arn:aws:iam::123456789012:user/ops)"
    assert last_good_commit([record("apply", GOOD_1, "applied", "2026-01-01T00:00:00"), unlock]) == GOOD_1


def test_an_iam_caller_authors_its_record_with_a_valid_email_and_its_arn_as_name():
    record = AuditRecord(run_id="plan-apply-prod-abc1234-0123456789ab", workflow="plan-apply", action="unlock",
                         environment="prod", account_id="", repository="acme/infra", sha="", result="unlocked",
                         actor="arn:aws:iam::123456789012:user/tfpipe-local-operator",
                         started_at="2026-12-03T10:00:00Z", finished_at="2026-12-03T10:00:00Z")
    name, email = record.author
    assert name == "arn:aws:iam::123456789012:user/tfpipe-local-operator"
    assert email == "arn-aws-iam-123456789012-user-tfpipe-local-operator@users.noreply.tfpipe"
