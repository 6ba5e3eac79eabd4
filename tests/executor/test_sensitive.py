"""Finding what Terraform marks sensitive in `show -json` documents (shapes as Terraform 1.11 writes them)."""

from __future__ import annotations

from executor.sensitive import sensitive_values


def test_plan_document_sensitive_leaves_are_found_and_nothing_else():
    plan = {
        "variables": {"db_password": {"value": "var-secret"}, "region": {"value": "eu-west-1"}},
        "configuration": {"root_module": {"variables": {"db_password": {"sensitive": True}, "region": {}}}},
        "planned_values": {"root_module": {
            "resources": [{"values": {"name": "db", "password": "planned-secret"},
                           "sensitive_values": {"password": True}}],
            "child_modules": [{"resources": [{"values": {"tags": {"k": "tag-secret", "v": "plain"}},
                                              "sensitive_values": {"tags": {"k": True}}}]}]}},
        "prior_state": {"values": {"root_module": {"resources": [
            {"values": {"items": ["a-plain", "list-secret"]}, "sensitive_values": {"items": [False, True]}}]}}},
        "resource_changes": [{"change": {"before": {"token": "old-secret"}, "before_sensitive": {"token": True},
                                         "after": {"token": "new-secret", "id": "i-1"},
                                         "after_sensitive": {"token": True}}}],
        "output_changes": {"conn": {"after": {"user": "u", "pass": "output-secret"}, "after_sensitive": True}},
    }
    found = set(sensitive_values(plan))
    assert found == {"var-secret", "planned-secret", "tag-secret", "list-secret", "old-secret", "new-secret",
                     "u", "output-secret"}


def test_state_document_sensitive_outputs_are_found():
    state = {"values": {"outputs": {"url": {"sensitive": False, "value": "https://x"},
                                    "key": {"sensitive": True, "value": "state-secret"}},
                        "root_module": {}}}
    assert sensitive_values(state) == ["state-secret"]


def test_an_empty_state_has_nothing_sensitive():
    assert sensitive_values({"format_version": "1.0"}) == []
