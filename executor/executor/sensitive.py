"""Values Terraform marks sensitive, found in `terraform show -json` documents (a plan or the
state), so the job can mask them even where Terraform's JSON prints them in clear."""

from __future__ import annotations


def sensitive_values(document: dict) -> list:
    """Every leaf value marked sensitive in a plan or state JSON document."""
    found: list = []
    for key in ("planned_values", "prior_state", "values"):
        section = document.get(key) or {}
        section = section.get("values", section) if key == "prior_state" else section
        _module(section.get("root_module") or {}, found)
        for output in (section.get("outputs") or {}).values():
            if output.get("sensitive"):
                _leaves(output.get("value"), True, found)
    for change in document.get("resource_changes") or []:
        body = change.get("change") or {}
        _leaves(body.get("before"), body.get("before_sensitive"), found)
        _leaves(body.get("after"), body.get("after_sensitive"), found)
    for change in (document.get("output_changes") or {}).values():
        _leaves(change.get("before"), change.get("before_sensitive"), found)
        _leaves(change.get("after"), change.get("after_sensitive"), found)
    declared = ((document.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    for name, variable in (document.get("variables") or {}).items():
        if (declared.get(name) or {}).get("sensitive"):
            _leaves(variable.get("value"), True, found)
    return found


def _module(module: dict, found: list) -> None:
    for resource in module.get("resources") or []:
        _leaves(resource.get("values"), resource.get("sensitive_values"), found)
    for child in module.get("child_modules") or []:
        _module(child, found)


def _leaves(value, marker, found: list) -> None:
    """`marker` mirrors `value`: True marks the whole value, a dict or list marks parts of it."""
    if value is None or not marker:
        return
    if marker is True:
        if isinstance(value, dict):
            for item in value.values():
                _leaves(item, True, found)
        elif isinstance(value, list):
            for item in value:
                _leaves(item, True, found)
        elif not isinstance(value, bool):
            found.append(value)
    elif isinstance(marker, dict) and isinstance(value, dict):
        for key, sub in marker.items():
            _leaves(value.get(key), sub, found)
    elif isinstance(marker, list) and isinstance(value, list):
        for item, sub in zip(value, marker, strict=False):
            _leaves(item, sub, found)
