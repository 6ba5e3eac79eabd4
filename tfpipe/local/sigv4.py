"""API Gateway's AWS_IAM authorization, stood in: who signed a request to a route whose Chalice route
has an `IAMAuthorizer`.

The signature is recomputed with botocore's own SigV4 code from the signing credentials' secret,
which moto knows: access keys of IAM users made with CreateAccessKey (the caller is the user's ARN),
and temporary credentials from STS AssumeRole (the caller is `arn:aws:sts::<account>:assumed-role/
<role>/<session>`, and the request's X-Amz-Security-Token must be that session's). Credentials moto
never issued, such as the stack's own fake `testing` keys, are refused as AWS refuses a key it does
not know; the embedded stack makes an operator user for the CLI (stack.py, `operator` in stack.json).
What the caller may invoke (an `execute-api:Invoke` policy) is not evaluated here: in AWS, IAM does.
Refusals answer as API Gateway does: 403 with its message and `x-amzn-ErrorType`.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.wrappers import Request

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 300  # API Gateway refuses a signature more than 5 minutes off
_AUTHORIZATION = re.compile(r"^AWS4-HMAC-SHA256\s+(.*)$", re.S)


@dataclass(frozen=True)
class SigningKey:
    secret_access_key: str
    arn: str
    account_id: str
    user_id: str
    session_token: str | None = None


@dataclass(frozen=True)
class Caller:
    """What API Gateway puts in `requestContext.identity` for an IAM-authorized call."""

    access_key: str
    arn: str
    account_id: str
    user_id: str

    def identity(self) -> dict:
        return {"accessKey": self.access_key, "accountId": self.account_id, "caller": self.user_id,
                "user": self.user_id, "userArn": self.arn}


class Refused(Exception):
    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def moto_signing_key(access_key_id: str) -> SigningKey | None:
    """The secret behind `access_key_id` as moto issued it (IAM user keys, STS sessions), else None."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends
    from moto.utilities.utils import PARTITION_NAMES

    for account_id, account in list(iam_backends.items()):
        for partition in PARTITION_NAMES:
            key = account[partition].access_keys.get(access_key_id)
            if key is not None and key.status == "Active" and key.user_name:
                user = account[partition].get_user(key.user_name)
                return SigningKey(key.secret_access_key, user.arn, account_id, user.id)
    for account in list(sts_backends.values()):
        for partition in PARTITION_NAMES:
            role = account[partition].get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                return SigningKey(role.secret_access_key, role.arn, role.account_id,
                                  f"{access_key_id}:{role.session_name}", role.session_token)
    return None


class SigV4Verifier:
    def __init__(self, signing_key: Callable[[str], SigningKey | None] = moto_signing_key,
                 clock: Callable[[], float] = time.time):
        self._signing_key = signing_key
        self._clock = clock

    def caller(self, request: Request) -> Caller:
        """The caller who signed `request`; Refused as API Gateway refuses it otherwise."""
        header = request.headers.get("Authorization")
        if not header:
            raise Refused("MissingAuthenticationTokenException", "Missing Authentication Token")
        fields = _fields(header)
        credential, signed, signature = fields.get("Credential"), fields.get("SignedHeaders"), fields.get("Signature")
        scope = (credential or "").split("/")
        if not (credential and signed and signature) or len(scope) != 5 or scope[4] != "aws4_request":
            raise Refused("IncompleteSignatureException",
                          f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
                          f"of a {ALGORITHM} signature. Authorization={header[:80]}")
        access_key, day, region, service, _ = scope
        if service != "execute-api":
            raise Refused("InvalidSignatureException",
                          f"Credential should be scoped to correct service: 'execute-api', not '{service}'.")
        amz_date = request.headers.get("X-Amz-Date", "")
        try:
            signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            raise Refused("IncompleteSignatureException", "Authorization header requires existence of either a "
                          "'X-Amz-Date' or a 'Date' header.") from None
        if not amz_date.startswith(day):
            raise Refused("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                          "version of date from HTTP")
        now = self._clock()
        if abs(now - signed_at) > MAX_SKEW_SECONDS:
            raise Refused("InvalidSignatureException", f"Signature expired: {amz_date} is now earlier or later than "
                          f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))} (+/- 5 min.)")
        key = self._signing_key(access_key)
        if key is None:
            raise Refused("UnrecognizedClientException", "The security token included in the request is invalid.")
        token = request.headers.get("X-Amz-Security-Token")
        if key.session_token is not None and token != key.session_token:
            raise Refused("UnrecognizedClientException", "The security token included in the request is invalid.")
        body = request.get_data()
        claimed = request.headers.get("X-Amz-Content-SHA256")
        if claimed is not None and claimed != hashlib.sha256(body).hexdigest():
            raise Refused("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match "
                          "what was computed.")
        names = [n for n in signed.lower().split(";") if n]
        headers = {name: request.headers.get(name, "") for name in names}
        if "host" not in names:
            raise Refused("InvalidSignatureException", "'Host' must be a signed header.")
        aws_request = AWSRequest(method=request.method, url=request.url, data=body, headers=headers)
        aws_request.context["timestamp"] = amz_date
        auth = SigV4Auth(Credentials(access_key, key.secret_access_key, token), service, region)
        expected = auth.signature(auth.string_to_sign(aws_request, auth.canonical_request(aws_request)), aws_request)
        if not hmac.compare_digest(expected, signature):
            raise Refused("InvalidSignatureException",
                          "The request signature we calculated does not match the signature you provided. Check your "
                          "AWS Secret Access Key and signing method. Consult the service documentation for details.")
        return Caller(access_key, key.arn, key.account_id, key.user_id)


def _fields(header: str) -> dict[str, str]:
    match = _AUTHORIZATION.match(header.strip())
    if not match:
        return {}
    fields = {}
    for part in match.group(1).split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    return fields
