import pytest

from chalicelib.core.durations import TtlBounds
from chalicelib.core.errors import InvalidRequest
from chalicelib.core.request import RequestDefaults, parse_pipeline_request
from chalicelib.core.workflows import Command, Workflow

DEFAULTS = RequestDefaults(
    job_definition_arn="arn:aws:batch:us-east-1:123456789012:job-definition/tfpipe-executor:1",
    job_queue_arn="arn:aws:batch:us-east-1:123456789012:job-queue/tfpipe",
    accounts={"prod": "123456789012"},
    ephemeral_account_id="210987654321",
)
BOUNDS = TtlBounds(minimum=15 * 60, maximum=7 * 86400, default=4 * 3600)
SHA = "a" * 40


def valid(**overrides):
    raw = {"repository": "acme/infra", "commit": SHA, "environment": {"name": "prod", "account_id": "123456789012"},
           "command": "apply", "user_email": "dev@acme.io"}
    raw.update(overrides)
    return raw


def field_names(exc: InvalidRequest) -> set[str]:
    return {e.field for e in exc.errors}


def test_a_complete_request_is_accepted_with_defaults_for_batch():
    request = parse_pipeline_request(valid(), DEFAULTS, BOUNDS)
    assert request.command is Command.APPLY
    assert request.workflow is Workflow.PLAN_APPLY
    assert request.sha == SHA
    assert request.job_queue_arn == DEFAULTS.job_queue_arn


def test_every_bad_field_is_named_with_what_it_got_and_what_is_accepted():
    raw = valid(repository="not a repo", environment={"name": "Prod!", "account_id": "12"},
                command="deploy", user_email="nobody", ttl="forever", pull_request=-3)
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(raw, DEFAULTS, BOUNDS)
    assert field_names(caught.value) == {"repository", "environment.name", "environment.account_id", "command",
                                         "user_email", "ttl", "pull_request"}
    assert "'deploy'" in str(caught.value) and "plan, apply" in str(caught.value)


def test_a_branch_is_accepted_and_left_to_resolve():
    request = parse_pipeline_request(valid(commit="feature/login"), DEFAULTS, BOUNDS)
    assert request.sha is None
    assert request.resolved("b" * 40).sha == "b" * 40


@pytest.mark.parametrize("ttl", ["1m", "8d", "4 hours", "-1h", ""])
def test_a_ttl_out_of_bounds_or_unreadable_is_refused(ttl):
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(valid(command="ephemeral", environment="pr-7", ttl=ttl), DEFAULTS, BOUNDS)
    assert field_names(caught.value) == {"ttl"}
    assert "between 15m and 7d" in str(caught.value)


def test_ephemeral_without_ttl_takes_the_default():
    request = parse_pipeline_request(valid(command="ephemeral", environment="pr-7", pull_request=7), DEFAULTS, BOUNDS)
    assert request.ttl_seconds == 4 * 3600
    assert request.environment.account_id == "210987654321"


@pytest.mark.parametrize("args", [["apply"], ["state", "rm", "aws_s3_bucket.x"], ["import", "a", "b"],
                                  "state list", ["output", "$(rm -rf /)"], ["state"], []])
def test_a_custom_command_outside_the_allow_list_is_refused(args):
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(valid(command="custom", args=args), DEFAULTS, BOUNDS)
    assert field_names(caught.value) == {"args"}


def test_a_custom_command_is_kept_as_an_argument_list():
    request = parse_pipeline_request(valid(command="custom", args=["state", "show", "aws_s3_bucket.site"]),
                                     DEFAULTS, BOUNDS)
    assert request.custom.argv == ["state", "show", "aws_s3_bucket.site"]


def test_a_request_round_trips_through_its_dict():
    from chalicelib.core.request import PipelineRequest
    request = parse_pipeline_request(valid(command="custom", args=["output", "-json"]), DEFAULTS, BOUNDS)
    assert PipelineRequest.from_dict(request.to_dict()) == request


def test_unknown_fields_are_refused_by_name_every_one_and_their_values_not_echoed():
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(valid(aws_secret_key="AKIA-canary-value", colour="blue"), DEFAULTS, BOUNDS)
    assert field_names(caught.value) == {"aws_secret_key", "colour"}
    assert "AKIA-canary-value" not in str(caught.value) and "AKIA-canary-value" not in str(caught.value.to_dict())


def test_every_bad_argument_of_a_custom_command_is_named():
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(valid(command="custom", args=["output", "$(id)", "ok", "`id`"]), DEFAULTS, BOUNDS)
    assert [e.got for e in caught.value.errors] == ["$(id)", "`id`"]


@pytest.mark.parametrize("args", [["fmt"], ["providers", "lock"]])
def test_a_long_lived_environment_takes_only_read_only_custom_commands(args):
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(valid(command="custom", args=args), DEFAULTS, BOUNDS)
    assert "a read-only terraform subcommand on the long-lived environment prod (graph, output, show, state, " \
           "validate, version)" in str(caught.value)
    ephemeral = valid(command="custom", args=args, environment="pr-7", pull_request=7)
    assert parse_pipeline_request(ephemeral, DEFAULTS, BOUNDS).custom.argv == args  # its own throwaway checkout


@pytest.mark.parametrize("args", [["state", "list"], ["output", "-json"], ["show"], ["validate"]])
def test_a_long_lived_environment_can_be_read(args):
    assert parse_pipeline_request(valid(command="custom", args=args), DEFAULTS, BOUNDS).custom.argv == args


@pytest.mark.parametrize("command", ["ephemeral", "cron"])
def test_ephemeral_and_ttl_on_a_long_lived_environment_are_refused_naming_why(command):
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(valid(command=command, ttl="1h"), DEFAULTS, BOUNDS)
    assert field_names(caught.value) == {"environment.name"}
    assert "an ephemeral environment pr-<N>" in str(caught.value) and "PLAN-APPLY" in str(caught.value)


def test_a_declared_environment_in_another_account_is_refused_naming_its_account():
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(valid(environment={"name": "prod", "account_id": "999999999999"}), DEFAULTS, BOUNDS)
    assert field_names(caught.value) == {"environment.account_id"}
    assert "prod's declared account 123456789012 (TFPIPE_ENVIRONMENTS)" in str(caught.value)


def test_a_pull_request_environment_outside_the_preview_account_is_refused():
    raw = valid(command="ephemeral", environment={"name": "pr-7", "account_id": "123456789012"}, pull_request=7)
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(raw, DEFAULTS, BOUNDS)
    assert "pr-7's declared account 210987654321 (TFPIPE_EPHEMERAL_ACCOUNT_ID)" in str(caught.value)


def test_a_name_starting_with_pr_must_be_a_pull_request_number():
    with pytest.raises(InvalidRequest) as caught:
        parse_pipeline_request(valid(command="ephemeral", environment="pr-prod"), DEFAULTS, BOUNDS)
    assert field_names(caught.value) == {"environment.name"} and "pr-<pull request number>" in str(caught.value)
