"""Settings the pipeline refuses to start with (chalicelib/settings.py)."""

from __future__ import annotations

import json

import pytest

from chalicelib.settings import Settings, SettingsError, SharedAccount

PROD, PREVIEWS = "111111111111", "222222222222"


def settings(**env: str) -> Settings:
    return Settings.from_env({f"TFPIPE_{k}": v for k, v in env.items()})


def test_previews_in_a_long_lived_environments_account_stop_the_pipeline_naming_both_settings_and_the_way_out():
    with pytest.raises(SettingsError) as caught:
        settings(ENVIRONMENTS=json.dumps({"prod": PROD, "staging": PREVIEWS}), EPHEMERAL_ACCOUNT_ID=PROD)

    message = str(caught.value)
    assert f"TFPIPE_EPHEMERAL_ACCOUNT_ID {PROD} is also the account of long-lived environment prod " \
           "(TFPIPE_ENVIRONMENTS)" in message
    assert "TFPIPE_EPHEMERAL_SHARED_ACCOUNT=allow" in message and "staging" not in message


def test_previews_may_share_a_long_lived_account_when_the_operator_allows_it():
    shared = settings(ENVIRONMENTS=json.dumps({"prod": PROD}), EPHEMERAL_ACCOUNT_ID=PROD,
                      EPHEMERAL_SHARED_ACCOUNT="allow")

    assert shared.ephemeral_shared_account is SharedAccount.ALLOW


def test_previews_in_their_own_account_start_without_being_allowed_anything():
    own = settings(ENVIRONMENTS=json.dumps({"prod": PROD}), EPHEMERAL_ACCOUNT_ID=PREVIEWS)

    assert own.ephemeral_shared_account is SharedAccount.REFUSE


def test_a_misspelt_shared_account_switch_is_refused_not_read_as_allow():
    with pytest.raises(SettingsError, match="TFPIPE_EPHEMERAL_SHARED_ACCOUNT: got 'yes'; accepted: refuse, allow"):
        settings(ENVIRONMENTS=json.dumps({"prod": PROD}), EPHEMERAL_ACCOUNT_ID=PROD, EPHEMERAL_SHARED_ACCOUNT="yes")
