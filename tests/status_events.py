"""Status events for tests: the one schema, with plausible values a test overrides by keyword."""

from __future__ import annotations

from chalicelib.core.status import Phase, Status, StatusEvent


def status_event(**overrides) -> StatusEvent:
    values = dict(run_id="plan-apply-prod-0a1b2c3-5f0e9d8c7b6a", workflow="plan-apply", phase=Phase.PLAN,
                  status=Status.SUCCEEDED, repository="acme/infra", sha="0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
                  environment="prod", actor="dev@acme.example", message="plan ready",
                  timestamp="2026-11-25T04:00:00Z", pull_request=7)
    values.update(overrides)
    for key, kind in (("phase", Phase), ("status", Status)):
        values[key] = kind(values[key])
    return StatusEvent(**values)
