"""The GitHub audit writer's logic against an in-memory twin of GitHub's Git Data API (GitHub cannot
be reached here): blobs, trees, commits, refs, and the 422 GitHub answers to a move that is not a
fast-forward."""

import hashlib
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from github import GithubException, UnknownObjectException

from chalicelib.adapters.audit_github import GitHubAuditLog
from chalicelib.core.audit import AuditRecord

REPO = "acme/infra"


def _sha(*parts) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()  # noqa: S324 - an object name, like Git's


@dataclass
class GitDataTwin:
    blobs: dict = field(default_factory=dict)
    trees: dict = field(default_factory=dict)  # sha -> {path: blob sha}
    commits: dict = field(default_factory=dict)  # sha -> (tree sha, [parent shas], message)
    refs: dict = field(default_factory=dict)
    before_move: object = None  # called once before a ref moves: lets a test race another writer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_repo(self, name):
        if name != REPO:
            raise UnknownObjectException(404, {"message": "Not Found"}, {})
        return self

    def create_git_blob(self, content, encoding):
        sha = _sha("blob", content)
        self.blobs[sha] = content
        return SimpleNamespace(sha=sha)

    def get_git_blob(self, sha):
        return SimpleNamespace(content=self.blobs[sha], encoding="utf-8")

    def get_git_ref(self, ref):
        name = f"refs/{ref}"
        if name not in self.refs:
            raise UnknownObjectException(404, {"message": "Not Found"}, {})
        return SimpleNamespace(object=SimpleNamespace(sha=self.refs[name]), edit=lambda sha, force: self._move(name, sha, force))

    def create_git_ref(self, ref, sha):
        self._race()
        with self.lock:
            if ref in self.refs:
                raise GithubException(422, {"message": "Reference already exists"}, {})
            self.refs[ref] = sha

    def _move(self, name, sha, force):
        assert force is False
        self._race()
        with self.lock:
            if self.refs[name] not in self._ancestors(sha):
                raise GithubException(422, {"message": "Update is not a fast forward"}, {})
            self.refs[name] = sha

    def _race(self):
        hook, self.before_move = self.before_move, None
        if hook:
            hook()

    def _ancestors(self, sha):
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            seen.add(current)
            todo.extend(self.commits[current][1])
        return seen

    def get_contents(self, path, ref):
        tree = self.trees[self.commits[ref][0]]
        if path not in tree:
            raise UnknownObjectException(404, {"message": "Not Found"}, {})
        return SimpleNamespace(path=path, sha=tree[path])

    def get_git_commit(self, sha):
        return SimpleNamespace(sha=sha, tree=SimpleNamespace(sha=self.commits[sha][0]))

    def create_git_tree(self, elements, base_tree=None):
        entries = dict(self.trees[base_tree.sha]) if base_tree else {}
        entries.update({e._identity["path"]: e._identity["sha"] for e in elements})  # what PyGithub would send
        sha = _sha("tree", sorted(entries.items()))
        self.trees[sha] = entries
        return SimpleNamespace(sha=sha)

    def get_git_tree(self, sha, recursive=False):
        tree_sha = self.commits[sha][0] if sha in self.commits else sha
        return SimpleNamespace(tree=[SimpleNamespace(path=p, sha=b, type="blob") for p, b in self.trees[tree_sha].items()])

    def create_git_commit(self, message, tree, parents, author=None):
        sha = _sha("commit", tree.sha, [p.sha for p in parents], message)
        self.commits[sha] = (tree.sha, [p.sha for p in parents], message)
        return SimpleNamespace(sha=sha)

    def branch_commits(self, branch="tfpipe-audit"):
        sha, out = self.refs.get(f"refs/heads/{branch}"), []
        while sha:
            out.append(sha)
            parents = self.commits[sha][1]
            assert len(parents) <= 1
            sha = parents[0] if parents else None
        return out


def record(run, sha="1" * 40, result="applied", at="2026-11-25T04:00:00+00:00", action="apply"):
    return AuditRecord(run_id=run, workflow="plan-apply", action=action, environment="prod", account_id="123456789012",
                       repository=REPO, sha=sha, actor="dev@acme.example", result=result, started_at=at, finished_at=at)


@pytest.fixture
def twin():
    return GitDataTwin()


def test_records_become_one_commit_each_on_the_audit_branch_with_github_api_twin(twin):
    log = GitHubAuditLog(lambda: twin, sleep=lambda s: None)
    log.append(record("a", at="2026-11-25T04:00:01+00:00"))
    log.append(record("b", sha="b" * 40, result="failed", at="2026-11-25T04:00:02+00:00"))
    commits = twin.branch_commits()
    assert len(commits) == 2
    assert twin.commits[commits[0]][2].startswith("apply bbbbbbb to prod: failed (run b, by dev@acme.example)")
    assert [r.run_id for r in log.history(REPO, "prod")] == ["a", "b"]
    assert log.last_good_commit(REPO, "prod") == "1" * 40


def test_a_move_that_is_not_a_fast_forward_is_rebuilt_on_the_new_tip_with_github_api_twin(twin):
    log = GitHubAuditLog(lambda: twin, sleep=lambda s: None)
    log.append(record("first", at="2026-11-25T04:00:01+00:00"))
    other = GitHubAuditLog(lambda: twin, sleep=lambda s: None)
    twin.before_move = lambda: other.append(record("other", at="2026-11-25T04:00:02+00:00"))
    log.append(record("mine", at="2026-11-25T04:00:03+00:00"))
    assert len(twin.branch_commits()) == 3
    assert [r.run_id for r in log.history(REPO, "prod")] == ["first", "other", "mine"]


def test_two_writers_creating_the_branch_at_once_both_land_with_github_api_twin(twin):
    log = GitHubAuditLog(lambda: twin, sleep=lambda s: None)
    twin.before_move = lambda: GitHubAuditLog(lambda: twin).append(record("other", at="2026-11-25T04:00:01+00:00"))
    log.append(record("mine", at="2026-11-25T04:00:02+00:00"))
    assert [r.run_id for r in log.history(REPO, "prod")] == ["other", "mine"]


def test_github_failing_is_reported_as_a_dependency_failure_with_github_api_twin(twin):
    from chalicelib.core.errors import DependencyFailed, NotFound

    class Down(GitDataTwin):
        def create_git_blob(self, content, encoding):
            raise GithubException(502, {"message": "Bad Gateway"}, {})

    with pytest.raises(DependencyFailed, match="recording apply of 1111111 to prod in the audit trail: GitHub answered 502"):
        GitHubAuditLog(lambda: Down()).append(record("a"))
    with pytest.raises(NotFound, match="no repository acme/other on GitHub"):
        GitHubAuditLog(lambda: twin).history("acme/other", "prod")


def test_appending_the_same_record_twice_adds_nothing_with_github_api_twin(twin):
    log = GitHubAuditLog(lambda: twin, sleep=lambda s: None)
    log.append(record("a"))
    log.append(record("a"))
    assert len(twin.branch_commits()) == 1
