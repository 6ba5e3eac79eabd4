"""The OIDC issuer's keys (chalicelib/adapters/oidc_keys.py), fetched over HTTP from the GitHub
stand-in's issuer: once per container, again for a key id it does not know (GitHub rotates keys), and
not more than once a minute however many unknown key ids arrive."""

from __future__ import annotations

import pytest

from chalicelib.adapters.oidc_keys import OidcKeys
from chalicelib.core.errors import DependencyFailed
from tfpipe.local.github.oidc import ISSUER_PATH, ActionsOidc, new_key
from tfpipe.local.wsgi_server import BackgroundServer


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer():
    """The stand-in issuer on loopback, counting the requests it answers."""
    requests_seen: list[str] = []

    def app(environ, start):
        requests_seen.append(environ["PATH_INFO"])
        return oidc(environ, start)

    server = BackgroundServer(app, name="oidc").start()
    oidc = ActionsOidc(server.url + ISSUER_PATH)
    yield oidc, requests_seen
    server.stop()


def test_keys_are_fetched_once_through_the_discovery_document_and_kept(issuer):
    oidc, seen = issuer
    keys = OidcKeys(oidc.issuer, clock=Clock())
    assert keys.key(oidc.kid) is not None
    assert keys.key(oidc.kid) is not None
    assert seen == [f"{ISSUER_PATH}/.well-known/openid-configuration", f"{ISSUER_PATH}/.well-known/jwks"]


def test_a_rotated_key_is_found_by_fetching_again_but_unknown_ids_refetch_at_most_once_a_minute(issuer):
    oidc, seen = issuer
    clock = Clock()
    keys = OidcKeys(oidc.issuer, clock=clock)
    keys.key(oidc.kid)
    oidc.key, oidc.kid = new_key(), "rotated"  # the issuer rotates its key

    assert [keys.key("made-up-1"), keys.key("made-up-2"), keys.key("rotated")] == [None, None, None]
    assert len(seen) == 2  # within a minute of the last fetch: nothing asked
    clock.now += 61
    assert keys.key("rotated") is not None
    assert len(seen) == 4


def test_an_issuer_that_does_not_answer_is_a_dependency_failure_naming_it():
    keys = OidcKeys("http://127.0.0.1:9/_services/token")
    with pytest.raises(DependencyFailed, match="openid-configuration"):
        keys.key("any")
