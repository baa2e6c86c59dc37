"""What enabling the Slack workload declares, for each of its settings (Pulumi mocks, no AWS)."""

from __future__ import annotations

import pytest

from local.cloud.testing import CaptureError, WorkloadResources, evaluate_workload, workload_name

NAME = workload_name(__file__)
PARAMETER = "aws:ssm/parameter:Parameter"


@pytest.fixture(scope="module")
def defaults() -> WorkloadResources:
    return evaluate_workload(NAME, secrets={"slackSigningSecret": "test-signing-secret"})


def test_the_front_answers_within_slacks_3_seconds_and_the_worker_may_take_its_time(
    defaults: WorkloadResources,
):
    front, worker = defaults.front, defaults.worker
    assert front is not None
    assert (front.handler, front.timeout_seconds, front.memory_mb) == ("front.handler", 10, 256)
    assert (worker.handler, worker.timeout_seconds) == ("worker.handler", 900)
    # A response_url lives 30 minutes: retries and event age stay within it.
    assert (defaults.invoke_config.retries, defaults.invoke_config.max_event_age_seconds) == (
        2,
        1800,
    )


def test_slacks_request_reaches_the_front_unchanged_through_a_proxy_integration(
    defaults: WorkloadResources,
):
    assert defaults.front is not None
    route = defaults.routes["POST /slack/commands"]
    assert route.integration is not None
    assert (route.integration.type, route.integration.function_name) == (
        "AWS_PROXY",
        defaults.front.name,
    )
    assert route.integration.request_parameters == {}
    assert list(defaults.routes) == ["POST /slack/commands"]
    assert defaults.resolvers == {}


def test_the_front_may_invoke_only_its_worker_and_read_only_the_signing_secret(
    defaults: WorkloadResources,
):
    front, worker = defaults.front, defaults.worker
    assert front is not None
    (parameter,) = [r for r in defaults.resources if r.type == PARAMETER]
    assert parameter.inputs["type"] == "SecureString"
    assert front.environment["WORKER_FUNCTION_NAME"] == worker.name
    assert front.allows("lambda:InvokeFunction", worker.arn)
    assert not front.allows("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:x")
    assert front.allows("ssm:GetParameter", parameter.outputs["arn"])
    assert not worker.allows("ssm:GetParameter", parameter.outputs["arn"])
    assert "test-signing-secret" not in str(front.environment)


def test_the_worker_keeps_idempotency_records_in_its_own_table(defaults: WorkloadResources):
    table = defaults.tables["idempotency"]
    assert (table.hash_key, table.ttl_attribute, table.encrypted) == ("id", "expiration", True)
    assert defaults.worker.environment["IDEMPOTENCY_TABLE"] == table.name
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"):
        assert defaults.worker.allows(action, table.arn)
    assert defaults.front is not None and not defaults.front.allows("dynamodb:PutItem", table.arn)


def test_the_response_settings_reach_the_worker():
    worker = evaluate_workload(NAME, {"responseType": "in_channel", "slowSeconds": 1}).worker
    assert worker.environment["SLACK_RESPONSE_TYPE"] == "in_channel"
    assert worker.environment["SLACK_SLOW_SECONDS"] == "1"


@pytest.mark.parametrize(
    ("settings", "key"),
    [({"slowSeconds": 601}, "slowSeconds"), ({"responseType": "everyone"}, "responseType")],
)
def test_a_bad_setting_stops_the_program_naming_its_key(settings: dict, key: str):
    with pytest.raises(CaptureError, match=rf"ackflow:workloads\.{NAME}\.{key}: "):
        evaluate_workload(NAME, settings)
