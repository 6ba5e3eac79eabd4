"""`POST /dispatch` (GitHub Actions, authenticated by its OIDC token) and dispatch webhooks."""

from __future__ import annotations

import copy
import json
import time

import pytest

from chalicelib.core.signature import sign
from tests.conftest import load_fixture
from tfpipe.local.github.oidc import new_key

SHA = "d" * 40


def request(**overrides) -> dict:
    body = {"repository": "acme/infra", "commit": SHA, "environment": {"name": "prod", "account_id": "123456789012"},
            "command": "apply", "user_email": "dev@acme.io", "request_id": "gha-run-42-1"}
    body.update(overrides)
    return body


def test_a_valid_request_starts_one_run_and_answers_its_id(pipeline):
    response = pipeline.dispatch(request())
    assert response.status_code == 202
    [run] = json.loads(response.body)["runs"]
    [execution] = pipeline.executions()
    assert execution["name"] == run["run_id"]
    assert execution["workflow"] == "plan-apply"
    assert execution["input"]["request"]["job_queue_arn"].endswith(":job-queue/tfpipe")


def test_a_dispatched_run_records_the_actions_actor_who_triggered_it(pipeline):
    pipeline.dispatch(request(), token=pipeline.actions_token(request(), actor="grace"))
    [execution] = pipeline.executions()
    assert execution["input"]["request"]["requested_by"] == ["grace"]


def test_a_retried_dispatch_with_the_same_request_id_starts_nothing_twice(pipeline):
    first = json.loads(pipeline.dispatch(request()).body)
    again = json.loads(pipeline.dispatch(request()).body)
    assert again["duplicate"] is True
    assert again["runs"] == first["runs"]
    assert len(pipeline.executions()) == 1


def test_an_identical_dispatch_without_a_request_id_is_the_same_request(pipeline):
    pipeline.dispatch(request(request_id=None))
    pipeline.dispatch(request(request_id=None))
    assert len(pipeline.executions()) == 1


def test_an_invalid_request_is_a_400_listing_every_bad_field_and_starts_nothing(pipeline):
    response = pipeline.dispatch(request(command="deploy", environment={"name": "prod", "account_id": "1"},
                                         ttl="3 weeks"))
    assert response.status_code == 400
    body = json.loads(response.body)
    assert {f["field"] for f in body["fields"]} == {"command", "environment.account_id", "ttl"}
    assert all(f["accepted"] for f in body["fields"])
    assert pipeline.executions() == []


def test_a_dispatch_pairing_prod_with_another_account_is_refused_naming_prods_account_and_starts_nothing(pipeline):
    response = pipeline.dispatch(request(environment={"name": "prod", "account_id": "999999999999"}))
    assert response.status_code == 400
    [field] = json.loads(response.body)["fields"]
    assert field["field"] == "environment.account_id" and "123456789012" in field["accepted"]
    assert pipeline.executions() == []


def test_an_ephemeral_dispatch_to_prod_is_refused_naming_pr_n_and_starts_nothing(pipeline):
    response = pipeline.dispatch(request(command="ephemeral", ttl="1h"))
    assert response.status_code == 400
    assert "pr-<N>" in response.body.decode()
    assert pipeline.executions() == []


def test_a_dispatch_without_an_oidc_token_is_refused_even_with_the_webhook_signature(pipeline):
    body = json.dumps(request()).encode()
    response = pipeline.post("/dispatch", body, {"X-Hub-Signature-256": sign(pipeline.secret, body)})
    assert response.status_code == 401
    assert "Authorization: Bearer" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


OTHER_KEY = new_key()


@pytest.mark.parametrize(("claims", "named"), [
    ({"audience": "https://github.com/acme"}, "wrong audience 'https://github.com/acme'"),
    ({"repository": "acme/other-infra"}, "repository claim is 'acme/other-infra'"),
    ({"issued_at": time.time() - 3600}, "the token expired at"),
    ({"key": OTHER_KEY}, "bad signature"),
    ({"ref": "refs/pull/7/merge", "event_name": "pull_request"}, "ref claim is 'refs/pull/7/merge'"),
    ({"ref": "refs/heads/feature"}, "ref claim is 'refs/heads/feature'"),
    ({"sha": "e" * 40}, "the token's sha claim is eeeeeeeeeeee"),
], ids=["wrong-audience", "wrong-repository", "expired", "signed-by-another-key", "pull-request-ref",
        "other-branch", "other-commit"])
def test_a_dispatch_whose_oidc_token_does_not_hold_is_refused_naming_why_and_starts_nothing(pipeline, claims, named):
    response = pipeline.dispatch(request(), token=pipeline.actions_token(request(), **claims))
    assert response.status_code == 401, response.body
    body = json.loads(response.body)
    assert body["error"] == "Unauthenticated" and named in body["message"]
    assert pipeline.executions() == []
    assert json.loads(pipeline.dispatch(request()).body)["runs"]  # the same request with a right token starts


def test_a_dispatch_from_the_repositorys_own_default_branch_is_accepted_with_github_twin(pipeline):
    pipeline.github.default_branches["acme/infra"] = "trunk"
    refused = pipeline.dispatch(request(), token=pipeline.actions_token(request(), ref="refs/heads/main"))
    assert refused.status_code == 401 and "'refs/heads/trunk'" in json.loads(refused.body)["message"]
    accepted = pipeline.dispatch(request(), token=pipeline.actions_token(request(), ref="refs/heads/trunk"))
    assert accepted.status_code == 202, accepted.body
    assert len(pipeline.executions()) == 1


def test_a_branch_is_resolved_to_a_sha_before_the_run_starts_with_github_twin(pipeline):
    pipeline.github.refs[("acme/infra", "main")] = SHA
    pipeline.dispatch(request(commit="main"))
    [execution] = pipeline.executions()
    assert execution["input"]["request"]["sha"] == SHA
    assert execution["input"]["request"]["commit"] == "main"


def test_a_branch_that_does_not_exist_is_a_400_naming_the_commit_with_github_twin(pipeline):
    response = pipeline.dispatch(request(commit="no-such-branch"))
    assert response.status_code == 400
    assert "no-such-branch" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_a_repository_off_the_allow_list_starts_nothing(pipeline):
    response = pipeline.dispatch(request(repository="evil/infra"))
    assert response.status_code == 202
    assert "not on tfpipe's allow-list" in json.loads(response.body)["message"]
    assert pipeline.executions() == []


def test_a_repository_dispatch_carrying_a_request_starts_it(pipeline):
    payload = copy.deepcopy(load_fixture("repository_dispatch", "payload.json"))
    payload["action"] = "tfpipe"
    payload["client_payload"] = request(repository="octo-org/octo-repo", command="custom", args=["output", "-json"])
    response = pipeline.webhook("repository_dispatch", payload)
    assert response.status_code == 202
    [execution] = pipeline.executions()
    assert execution["workflow"] == "custom"
    assert execution["input"]["request"]["custom"] == {"subcommand": "output", "args": ["-json"]}


def test_a_repository_dispatch_cannot_act_on_another_repository(pipeline):
    payload = copy.deepcopy(load_fixture("repository_dispatch", "payload.json"))
    payload["action"] = "tfpipe"
    payload["client_payload"] = request()  # acme/infra, sent from octo-org/octo-repo
    response = pipeline.webhook("repository_dispatch", payload)
    assert response.status_code == 400
    assert pipeline.executions() == []


def test_a_workflow_dispatch_carrying_a_request_starts_it(pipeline):
    payload = copy.deepcopy(load_fixture("workflow_dispatch", "payload.json"))
    # GitHub sends workflow inputs as strings: the request arrives as JSON text.
    payload["inputs"] = {"tfpipe": json.dumps(request(repository="octo-org/octo-repo", command="plan"))}
    assert pipeline.webhook("workflow_dispatch", payload).status_code == 202
    assert [e["workflow"] for e in pipeline.executions()] == ["plan"]


def test_a_workflow_dispatch_whose_input_is_not_json_names_the_input_and_starts_nothing(pipeline):
    payload = copy.deepcopy(load_fixture("workflow_dispatch", "payload.json"))
    payload["inputs"] = {"tfpipe": "plan prod please"}
    response = pipeline.webhook("workflow_dispatch", payload)
    assert response.status_code == 400
    assert json.loads(response.body)["fields"][0]["field"] == "inputs.tfpipe"
    assert pipeline.executions() == []


def test_the_lambdas_xray_trace_id_travels_with_the_run(pipeline, monkeypatch):
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
    pipeline.dispatch(request())
    [execution] = pipeline.executions()
    assert execution["input"]["trace_header"] == header
