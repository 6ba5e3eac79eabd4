"""A structural check of Amazon States Language definitions (the subset tfpipe uses, checked fully).

No maintained ASL validator is on PyPI (statelint is Ruby) and moto does not implement
ValidateStateMachineDefinition, so this walks the definition the way the spec reads: every target
exists, every state is reachable, terminal states are terminal, Task, Retry, Catch, Choice and Wait
fields are well-formed. It answers the list of problems, empty when the definition is valid.
"""

from __future__ import annotations

TOP_LEVEL = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
TERMINAL = {"Succeed", "Fail"}
COMMON = {"Type", "Comment", "InputPath", "OutputPath"}
FIELDS = {
    "Task": COMMON | {"Resource", "Parameters", "ResultPath", "ResultSelector", "Retry", "Catch", "Next", "End",
                      "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"},
    "Pass": COMMON | {"Parameters", "Result", "ResultPath", "Next", "End"},
    "Choice": COMMON | {"Choices", "Default"},
    "Wait": COMMON | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Next", "End"},
    "Succeed": COMMON,
    "Fail": {"Type", "Comment", "Error", "Cause", "ErrorPath", "CausePath"},
}
RETRY_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"}
CATCH_FIELDS = {"ErrorEquals", "ResultPath", "Next"}
COMPARATORS = {"StringEquals", "BooleanEquals", "NumericEquals", "IsString", "IsNull", "IsPresent",
               "NumericGreaterThan", "NumericLessThan", "StringMatches"}


def _check_paths(where: str, parameters: object, problems: list[str]) -> None:
    if isinstance(parameters, dict):
        for key, value in parameters.items():
            if key.endswith(".$") and not (isinstance(value, str) and value.startswith("$")):
                problems.append(f"{where}: {key} must be a path starting with $, got {value!r}")
            _check_paths(where, value, problems)


def _check_errors(where: str, clause: dict, problems: list[str]) -> None:
    errors = clause.get("ErrorEquals")
    if not isinstance(errors, list) or not errors or not all(isinstance(e, str) and e for e in errors):
        problems.append(f"{where}: ErrorEquals must be a non-empty list of error names")
    elif "States.ALL" in errors and len(errors) > 1:
        problems.append(f"{where}: States.ALL must stand alone")


def _check_retry(where: str, retriers: object, problems: list[str]) -> None:
    if not isinstance(retriers, list):
        problems.append(f"{where}: Retry must be a list")
        return
    for i, retrier in enumerate(retriers):
        at = f"{where}.Retry[{i}]"
        unknown = set(retrier) - RETRY_FIELDS
        if unknown:
            problems.append(f"{at}: unknown fields {sorted(unknown)}")
        _check_errors(at, retrier, problems)
        if not isinstance(retrier.get("IntervalSeconds", 1), int) or retrier.get("IntervalSeconds", 1) < 1:
            problems.append(f"{at}: IntervalSeconds must be a positive integer")
        if not isinstance(retrier.get("MaxAttempts", 3), int) or retrier.get("MaxAttempts", 3) < 0:
            problems.append(f"{at}: MaxAttempts must be a non-negative integer")
        if retrier.get("BackoffRate", 2.0) < 1.0:
            problems.append(f"{at}: BackoffRate must be at least 1.0")
        if retrier.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
            problems.append(f"{at}: JitterStrategy must be FULL or NONE")


def _check_catch(where: str, catchers: object, states: dict, problems: list[str]) -> list[str]:
    if not isinstance(catchers, list):
        problems.append(f"{where}: Catch must be a list")
        return []
    targets = []
    for i, catcher in enumerate(catchers):
        at = f"{where}.Catch[{i}]"
        unknown = set(catcher) - CATCH_FIELDS
        if unknown:
            problems.append(f"{at}: unknown fields {sorted(unknown)}")
        _check_errors(at, catcher, problems)
        if "States.ALL" in catcher.get("ErrorEquals", []) and i != len(catchers) - 1:
            problems.append(f"{at}: States.ALL must be the last catcher")
        targets.append(catcher.get("Next"))
    return targets


def _check_rule(at: str, rule: dict, problems: list[str]) -> None:
    """One comparison on a path, or `And`/`Or` of a non-empty list of them."""
    combined = [key for key in ("And", "Or") if key in rule]
    if combined:
        parts = rule[combined[0]]
        if len(combined) != 1 or not isinstance(parts, list) or not parts or set(rule) & COMPARATORS:
            problems.append(f"{at}: {combined[0]} takes a non-empty list of rules and nothing else")
            return
        for j, part in enumerate(parts):
            _check_rule(f"{at}.{combined[0]}[{j}]", part, problems)
        return
    if not str(rule.get("Variable", "")).startswith("$"):
        problems.append(f"{at}: Variable must be a path")
    if len(set(rule) & COMPARATORS) != 1:
        problems.append(f"{at}: exactly one comparison operator expected")


def _check_choice(where: str, state: dict, problems: list[str]) -> list[str]:
    choices = state.get("Choices")
    if not isinstance(choices, list) or not choices:
        problems.append(f"{where}: Choices must be a non-empty list")
        return []
    targets = []
    for i, rule in enumerate(choices):
        _check_rule(f"{where}.Choices[{i}]", rule, problems)
        targets.append(rule.get("Next"))
    if "Default" in state:
        targets.append(state["Default"])
    return targets


def validate(definition: dict) -> list[str]:
    problems: list[str] = []
    if not isinstance(definition, dict):
        return ["the definition must be a JSON object"]
    unknown = set(definition) - TOP_LEVEL
    if unknown:
        problems.append(f"unknown top-level fields {sorted(unknown)}")
    states = definition.get("States")
    if not isinstance(states, dict) or not states:
        return [*problems, "States must be a non-empty object"]
    if definition.get("StartAt") not in states:
        problems.append(f"StartAt {definition.get('StartAt')!r} is not a state")
    edges: dict[str, list[str]] = {}
    for name, state in states.items():
        where = f"state {name}"
        if not 0 < len(name) <= 80:
            problems.append(f"{where}: names are 1 to 80 characters")
        kind = state.get("Type")
        if kind not in TYPES:
            problems.append(f"{where}: unknown Type {kind!r}")
            continue
        if kind in FIELDS:
            unknown = set(state) - FIELDS[kind]
            if unknown:
                problems.append(f"{where}: fields not allowed in a {kind} state: {sorted(unknown)}")
        targets: list[str] = []
        if kind in TERMINAL or kind == "Choice":
            if "Next" in state or "End" in state:
                problems.append(f"{where}: a {kind} state has neither Next nor End")
        elif ("Next" in state) == bool(state.get("End")):
            problems.append(f"{where}: exactly one of Next or End:true")
        if "Next" in state:
            targets.append(state["Next"])
        if kind == "Choice":
            targets += _check_choice(where, state, problems)
        if kind == "Task":
            if not isinstance(state.get("Resource"), str) or not state["Resource"]:
                problems.append(f"{where}: Resource must be a non-empty string")
            _check_paths(where, state.get("Parameters"), problems)
            _check_paths(where, state.get("ResultSelector"), problems)
            for a, b in (("TimeoutSeconds", "TimeoutSecondsPath"), ("HeartbeatSeconds", "HeartbeatSecondsPath")):
                if a in state and b in state:
                    problems.append(f"{where}: only one of {a} and {b}")
            timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
            for field, value in (("TimeoutSeconds", timeout), ("HeartbeatSeconds", heartbeat)):
                if value is not None and (not isinstance(value, int) or value < 1):
                    problems.append(f"{where}: {field} must be a positive integer")
            if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
                problems.append(f"{where}: HeartbeatSeconds must be smaller than TimeoutSeconds")
            if "Retry" in state:
                _check_retry(where, state["Retry"], problems)
        if "Catch" in state:
            targets += _check_catch(where, state["Catch"], states, problems)
        if kind == "Wait" and len({"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} & set(state)) != 1:
            problems.append(f"{where}: exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
        if kind == "Fail" and not state.get("Error") and not state.get("ErrorPath"):
            problems.append(f"{where}: a Fail state names its Error")
        for target in targets:
            if target not in states:
                problems.append(f"{where}: target {target!r} is not a state")
        edges[name] = [t for t in targets if t in states]
    seen, todo = set(), [definition.get("StartAt")]
    while todo:
        name = todo.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        todo.extend(edges.get(name, []))
    for name in states:
        if name not in seen:
            problems.append(f"state {name}: unreachable from StartAt")
    if not any(states[n].get("Type") in TERMINAL or states[n].get("End") for n in seen):
        problems.append("no terminal state is reachable")
    return problems
