"""The GitHub stand-in's Actions OIDC issuer: its discovery document and keys verify the tokens its
`idtoken` endpoint hands a job, as GitHub's do (PyJWT's own JWKS client, over HTTP)."""

from __future__ import annotations

import jwt
import requests


def test_a_token_from_the_idtoken_endpoint_verifies_against_the_issuers_published_keys(stack):
    repository = "acme/oidc"
    sha = "a" * 40

    answer = requests.get(f"{stack.oidc_issuer}/idtoken", params={
        "audience": "tfpipe", "repository": repository, "ref": "refs/heads/main", "sha": sha}, timeout=10)
    configuration = requests.get(f"{stack.oidc_issuer}/.well-known/openid-configuration", timeout=10).json()
    token = answer.json()["value"]
    key = jwt.PyJWKClient(configuration["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="tfpipe", issuer=configuration["issuer"])

    assert configuration["issuer"] == stack.oidc_issuer == stack.env["TFPIPE_OIDC_ISSUER"]
    assert (claims["repository"], claims["ref"], claims["sha"]) == (repository, "refs/heads/main", sha)
    assert claims["exp"] > claims["iat"] and claims["sub"] == f"repo:{repository}:ref:refs/heads/main"


def test_the_idtoken_endpoint_refuses_a_job_it_cannot_name(stack):
    answer = requests.get(f"{stack.oidc_issuer}/idtoken", params={"audience": "tfpipe"}, timeout=10)
    assert answer.status_code == 400 and "repository=" in answer.json()["message"]
