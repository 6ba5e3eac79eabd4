"""The runs an intake answer says it started (`{"message": ..., "runs": [...]}` from a webhook or a
dispatch), in the words the CLI and the push hook print, so people can copy the run ids."""

from __future__ import annotations

import json

from chalicelib.core.intake import UNTRUSTED_ANSWER


def runs_of(text: str) -> list[dict]:
    """The runs listed in an intake answer's body; none when it is not such an answer."""
    try:
        body = json.loads(text)
    except ValueError:
        return []
    runs = body.get("runs") if isinstance(body, dict) else None
    return [r for r in runs if isinstance(r, dict) and r.get("run_id")] if isinstance(runs, list) else []


def run_line(run: dict) -> str:
    return f"run {run['run_id']}  ({run.get('workflow')} of {run.get('environment')} at {str(run.get('sha', ''))[:7]})"


def untrusted_of(text: str) -> str | None:
    """Why nothing started, when the answer says the pull request is untrusted (it waits for a writer)."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) and message.startswith(UNTRUSTED_ANSWER) else None


def lines(answers: list[str]) -> list[str]:
    """A line for each run the answers (response bodies) say was started, and for an untrusted pull
    request the answer saying why nothing was (a silent answer would look like a broken pipeline)."""
    return [line for text in answers
            for line in ([run_line(run) for run in runs_of(text)] or [untrusted_of(text)]) if line]
