"""The GitHub stand-in's web pages, at the html_url the payloads and API answers carry:

    /                                   repositories and their pull requests
    /<owner>/<name>/pull/<n>            a pull request: commit statuses, deployments, comments
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from werkzeug.wrappers import Request, Response

from tfpipe.local.github import git_repos
from tfpipe.local.github.store import GitHubStore

_PULL = re.compile(r"^/(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/pull/(?P<number>\d+)/?$")
_STYLE = ("body{font-family:sans-serif;max-width:60rem;margin:2rem auto}pre{background:#f6f8fa;padding:1rem;"
          "white-space:pre-wrap}.success{color:#1a7f37}.failure,.error{color:#cf222e}.pending{color:#9a6700}")


def _page(title: str, body: str) -> Response:
    return Response(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                    f"<style>{_STYLE}</style></head><body>{body}</body></html>", content_type="text/html; charset=utf-8")


class GitHubWeb:
    def __init__(self, store: GitHubStore, git_root: Path):
        self.store = store
        self.git_root = Path(git_root)

    def handles(self, path: str) -> bool:
        return path == "/" or _PULL.match(path) is not None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        match = _PULL.match(request.path)
        response = self.pull(match["repo"], int(match["number"])) if match else self.index()
        return response(environ, start_response)

    def index(self) -> Response:
        parts = ["<h1>Local GitHub</h1>"]
        for repository in git_repos.repositories(self.git_root):
            pulls = self.store.read(repository)["pulls"].values()
            items = "".join(
                f"<li><a href='/{repository}/pull/{p['number']}'>#{p['number']} {html.escape(p['title'])}</a> "
                f"({'merged' if p.get('merged') else p['state']}, {html.escape(p['head_ref'])})</li>"
                for p in sorted(pulls, key=lambda p: -p["number"]))
            parts.append(f"<h2>{html.escape(repository)}</h2><ul>{items or '<li>no pull requests</li>'}</ul>")
        return _page("Local GitHub", "".join(parts))

    def pull(self, repository: str, number: int) -> Response:
        state = self.store.read(repository)
        pr = state["pulls"].get(str(number))
        if pr is None:
            return Response("Not Found", status=404)
        shas = {pr["head_sha"], pr.get("merge_commit_sha")}
        statuses = "".join(
            f"<li class='{html.escape(s['state'])}'>{html.escape(s['context'])}: {html.escape(s['state'])} "
            f"{html.escape(s.get('description') or '')}</li>" for s in state["statuses"] if s["sha"] in shas)
        deployments = "".join(
            f"<li>{html.escape(d['environment'])}: "
            f"{html.escape(d['statuses'][-1]['state'] if d['statuses'] else 'created')} "
            f"{html.escape(d['statuses'][-1].get('environment_url') or '') if d['statuses'] else ''}</li>"
            for d in state["deployments"].values() if d["sha"] in shas)
        comments = "".join(
            f"<h3>{html.escape(c['user'])} at {html.escape(c['updated_at'])}</h3><pre>{html.escape(c['body'])}</pre>"
            for c in sorted(state["comments"].values(), key=lambda c: c["id"]) if c["number"] == number)
        title = f"{repository}#{number}: {pr['title']}"
        return _page(title, f"<p><a href='/'>all</a></p><h1>{html.escape(title)}</h1>"
                            f"<p>{html.escape(pr['head_ref'])} → {html.escape(pr['base_ref'])} at "
                            f"<code>{pr['head_sha'][:7]}</code> by {html.escape(pr['user'])} "
                            f"({'merged' if pr.get('merged') else pr['state']})</p>"
                            f"<h2>Checks</h2><ul>{statuses or '<li>none</li>'}</ul>"
                            f"<h2>Deployments</h2><ul>{deployments or '<li>none</li>'}</ul>"
                            f"<h2>Conversation</h2>{comments or '<p>no comments</p>'}")
