"""GitHub Actions' OIDC token checks that the intake's tests do not reach through the API."""

from __future__ import annotations

import jwt
import pytest

from chalicelib.core import actions_token
from chalicelib.core.errors import Unauthenticated
from tfpipe.local.github.oidc import ActionsOidc

ISSUER = "https://token.actions.example/_services/token"
DOING = "authenticating the dispatch request"


@pytest.fixture(scope="module")
def oidc() -> ActionsOidc:
    return ActionsOidc(ISSUER)


def verify(oidc: ActionsOidc, token: str):
    public = oidc.key.public_key()
    return actions_token.verify(token, lambda kid: public if kid == oidc.kid else None, ISSUER, "tfpipe", DOING)


def test_a_right_token_gives_its_claims(oidc):
    token = verify(oidc, oidc.mint("acme/infra", "refs/heads/main", "a" * 40, event_name="workflow_dispatch"))
    assert (token.repository, token.ref, token.sha, token.event_name) == ("acme/infra", "refs/heads/main", "a" * 40,
                                                                          "workflow_dispatch")


def test_an_hs256_token_is_refused_before_any_key_is_used(oidc):
    claims = jwt.decode(oidc.mint("acme/infra", "refs/heads/main", "a" * 40), options={"verify_signature": False})
    forged = jwt.encode(claims, "a-shared-secret-as-long-as-hs256-wants", algorithm="HS256", headers={"kid": oidc.kid})
    with pytest.raises(Unauthenticated, match="signed with 'HS256'; accepted: RS256 only"):
        verify(oidc, forged)


@pytest.mark.parametrize(("header", "named"), [
    (None, "no Authorization header"),
    ("Basic dXNlcjpwYXNz", "not `Bearer <token>`"),
    ("Bearer not-a-jwt", "not a JWT"),
])
def test_a_missing_or_malformed_bearer_says_what_to_send(oidc, header, named):
    with pytest.raises(Unauthenticated, match=named) as refused:
        verify(oidc, actions_token.bearer(header, DOING, "tfpipe"))
    assert "id-token: write" in str(refused.value) or "JWT" in str(refused.value)


def test_a_token_of_another_issuer_is_refused_naming_it(oidc):
    other = ActionsOidc("https://evil.example")
    other.key, other.kid = oidc.key, oidc.kid  # even signed with the right key
    with pytest.raises(Unauthenticated, match=r"wrong issuer 'https://evil\.example'"):
        verify(oidc, other.mint("acme/infra", "refs/heads/main", "a" * 40))


def test_a_token_without_the_claims_tfpipe_checks_is_refused(oidc):
    token = jwt.encode({"iss": ISSUER, "aud": "tfpipe", "iat": 1, "exp": 4102444800, "repository": "acme/infra"},
                       oidc.key, algorithm="RS256", headers={"kid": oidc.kid})
    with pytest.raises(Unauthenticated, match=r"no '(ref|sha)' claim"):
        verify(oidc, token)
