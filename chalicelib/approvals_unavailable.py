"""Placeholder until the approval store is wired: says plainly that nothing was approved."""

from __future__ import annotations


class NoApprovals:
    def decide_for_pull_request(self, repository: str, pull_request: int, run_id: str | None,
                                approved: bool, actor: str) -> str:
        return "No run is waiting for approval on this pull request; nothing was approved or rejected."
