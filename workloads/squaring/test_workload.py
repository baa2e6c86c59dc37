"""What enabling this workload declares, for each of its settings (Pulumi mocks, no AWS).

Written against this folder's name, so a copy (``cp -r workloads/squaring workloads/cubing``)
tests itself unchanged; change what you change in the copy here too. ``pytest`` collects it
with the project's tests; ``ackflow up`` and Lambda bundles leave it out.
"""

from __future__ import annotations

import pytest

from local.cloud.testing import CaptureError, WorkloadResources, evaluate_workload, workload_name

NAME = workload_name(__file__)
INVOCATION_TYPE = "integration.request.header.X-Amz-Invocation-Type"
FOURTEEN_DAYS = 14 * 24 * 3600


@pytest.fixture(scope="module")
def defaults() -> WorkloadResources:
    """The workload enabled with no settings: its own defaults, then AWS's."""
    return evaluate_workload(NAME)


def test_the_worker_runs_the_handler_with_aws_defaults(defaults: WorkloadResources):
    worker = defaults.worker
    assert worker.name == f"ackflow-test-{NAME}-worker"
    assert worker.handler == "handler.handler"
    assert (worker.runtime, worker.architectures) == ("python3.13", ("arm64",))
    assert (worker.memory_mb, worker.timeout_seconds) == (128, 3)
    assert (defaults.invoke_config.retries, defaults.invoke_config.max_event_age_seconds) == (
        2,
        21600,
    )
    assert defaults.front is None


def test_results_and_failures_go_to_encrypted_queues_only_the_worker_sends_to(
    defaults: WorkloadResources,
):
    success, failure = defaults.queues["success"], defaults.queues["failure"]
    assert defaults.invoke_config.on_success == success.arn
    assert defaults.invoke_config.on_failure == failure.arn
    for queue in (success, failure):
        assert queue.encrypted and queue.retention_seconds == FOURTEEN_DAYS
        assert defaults.worker.allows("sqs:SendMessage", queue.arn)
    assert not defaults.worker.allows("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:other")
    assert all(statement["Resource"] != "*" for statement in defaults.worker.statements)


def test_each_worker_setting_reaches_its_resource():
    resources = evaluate_workload(
        NAME,
        {
            "retries": 0,
            "maxEventAgeSeconds": 60,
            "memoryMb": 512,
            "timeoutSeconds": 30,
            "architecture": "x86_64",
            "reservedConcurrency": 5,
            "logRetentionDays": 30,
            "dlq": True,
        },
    )
    worker = resources.worker
    assert (resources.invoke_config.retries, resources.invoke_config.max_event_age_seconds) == (
        0,
        60,
    )
    assert (worker.memory_mb, worker.timeout_seconds, worker.architectures) == (
        512,
        30,
        ("x86_64",),
    )
    assert (worker.reserved_concurrency, worker.log_retention_days) == (5, 30)
    assert worker.dead_letter_target == resources.queues["dead_letter"].arn
    assert worker.allows("sqs:SendMessage", resources.queues["dead_letter"].arn)


def test_by_default_the_caller_picks_with_an_invocation_type_header(
    defaults: WorkloadResources,
):
    route = defaults.routes["GET /square/{number}"]
    assert route.integration is not None and route.integration.type == "AWS"
    assert route.integration.request_parameters == {
        INVOCATION_TYPE: "method.request.header.InvocationType"
    }
    assert set(route.response_statuses) == {200, 202, 400, 500}


def test_invocation_event_makes_the_get_route_always_asynchronous():
    route = evaluate_workload(NAME, {"invocation": "event"}).routes["GET /square/{number}"]
    assert route.integration is not None
    assert route.integration.request_parameters == {INVOCATION_TYPE: "'Event'"}
    assert set(route.response_statuses) == {202, 400, 500}


def test_the_post_route_validates_its_body_before_the_worker_is_invoked(
    defaults: WorkloadResources,
):
    route = defaults.routes["POST /square"]
    assert route.validate_body
    schema = route.request_models["application/json"]
    assert (schema["required"], schema["additionalProperties"]) == (["number"], False)


def test_graphql_square_answers_the_result_and_square_async_an_acknowledgement(
    defaults: WorkloadResources,
):
    (source,) = defaults.data_sources
    assert source.function_arn == defaults.worker.arn
    assert source.allows("lambda:InvokeFunction", defaults.worker.arn)
    assert {key: r.invocation for key, r in defaults.resolvers.items()} == {
        "Query.square": "RequestResponse",
        "Mutation.squareAsync": "Event",
    }
    assert {r.data_source for r in defaults.resolvers.values()} == {source.name}


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"retries": 3}, "retries"),
        ({"invocation": "sometimes"}, "invocation"),
        ({"maxEventAgeSecond": 60}, "maxEventAgeSecond"),
    ],
)
def test_a_bad_setting_stops_the_program_naming_its_key(settings: dict, key: str):
    with pytest.raises(CaptureError, match=rf"ackflow:workloads\.{NAME}\.{key}: "):
        evaluate_workload(NAME, settings)
