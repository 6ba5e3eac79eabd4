"""docs/cost.md counts state transitions from the state machines: every path it lists is a real path
through statemachines/<file> (each state leads to the next), ends in a terminal state, and the count
it states is the number of states on it."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from tests.infra.terraform_cli import REPO

COST = (REPO / "docs" / "cost.md").read_text()
PATH = re.compile(r"\(`(?P<file>[a-z-]+\.asl\.json)`\): (?P<states>[A-Za-z, \n]+?) = \*\*(?P<count>\d+)\*\*")


def successors(state: dict) -> set[str]:
    nexts = {state.get("Next"), state.get("Default")} | {c.get("Next") for c in state.get("Choices", [])}
    return {n for n in nexts if n}


def paths():
    found = [(m["file"], [s.strip() for s in m["states"].split(",")], int(m["count"])) for m in PATH.finditer(COST)]
    assert len(found) >= 4, "docs/cost.md lost its transition counts"
    return found


@pytest.mark.parametrize(("file", "states", "count"), paths(), ids=lambda v: v if isinstance(v, str) else None)
def test_cost_model_path_is_a_real_path_through_the_state_machine(file, states, count):
    definition = json.loads((REPO / "statemachines" / file).read_text())["States"]
    assert len(states) == count
    assert states[0] == json.loads((REPO / "statemachines" / file).read_text())["StartAt"]
    for here, there in itertools.pairwise(states):
        assert there in successors(definition[here]), f"{file}: {here} does not lead to {there}"
    assert definition[states[-1]]["Type"] in ("Succeed", "Fail")


def test_cost_model_arithmetic_adds_up():
    vcpu_second, gb_second, storage_gb_hour = 0.04048 / 3600, 0.004445 / 3600, 0.000111

    def fargate(seconds: int) -> float:  # 1 vCPU, 2 GB, 10 GB of ephemeral storage above the free 20
        return seconds * (vcpu_second + 2 * gb_second) + 10 * storage_gb_hour * seconds / 3600

    transition, invocation = 0.025 / 1000, 0.20 / 1e6 + 0.4 * 0.125 * 0.0000166667
    sqs_request, put, get, api, logs = 0.40 / 1e6, 0.005 / 1000, 0.0004 / 1000, 3.50 / 1e6, 200e3 / 1e9 * 0.50
    runs = {  # jobs, transitions, invocations, status events, PUTs, GETs, API requests
        "PLAN": ([150], 4, 8, 4, 7, 4, 1), "PLAN-APPLY": ([150, 180], 13, 18, 8, 12, 8, 2),
        "EPHEMERAL": ([210], 9, 13, 5, 8, 4, 1), "DESTROY": ([150], 10, 10, 4, 4, 3, 0),
    }
    totals = {name: sum(fargate(s) for s in jobs) + n * transition + calls * invocation + events * 3 * sqs_request
              + puts * put + gets * get + requests * api + logs
              for name, (jobs, n, calls, events, puts, gets, requests) in runs.items()}
    for seconds, stated in ((150, "$0.002103"), (180, "$0.002524"), (210, "$0.002945")):
        assert f"${fargate(seconds):.6f}" == stated and stated in COST
    # DynamoDB adds at most $0.00001 per run, below the rounding of the totals.
    for name, stated in (("PLAN", "$0.0024"), ("PLAN-APPLY", "$0.0052"), ("EPHEMERAL", "$0.0033"), ("DESTROY", "$0.0025")):
        assert f"${totals[name]:.4f}" == stated and f"**{stated}**" in COST, name
    assert f"${totals['EPHEMERAL'] + totals['DESTROY']:.4f}" == "$0.0058" and "**$0.0058**" in COST
    assert abs(0.016 / totals["PLAN"] - 6.7) < 0.2 and abs(0.032 / totals["PLAN-APPLY"] - 6.2) < 0.2
