"""The executor's own settings, read once from the environment."""

from __future__ import annotations

import pytest
from executor.config import ExecutorConfig

from chalicelib.settings import SettingsError


def test_defaults_and_overrides_are_read_from_tfpipe_variables():
    config = ExecutorConfig.from_env({"TFPIPE_STATE_BUCKET": "state", "TFPIPE_JOB_HEARTBEAT": "30s",
                                      "TFPIPE_JOB_PHASE_TIMEOUT": "2h", "TFPIPE_S3_USE_PATH_STYLE": "true"})
    assert config.settings.state_bucket == "state"
    assert (config.heartbeat_seconds, config.phase_timeout_seconds, config.s3_use_path_style) == (30, 7200, True)
    assert ExecutorConfig.from_env({}).lock_timeout_seconds == 300


def test_a_bad_duration_is_refused_naming_what_was_read():
    with pytest.raises(SettingsError, match="executor's settings"):
        ExecutorConfig.from_env({"TFPIPE_JOB_HEARTBEAT": "often"})
