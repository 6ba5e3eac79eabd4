"""GitHub Actions' OIDC token, the one way `POST /dispatch` is authenticated.

A workflow with `permissions: id-token: write` asks GitHub for a token minted for audience `tfpipe`
and sends it as `Authorization: Bearer <jwt>`. It is accepted only when it is signed (RS256) by one
of the issuer's published keys, is for our audience and issuer, is within its lifetime (a minute of
leeway for clocks), and then only for what it says: its `repository` must be the request's, its
`ref` the repository's default branch (a `push` to it, or `workflow_dispatch` run on it; never a pull
request's `refs/pull/<n>/merge` or another branch), and the request's commit must be the token's
`sha` (a job dispatches only the commit it runs on). Pure: the keys are handed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from chalicelib.core.errors import Unauthenticated

ALGORITHM = "RS256"
LEEWAY_SECONDS = 60
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "repository", "ref", "sha")
HOW = ("send GitHub Actions' OIDC token as `Authorization: Bearer <token>` (the job needs `permissions: "
       "id-token: write`; request it for audience `{audience}`)")


@dataclass(frozen=True)
class ActionsToken:
    """The claims tfpipe reads from a verified token."""

    repository: str
    ref: str
    sha: str
    event_name: str = ""
    workflow_ref: str = ""
    actor: str = ""

    @classmethod
    def from_claims(cls, claims: Mapping[str, object]) -> ActionsToken:
        return cls(**{name: str(claims.get(name) or "") for name in
                      ("repository", "ref", "sha", "event_name", "workflow_ref", "actor")})


def bearer(authorization: str | None, doing: str, audience: str) -> str:
    """The JWT of an `Authorization: Bearer <jwt>` header, else Unauthenticated saying what to send."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        what = "no Authorization header" if not authorization else "an Authorization header that is not `Bearer <token>`"
        raise Unauthenticated(f"{doing}: {what}; {HOW.format(audience=audience)}")
    return token.strip()


def verify(token: str, key_for: Callable[[str], object | None], issuer: str, audience: str,
           doing: str) -> ActionsToken:
    """The token's claims once its signature, issuer, audience and lifetime hold; Unauthenticated
    naming what did not (wrong audience, expired, bad signature, ...)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise Unauthenticated(f"{doing}: the bearer token is not a JWT ({exc}); {HOW.format(audience=audience)}") from None
    if header.get("alg") != ALGORITHM:
        raise Unauthenticated(f"{doing}: the token is signed with {header.get('alg')!r}; accepted: {ALGORITHM} only")
    kid = str(header.get("kid") or "")
    key = key_for(kid)
    if key is None:
        raise Unauthenticated(f"{doing}: bad signature: the token names key {kid!r}, which is not one of the keys "
                              f"{issuer} publishes")
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
                            leeway=LEEWAY_SECONDS, options={"require": list(REQUIRED_CLAIMS)})
    except jwt.InvalidSignatureError:
        raise Unauthenticated(f"{doing}: bad signature: the token is not signed by {issuer}'s key {kid!r}") from None
    except jwt.ExpiredSignatureError:
        raise Unauthenticated(f"{doing}: the token expired at {_claim_time(token, 'exp')}; request a new one "
                              "in the job that sends it") from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated(f"{doing}: the token is not valid yet (nbf/iat {_claim_time(token, 'nbf')}); "
                              "check the clock of the machine that minted it") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated(f"{doing}: wrong audience {_claim(token, 'aud')!r}; accepted: {audience!r} "
                              "(TFPIPE_OIDC_AUDIENCE; core.getIDToken(audience) in the workflow)") from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated(f"{doing}: wrong issuer {_claim(token, 'iss')!r}; accepted: {issuer!r} "
                              "(TFPIPE_OIDC_ISSUER)") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"{doing}: the token has no {exc.claim!r} claim; accepted: a GitHub Actions "
                              f"OIDC token (claims {', '.join(REQUIRED_CLAIMS)})") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"{doing}: the token was refused ({exc.__class__.__name__}: {exc})") from None
    return ActionsToken.from_claims(claims)


def require_repository(token: ActionsToken, repository: str, doing: str) -> None:
    if token.repository.lower() != repository.lower():
        raise Unauthenticated(f"{doing}: the token's repository claim is {token.repository!r}, the request is for "
                              f"{repository!r}; a workflow dispatches only for its own repository")


def require_default_branch(token: ActionsToken, default_branch: str, doing: str) -> None:
    expected = f"refs/heads/{default_branch}"
    if token.ref != expected:
        raise Unauthenticated(f"{doing}: the token's ref claim is {token.ref!r} (event {token.event_name or '?'}); "
                              f"accepted: {expected!r}, a workflow run on the default branch (push or "
                              "workflow_dispatch); pull requests reach tfpipe through its webhook")


def require_commit(token: ActionsToken, sha: str, commit: str, doing: str) -> None:
    if token.sha.lower() != sha.lower():
        raise Unauthenticated(f"{doing}: the request's commit {commit!r} is {sha[:12]}, the token's sha claim is "
                              f"{token.sha[:12]}; a workflow dispatches only the commit it runs on (GITHUB_SHA)")


def _claim(token: str, name: str) -> object:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get(name)
    except jwt.PyJWTError:
        return None


def _claim_time(token: str, name: str) -> str:
    value = _claim(token, name)
    if not isinstance(value, int | float):
        return "(no time)"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

