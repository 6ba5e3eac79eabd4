"""GitHub Actions' OIDC token issuer, stood in: what `POST /dispatch` verifies locally.

An RSA key is made when the issuer starts (a restarted stack's tokens are new ones); the issuer is
`<github stand-in>/_services/token` (GitHub Enterprise Server's shape) and serves, as GitHub does:

    GET {issuer}/.well-known/openid-configuration   issuer, jwks_uri, claims_supported
    GET {issuer}/.well-known/jwks                   the public key (RS256)
    GET {issuer}/idtoken?audience=&repository=&ref=[&sha=][&event_name=][&actor=]
                                                    {"value": <jwt>}, like Actions' ACTIONS_ID_TOKEN_REQUEST_URL

`idtoken` stands in for the job asking: the job is named by its query (repository, ref, and the sha it
runs on; the ref's head in the stand-in's repository when no sha is given). Tests mint tokens with
`mint()` directly, including expired ones.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from tfpipe.local.github import git_repos

ISSUER_PATH = "/_services/token"
LIFETIME_SECONDS = 300
CLAIMS = ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_owner",
          "run_id", "run_number", "run_attempt", "actor", "workflow", "workflow_ref", "event_name", "ref_type",
          "job_workflow_ref", "runner_environment"]


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class ActionsOidc:
    def __init__(self, issuer: str, git_root: Path | None = None):
        self.issuer = issuer.rstrip("/")
        self.git_root = git_root
        self.key = new_key()
        self.kid = uuid.uuid4().hex

    # -- what a job gets -------------------------------------------------------------------------
    def mint(self, repository: str, ref: str, sha: str, audience: str = "tfpipe", event_name: str = "push",
             actor: str = "octocat", issued_at: float | None = None, lifetime: int = LIFETIME_SECONDS,
             key: rsa.RSAPrivateKey | None = None, **claims: object) -> str:
        """A token as Actions mints it for a job of `repository` on `ref` at `sha`; `key` signs it with
        another key under this issuer's key id (a forgery), `issued_at` in the past makes an old one."""
        now = int(time.time() if issued_at is None else issued_at)
        workflow_ref = f"{repository}/.github/workflows/tfpipe.yml@{ref}"
        payload = {
            "iss": self.issuer, "aud": audience, "sub": f"repo:{repository}:ref:{ref}", "jti": str(uuid.uuid4()),
            "iat": now, "nbf": now - 5, "exp": now + lifetime, "repository": repository,
            "repository_owner": repository.split("/")[0], "ref": ref, "sha": sha, "event_name": event_name,
            "ref_type": "tag" if ref.startswith("refs/tags/") else "branch", "actor": actor, "workflow": "tfpipe",
            "workflow_ref": workflow_ref, "job_workflow_ref": workflow_ref, "run_id": "1", "run_number": "1",
            "run_attempt": "1", "runner_environment": "github-hosted", **claims,
        }
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def configuration(self) -> dict:
        return {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/.well-known/jwks",
                "subject_types_supported": ["public", "pairwise"], "response_types_supported": ["id_token"],
                "claims_supported": CLAIMS, "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"]}

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    # -- HTTP ------------------------------------------------------------------------------------
    def handles(self, path: str) -> bool:
        return path == ISSUER_PATH or path.startswith(ISSUER_PATH + "/")

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path.removeprefix(ISSUER_PATH)
        if request.method != "GET":
            answer = {"message": "Method Not Allowed"}, 405
        elif path == "/.well-known/openid-configuration":
            answer = self.configuration(), 200
        elif path == "/.well-known/jwks":
            answer = self.jwks(), 200
        elif path == "/idtoken":
            answer = self._idtoken(request)
        else:
            answer = {"message": "Not Found"}, 404
        body, status = answer
        return Response(json.dumps(body), status=status, content_type="application/json")(environ, start_response)

    def _idtoken(self, request: Request) -> tuple[dict, int]:
        args = request.args
        repository, ref = args.get("repository", ""), args.get("ref", "")
        if not repository or not ref.startswith("refs/"):
            return {"message": "name the job: repository=<owner/name>&ref=refs/heads/<branch> (sha optional)"}, 400
        sha = args.get("sha") or self._head(repository, ref)
        if not sha:
            return {"message": f"{ref} does not exist in {repository}; pass sha= or push it first"}, 404
        extra = {k: args[k] for k in ("event_name", "actor") if args.get(k)}
        return {"value": self.mint(repository, ref, sha, audience=args.get("audience") or "tfpipe", **extra)}, 200

    def _head(self, repository: str, ref: str) -> str | None:
        if self.git_root is None:
            return None
        try:
            path = git_repos.repository_path(self.git_root, repository)
        except ValueError:
            return None
        return git_repos.resolve(path, ref) if (path / "HEAD").exists() else None


@contextlib.contextmanager
def serving_alone() -> Iterator[ActionsOidc]:
    """An issuer on a loopback port of its own, outside a stack (tests of the intake and the sample script);
    the issuer URL needs the port, so the server starts before the issuer exists."""
    from tfpipe.local.wsgi_server import BackgroundServer

    server = BackgroundServer(lambda environ, start: issuer(environ, start), name="oidc").start()
    issuer = ActionsOidc(server.url + ISSUER_PATH)
    try:
        yield issuer
    finally:
        server.stop()
