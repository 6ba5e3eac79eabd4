"""Which secrets a repository's Terraform receives: declared in the pipeline's settings, each under the
repository's own prefix; a name that could leave it stops the settings from loading."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.repository_secrets import RepositorySecrets, is_under
from chalicelib.settings import Settings, SettingsError


def settings(declared: object, **extra: str) -> Settings:
    return Settings.from_env({"TFPIPE_STAGE": "prod", "TFPIPE_REPOSITORY_SECRETS": json.dumps(declared), **extra})


def test_secrets_resolve_under_the_repositorys_prefix_most_precise_declaration_winning():
    got = settings({"Acme/Infra": {"*": {"db": "db", "api": "api"}, "pr-*": {"db": "preview/db"},
                                   "prod": {"api": "prod/api"}}}).repository_secrets
    assert got.for_environment("acme/infra", "prod") == {"api": "tfpipe/prod/repos/acme/infra/prod/api",
                                                         "db": "tfpipe/prod/repos/acme/infra/db"}
    assert got.for_environment("acme/infra", "pr-12") == {"api": "tfpipe/prod/repos/acme/infra/api",
                                                          "db": "tfpipe/prod/repos/acme/infra/preview/db"}
    assert got.for_environment("acme/other", "prod") == {}  # nothing declared: nothing handed over


def test_no_repository_gets_a_secret_unless_declared_and_the_prefix_follows_app_and_stage():
    assert settings({}).repository_secrets.for_environment("acme/infra", "prod") == {}
    custom = settings({"acme/infra": {"*": {"x": "y"}}}, TFPIPE_REPOSITORY_SECRETS_PREFIX="org/repos")
    assert custom.repository_secrets.for_environment("acme/infra", "prod") == {"x": "org/repos/acme/infra/y"}


@pytest.mark.parametrize(("declared", "message"), [
    ({"acme/infra": {"*": {"token": "../../github-token"}}}, r"\[acme/infra\]\[\*\]\[token\]: '\.\./\.\./github-token'"),
    ({"acme/infra": {"prod": {"token": "/tfpipe/prod/github-token"}}}, r"\[prod\]\[token\].*without a leading '/'"),
    ({"acme/infra": {"prod": {"token": "a//b"}}}, "empty parts"),
    ({"acme/infra": {"prod": {"token": "a/./b"}}}, "relative to the repository's prefix"),
    ({"acme/infra": {"prod": {"bad-name!": "db"}}}, "not a Terraform variable name"),
    ({"acme": {"prod": {"db": "db"}}}, "not a repository"),
    ({"acme/infra": ["db"]}, "expected an object of environment"),
    (["acme/infra"], "expected a JSON object"),
])
def test_a_secret_name_that_could_leave_the_prefix_stops_the_settings_saying_where(declared, message):
    with pytest.raises(SettingsError, match=message) as caught:
        settings(declared)
    assert "TFPIPE_REPOSITORY_SECRETS" in str(caught.value)


def test_malformed_json_is_named():
    with pytest.raises(SettingsError, match="TFPIPE_REPOSITORY_SECRETS is not JSON"):
        Settings.from_env({"TFPIPE_REPOSITORY_SECRETS": "{acme"})


def test_is_under_refuses_traversal_and_other_repositories():
    prefix = RepositorySecrets(prefix="tfpipe/prod/repos/").repository_prefix("acme/infra")
    assert is_under("tfpipe/prod/repos/acme/infra/db", prefix)
    for name in ("tfpipe/prod/repos/acme/infra/../other/db", "tfpipe/prod/repos/acme/infrastructure/db",
                 "tfpipe/prod/github-token", "tfpipe/prod/repos/acme/infra/"):
        assert not is_under(name, prefix), name
