"""The stack's API Gateway stand-in on routes with Chalice's IAMAuthorizer (authorization AWS_IAM): a
SigV4 signature recomputed from the secret moto issued decides who called, and the caller's ARN reaches
the function in `requestContext.identity`; anything else is refused as API Gateway refuses it."""

from __future__ import annotations

import json

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.local.stack_test_app import recorder


def signed_post(url: str, credentials: Credentials, body: bytes = b"{}", service: str = "execute-api",
                tamper: bytes | None = None) -> requests.Response:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    return requests.post(url, data=tamper if tamper is not None else body, headers=dict(request.headers), timeout=30)


def iam_user_key(stack, name: str) -> tuple[str, Credentials]:
    iam = stack.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def test_a_call_signed_with_an_iam_users_key_reaches_the_function_with_the_users_arn(stack):
    arn, credentials = iam_user_key(stack, "ada")

    answer = signed_post(f"{stack.api_url}/whoami", credentials, b'{"hello": 1}')

    assert answer.status_code == 200, answer.text
    assert answer.json()["userArn"] == arn == "arn:aws:iam::123456789012:user/ada"
    assert (answer.json()["accessKey"], answer.json()["accountId"]) == (credentials.access_key, "123456789012")


def test_an_assumed_role_session_is_the_callers_assumed_role_and_needs_its_session_token(stack):
    stack.client("iam").create_role(RoleName="approver", AssumeRolePolicyDocument="{}")
    session = stack.client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/approver",
                                              RoleSessionName="grace")["Credentials"]

    answer = signed_post(f"{stack.api_url}/whoami", Credentials(session["AccessKeyId"], session["SecretAccessKey"],
                                                                session["SessionToken"]))
    without_token = signed_post(f"{stack.api_url}/whoami", Credentials(session["AccessKeyId"],
                                                                       session["SecretAccessKey"]))

    assert answer.status_code == 200 and answer.json()["userArn"] == \
        "arn:aws:sts::123456789012:assumed-role/approver/grace"
    assert without_token.status_code == 403


def test_unsigned_wrongly_signed_or_unknown_callers_are_refused_as_api_gateway_refuses_them(stack):
    _, credentials = iam_user_key(stack, "mallory")
    url = f"{stack.api_url}/whoami"
    recorder.clear()

    answers = {
        "unsigned": requests.post(url, json={}, timeout=30),
        "wrong secret": signed_post(url, Credentials(credentials.access_key, "x" * 40)),
        "body changed after signing": signed_post(url, credentials, b'{"amount": 1}', tamper=b'{"amount": 9}'),
        "another service": signed_post(url, credentials, service="s3"),
        "key moto never issued": signed_post(url, Credentials("testing", "testing")),
    }

    assert {what: (a.status_code, a.headers.get("x-amzn-ErrorType")) for what, a in answers.items()} == {
        "unsigned": (403, "MissingAuthenticationTokenException"),
        "wrong secret": (403, "InvalidSignatureException"),
        "body changed after signing": (403, "InvalidSignatureException"),
        "another service": (403, "InvalidSignatureException"),
        "key moto never issued": (403, "UnrecognizedClientException"),
    }
    assert answers["unsigned"].json() == {"message": "Missing Authentication Token"}
    assert recorder.seen("whoami") == []  # the function never ran


def test_a_route_without_an_authorizer_needs_no_signature(stack):
    answer = requests.get(f"{stack.api_url}/ping", timeout=30)
    assert (answer.status_code, json.loads(answer.text)) == (200, {"pong": True})
