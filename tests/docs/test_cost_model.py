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
