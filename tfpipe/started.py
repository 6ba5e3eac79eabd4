"""The runs an intake answer says it started (`{"message": ..., "runs": [...]}` from a webhook or a
dispatch), in the words the CLI and the push hook print, so people can copy the run ids."""

from __future__ import annotations

import json


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


def lines(answers: list[str]) -> list[str]:
    """A line for each run the answers (response bodies) say was started."""
    return [run_line(run) for text in answers for run in runs_of(text)]
