"""The check_collisions task of APPLY EPHEMERAL in shared-account mode (issue 13, item 6): between the
preview's plan and its apply, refuse a plan that would create a resource named like one in a long-lived
environment of the same repository and account. It runs here, in a trusted Lambda, because the preview
job's credentials must not read a long-lived environment's state."""

from __future__ import annotations

import json

from chalicelib.core.collisions import collisions
from chalicelib.core.errors import FieldError, InvalidRequest, PreviewCollision
from chalicelib.core.naming import long_lived_state_key
from chalicelib.tasks.event import TaskEvent

DOING = "checking the preview plan against the long-lived environments"


def check(deps, raw: object) -> dict:
    """Raises PreviewCollision naming each collision; answers what was compared."""
    event = TaskEvent.parse(raw, DOING)
    request = event.run.request
    plan_json = (event.step("plan").get("artifacts") or {}).get("plan_json")
    if not plan_json:
        raise InvalidRequest(DOING, [FieldError("plan.artifacts.plan_json", None, "the S3 key of the plan's JSON")])
    plan = json.loads(deps.artifacts.get_text(plan_json))
    environments = deps.settings.long_lived_in(request.environment.account_id)
    states = {name: state for name in environments
              if (state := deps.state_files.read(long_lived_state_key(request.repository, name))) is not None}
    found = collisions(plan, states)
    if found:
        raise PreviewCollision(
            f"{DOING}: {request.environment.name} shares account {request.environment.account_id} with "
            f"{', '.join(environments)} (TFPIPE_EPHEMERAL_SHARED_ACCOUNT=allow) and its plan would create "
            f"{'; '.join(str(c) for c in found)}; nothing was applied. Name the preview's resources after its "
            "workspace (terraform.workspace), or give previews an account of their own (TFPIPE_EPHEMERAL_ACCOUNT_ID)")
    return {"environments": environments, "compared": sorted(states)}
