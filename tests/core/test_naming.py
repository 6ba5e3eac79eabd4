"""State keys in the state bucket: one per repository, project and environment."""

from __future__ import annotations

from chalicelib.core.naming import ephemeral_state_prefix, long_lived_state_key


def test_the_repository_roots_state_keys_are_unchanged_by_projects():
    assert long_lived_state_key("acme/infra", "prod") == "acme/infra/env/prod/terraform.tfstate"
    assert long_lived_state_key("acme/infra", "prod", project="") == "acme/infra/env/prod/terraform.tfstate"
    assert ephemeral_state_prefix("acme/infra") == "acme/infra/ephemeral"


def test_a_named_project_has_its_own_segment_after_the_repository():
    assert long_lived_state_key("acme/infra", "prod", "network") == "acme/infra/network/env/prod/terraform.tfstate"
    assert ephemeral_state_prefix("acme/infra", "stacks/dns") == "acme/infra/stacks/dns/ephemeral"
