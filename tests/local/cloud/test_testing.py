"""The testing kit for workload authors: plain values out, and Pulumi mocks' pitfalls handled."""

from __future__ import annotations

import asyncio

import pytest

from local.cloud import fake_cloud
from local.cloud.capture import PROJECT_ROOT
from local.cloud.testing import (
    CaptureError,
    LambdaFunction,
    UnknownValueError,
    evaluate_stack,
    evaluate_workload,
    workload_name,
    workload_resources,
)

FUNCTION = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"


def test_a_value_the_fake_cloud_left_unknown_fails_naming_the_resource_and_the_value(
    monkeypatch: pytest.MonkeyPatch,
):
    def without_arn(scope):  # as a mock that forgot to return the function's ARN
        return {"name": scope.physical}

    monkeypatch.setitem(fake_cloud._OUTPUTS, FUNCTION, without_arn)

    with pytest.raises(UnknownValueError) as unknown:
        evaluate_workload("squaring")
    assert str(unknown.value).startswith(
        "aws:lambda/function:Function squaring-worker: output 'arn' is unknown"
    )


def test_an_unknown_value_in_a_nested_input_is_named_by_its_path(monkeypatch):
    def without_arn(scope):
        return {"name": scope.physical, "url": "https://sqs/x"}

    monkeypatch.setitem(fake_cloud._OUTPUTS, QUEUE, without_arn)

    with pytest.raises(UnknownValueError, match=r"input 'destinationConfig\.onSuccess\.destina"):
        evaluate_workload("squaring")


def test_evaluations_share_nothing_and_run_inside_an_async_test_too():
    async def in_a_running_loop():
        return evaluate_workload("squaring", {"retries": 0})

    inside = asyncio.run(in_a_running_loop())
    after = evaluate_workload("squaring")

    assert inside.invoke_config.retries == 0
    assert after.invoke_config.retries == 2


def test_a_stack_file_names_the_stack_and_gives_its_config():
    prod = evaluate_stack(PROJECT_ROOT / "Pulumi.prod.yaml")
    squaring = workload_resources(prod, "squaring")

    assert prod.stack == "prod" and prod.region == "eu-west-1"
    assert squaring.worker.name == "ackflow-prod-squaring-worker"
    assert squaring.worker.tracing and squaring.worker.reserved_concurrency == 20
    assert squaring.worker.allows("xray:PutTraceSegments", "*")
    assert set(squaring.queues) == {"success", "failure", "dead_letter"}


def test_a_workload_the_stack_does_not_enable_is_a_key_error_listing_what_it_enables():
    only_squaring = evaluate_stack({"ackflow:workloads": {"squaring": {}}})

    with pytest.raises(KeyError, match=r"does not enable 'slack'; it enables \['squaring'\]"):
        workload_resources(only_squaring, "slack")


def test_bad_config_is_a_capture_error_listing_every_problem():
    with pytest.raises(CaptureError, match=r"(?s)squaring\.retries: .*squaring\.memoryMb: "):
        evaluate_workload("squaring", {"retries": 9, "memoryMb": 1})


def test_a_front_its_table_and_its_secret_are_found_by_role():
    slack = evaluate_workload("slack", secrets={"slackSigningSecret": "s3cr3t"})

    assert slack.front is not None and slack.front.handler == "front.handler"
    assert slack.front.allows("lambda:InvokeFunction", slack.worker.arn)
    assert list(slack.routes) == ["POST /slack/commands"]
    assert slack.routes["POST /slack/commands"].integration.function_name == slack.front.name
    table = slack.tables["idempotency"]
    assert (table.hash_key, table.ttl_attribute, table.encrypted) == ("id", "expiration", True)
    assert slack.worker.allows("dynamodb:PutItem", table.arn)
    assert not slack.front.allows("dynamodb:PutItem", table.arn)
    assert slack.resolvers == {} and slack.data_sources == ()


def function_with(*statements: dict) -> LambdaFunction:
    return LambdaFunction(
        name="f",
        arn="arn:aws:lambda:us-east-1:1:function:f",
        handler="h.h",
        runtime="python3.13",
        architectures=("arm64",),
        memory_mb=128,
        timeout_seconds=3,
        environment={},
        reserved_concurrency=None,
        dead_letter_target=None,
        tracing=False,
        log_group="/aws/lambda/f",
        log_retention_days=14,
        role_arn="arn:aws:iam::1:role/f",
        statements=statements,
    )


def test_allows_matches_actions_case_insensitively_and_resources_with_wildcards_and_deny_wins():
    function = function_with(
        {"Effect": "Allow", "Action": ["S3:Get*"], "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret"},
    )

    assert function.allows("s3:GetObject", "arn:aws:s3:::b/key")
    assert function.allows("s3:getobjectacl", "arn:aws:s3:::b/a/b")
    assert not function.allows("s3:GetObject", "arn:aws:s3:::b/secret")
    assert not function.allows("s3:PutObject", "arn:aws:s3:::b/key")
    assert not function.allows("s3:GetObject", "arn:aws:s3:::other/key")


def test_a_test_files_workload_is_the_folder_holding_it():
    assert workload_name(PROJECT_ROOT / "workloads" / "cubing" / "test_workload.py") == "cubing"
