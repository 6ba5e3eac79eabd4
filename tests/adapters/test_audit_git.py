"""The audit trail written with real git into a real bare repository."""

import re
import subprocess
import threading

import pytest

from chalicelib.adapters.audit_git import GitAuditLog
from chalicelib.core.audit import AUDIT_BRANCH, AuditRecord
from chalicelib.core.errors import NotFound

REPO = "acme/infra"


def git(repo, *args) -> str:
    return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def root(tmp_path):
    repo = tmp_path / "acme" / "infra.git"
    subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(repo)], check=True)
    return tmp_path


@pytest.fixture
def audit(root):
    return GitAuditLog(root)


def record(run: str, sha: str = "1" * 40, result: str = "applied", at: str = "2026-11-25T04:00:00.000001+00:00",
           environment: str = "prod", action: str = "apply", **extra) -> AuditRecord:
    return AuditRecord(run_id=run, workflow="plan-apply", action=action, environment=environment,
                       account_id="123456789012", repository=REPO, sha=sha, actor="dev@acme.example",
                       result=result, started_at=at, finished_at=at, **extra)


def test_each_record_is_one_json_file_in_one_commit_with_a_log_line_message(root, audit):
    first = record("run-1", approver="lead@acme.example", plan_checksum="abc", artifacts={"plan": "runs/run-1/plan"})
    audit.append(first)
    repo = root / "acme" / "infra.git"
    assert git(repo, "rev-list", "--count", AUDIT_BRANCH).strip() == "1"
    assert git(repo, "show", "--format=", "--name-only", AUDIT_BRANCH).split() == [first.path]
    assert AuditRecord.from_json(git(repo, "show", f"{AUDIT_BRANCH}:{first.path}")) == first
    subject = git(repo, "log", "-1", "--format=%s|%an|%ae", AUDIT_BRANCH).strip()
    assert subject == "apply 1111111 to prod: applied (run run-1, by dev@acme.example approved by lead@acme.example)" \
                      "|dev|dev@acme.example"
    assert git(repo, "for-each-ref", "--format=%(refname)").split() == [f"refs/heads/{AUDIT_BRANCH}"]  # nothing else


def test_history_reads_back_one_environment_in_appended_order(audit):
    audit.append(record("a", at="2026-11-25T04:00:01+00:00"))
    audit.append(record("x", environment="staging"))
    audit.append(record("b", result="failed", sha="b" * 40, at="2026-11-25T04:00:02+00:00", error_class="ApplyFailed"))
    history = audit.history(REPO, "prod")
    assert [r.run_id for r in history] == ["a", "b"]
    assert history[1].error_class == "ApplyFailed"
    assert [r.run_id for r in audit.history(REPO, "staging")] == ["x"]
    assert audit.history(REPO, "nowhere") == []


def test_last_good_commit_is_read_from_the_trail(audit):
    assert audit.last_good_commit(REPO, "prod") is None
    audit.append(record("a", sha="1" * 40, at="2026-11-25T04:00:01+00:00"))
    audit.append(record("b", sha="b" * 40, result="failed", at="2026-11-25T04:00:02+00:00"))
    assert audit.last_good_commit(REPO, "prod") == "1" * 40
    audit.append(record("b", sha="1" * 40, action="rollback", result="rolled-back-to", at="2026-11-25T04:00:03+00:00"))
    audit.append(record("c", sha="2" * 40, at="2026-11-25T04:00:04+00:00"))
    assert audit.last_good_commit(REPO, "prod") == "2" * 40


def test_appending_the_same_record_twice_adds_nothing(root, audit):
    same = record("a")
    audit.append(same)
    audit.append(same)
    assert git(root / "acme" / "infra.git", "rev-list", "--count", AUDIT_BRANCH).strip() == "1"


def test_concurrent_writers_lose_nothing_and_history_stays_linear(root):
    writers, each = 6, 5
    errors = []

    def write(w: int) -> None:
        log = GitAuditLog(root)  # each writer its own instance, as separate Lambdas would be
        try:
            for i in range(each):
                log.append(record(f"w{w}-{i}", environment=("prod", "staging")[w % 2],
                                  at=f"2026-11-25T04:00:{w:02d}.{i:06d}+00:00"))
        except Exception as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    repo = root / "acme" / "infra.git"
    commits = git(repo, "rev-list", "--parents", AUDIT_BRANCH).splitlines()
    assert len(commits) == writers * each
    assert all(len(line.split()) <= 2 for line in commits)  # no merges: one parent each (the first none)
    assert sum(len(line.split()) == 1 for line in commits) == 1  # one root
    for line in commits:
        assert len(git(repo, "show", "--format=", "--name-only", line.split()[0]).split()) == 1
    log = GitAuditLog(root)
    got = {r.run_id for env in ("prod", "staging") for r in log.history(REPO, env)}
    assert got == {f"w{w}-{i}" for w in range(writers) for i in range(each)}


def test_a_writer_that_loses_the_race_retries_on_the_new_tip(root):
    """Another writer commits between this one reading the tip and moving it: the compare-and-swap
    refuses the stale move, and the retry builds on the other writer's commit."""
    other = GitAuditLog(root)

    class Racing(GitAuditLog):
        raced = 0

        def _tree_with(self, repo, base, path, blob, doing):
            if not self.raced:
                self.raced += 1
                other.append(record("other", at="2026-11-25T04:00:05+00:00"))
            return super()._tree_with(repo, base, path, blob, doing)

    Racing(root).append(record("mine", at="2026-11-25T04:00:06+00:00"))
    repo = root / "acme" / "infra.git"
    assert git(repo, "log", "--format=%s", AUDIT_BRANCH).count("\n") == 2
    assert [r.run_id for r in GitAuditLog(root).history(REPO, "prod")] == ["other", "mine"]


def test_unknown_repository_and_unsafe_names_are_refused_clearly(audit):
    with pytest.raises(NotFound, match="no repository acme/other under the local Git root"):
        audit.history("acme/other", "prod")
    with pytest.raises(NotFound, match="cannot name a path"):
        audit.history("acme/../infra", "prod")
    with pytest.raises(NotFound, match=re.escape("environment '../prod' cannot name a path")):
        audit.append(record("a", environment="../prod"))
