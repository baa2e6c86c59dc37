"""Tests for components.async_worker: what an AsyncWorker declares, for every setting.

Each test evaluates a program under the fake cloud (``local.cloud.capture.evaluate``: a fresh
context and event loop, ``preview=False``) and reads the recorded resources. Mocks deliver
inputs camelCase and integers as floats; every value is asserted present before it is checked.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pulumi
import pytest

from components import AsyncWorker, AsyncWorkerArgs
from components.bundle import CodeBundle, SourceBundler
from components.destinations import (
    DestinationKind,
    EventBridgeDestination,
    LambdaDestination,
    S3Destination,
    SnsDestination,
    SqsDestination,
    destination_for_arn,
)
from local.cloud.capture import Capture, CaptureError, evaluate
from tests.outputs import known

if TYPE_CHECKING:
    from pathlib import Path

    from local.cloud.fake_cloud import RecordedResource

WORKER = "ackflow:index:AsyncWorker"
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
QUEUE = "aws:sqs/queue:Queue"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

STACK = "test"
CONFIG = {"aws:region": "us-east-1"}

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:existing-queue"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:records"
BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-bus/records"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:consumer"
BUCKET_ARN = "arn:aws:s3:::ackflow-failed-records"

FOURTEEN_DAYS = 14 * 24 * 3600


# --- helpers ---------------------------------------------------------------------------------


def run_worker(handler_dir: Path, name: str = "worker", **settings: Any) -> Capture:
    """Evaluate a program made of one AsyncWorker with ``settings``."""
    args = make_args(handler_dir, **settings)
    return evaluate(lambda: AsyncWorker(name, args), STACK, CONFIG)


def make_args(handler_dir: Path, **settings: Any) -> AsyncWorkerArgs:
    code = SourceBundler().bundle(handler_dir, settings.get("architecture", "arm64"))
    return AsyncWorkerArgs(code=code, handler="handler.handler", **settings)


def one(cap: Capture, type_token: str) -> RecordedResource:
    found = cap.of_type(type_token)
    assert len(found) == 1, f"expected one {type_token}, found {[r.name for r in found]}"
    return found[0]


def policy(cap: Capture) -> dict[str, Any]:
    return json.loads(known(one(cap, ROLE_POLICY).inputs, "policy"))


def statements(cap: Capture) -> list[dict[str, Any]]:
    found = policy(cap)["Statement"]
    assert found, "the role policy has no statements"
    return found


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def statements_on(cap: Capture, arn: str) -> list[dict[str, Any]]:
    """Statements naming ``arn`` (or a path under it) as a resource."""
    return [
        s
        for s in statements(cap)
        if any(r == arn or r.startswith(f"{arn}/") for r in as_list(s["Resource"]))
    ]


def queue_named(cap: Capture, name: str) -> RecordedResource:
    return cap.named(QUEUE, name)


def destination(cap: Capture, slot: str) -> Any:
    return known(one(cap, INVOKE_CONFIG).inputs, "destinationConfig", slot, "destination")


def dummy_code() -> CodeBundle:
    return CodeBundle(archive=pulumi.AssetArchive({}), source_hash="aGFzaA==")


# --- defaults --------------------------------------------------------------------------------


def test_default_invoke_config_uses_aws_defaults_of_2_retries_and_6_hours(handler_dir: Path):
    invoke = one(run_worker(handler_dir), INVOKE_CONFIG)

    assert known(invoke.inputs, "maximumRetryAttempts") == 2
    assert known(invoke.inputs, "maximumEventAgeInSeconds") == 21600


def test_default_function_is_arm64_python313_with_128mb_and_3s(handler_dir: Path):
    function = one(run_worker(handler_dir), FUNCTION)

    assert known(function.inputs, "architectures") == ["arm64"]
    assert known(function.inputs, "runtime") == "python3.13"
    assert known(function.inputs, "memorySize") == 128
    assert known(function.inputs, "timeout") == 3
    assert known(function.inputs, "handler") == "handler.handler"
    assert known(function.inputs, "sourceCodeHash")
    for unset in (
        "reservedConcurrentExecutions",
        "deadLetterConfig",
        "tracingConfig",
        "environment",
    ):
        assert unset not in function.inputs, f"{unset} is set by default"


def test_default_function_name_is_project_stack_and_resource_name(handler_dir: Path):
    function = one(run_worker(handler_dir), FUNCTION)

    assert known(function.inputs, "name") == "ackflow-test-worker"


def test_default_log_group_is_the_functions_own_with_14_day_retention(handler_dir: Path):
    cap = run_worker(handler_dir)
    function, log_group = one(cap, FUNCTION), one(cap, LOG_GROUP)

    function_name = known(function.outputs, "name")
    assert known(log_group.inputs, "name") == f"/aws/lambda/{function_name}"
    assert known(log_group.inputs, "retentionInDays") == 14
    assert known(function.inputs, "loggingConfig", "logGroup") == known(log_group.outputs, "name")


def test_default_destinations_are_two_new_encrypted_queues_kept_14_days(handler_dir: Path):
    cap = run_worker(handler_dir)
    success, failure = queue_named(cap, "worker-success"), queue_named(cap, "worker-failure")

    assert len(cap.of_type(QUEUE)) == 2
    for queue in (success, failure):
        assert known(queue.inputs, "sqsManagedSseEnabled") is True
        assert known(queue.inputs, "messageRetentionSeconds") == FOURTEEN_DAYS
    assert destination(cap, "onSuccess") == known(success.outputs, "arn")
    assert destination(cap, "onFailure") == known(failure.outputs, "arn")
    assert known(success.outputs, "arn") != known(failure.outputs, "arn")


def test_default_worker_has_no_alarm_and_no_dead_letter_queue(handler_dir: Path):
    cap = run_worker(handler_dir)

    assert cap.of_type(ALARM) == []
    assert sorted(q.name for q in cap.of_type(QUEUE)) == ["worker-failure", "worker-success"]


def test_function_runs_as_the_workers_own_role_whose_policy_is_attached_to_it(handler_dir: Path):
    cap = run_worker(handler_dir)
    function, role, role_policy = one(cap, FUNCTION), one(cap, ROLE), one(cap, ROLE_POLICY)

    assert known(function.inputs, "role") == known(role.outputs, "arn")
    assert known(role_policy.inputs, "role") == role.id
    trust = json.loads(known(role.inputs, "assumeRolePolicy"))
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    assert [s["Action"] for s in trust["Statement"]] == ["sts:AssumeRole"]


def test_invoke_config_targets_the_workers_function(handler_dir: Path):
    cap = run_worker(handler_dir)

    function_name = known(one(cap, FUNCTION).outputs, "name")
    assert known(one(cap, INVOKE_CONFIG).inputs, "functionName") == function_name


def test_every_child_is_parented_to_the_worker_component(handler_dir: Path):
    cap = run_worker(handler_dir, dlq=SqsDestination(), failure_alarm=True)
    worker = one(cap, WORKER)

    assert worker.urn
    children = [r for r in cap.resources if r is not worker]
    assert len(children) == 9  # 3 queues, log group, role, policy, function, invoke config, alarm
    assert all(child.parent == worker.urn for child in children)


# --- each setting ----------------------------------------------------------------------------


SETTINGS_TO_INPUTS = [
    # (AsyncWorkerArgs settings, resource type, input path, expected value)
    ({"retries": 0}, INVOKE_CONFIG, ("maximumRetryAttempts",), 0),
    ({"retries": 1}, INVOKE_CONFIG, ("maximumRetryAttempts",), 1),
    ({"max_event_age_seconds": 60}, INVOKE_CONFIG, ("maximumEventAgeInSeconds",), 60),
    ({"max_event_age_seconds": 900}, INVOKE_CONFIG, ("maximumEventAgeInSeconds",), 900),
    ({"memory_mb": 1024}, FUNCTION, ("memorySize",), 1024),
    ({"timeout_seconds": 900}, FUNCTION, ("timeout",), 900),
    ({"architecture": "x86_64"}, FUNCTION, ("architectures",), ["x86_64"]),
    ({"runtime": "python3.12"}, FUNCTION, ("runtime",), "python3.12"),
    ({"reserved_concurrency": 10}, FUNCTION, ("reservedConcurrentExecutions",), 10),
    ({"reserved_concurrency": 0}, FUNCTION, ("reservedConcurrentExecutions",), 0),
    ({"environment": {"MODE": "test"}}, FUNCTION, ("environment", "variables"), {"MODE": "test"}),
    ({"function_name": "custom-fn"}, FUNCTION, ("name",), "custom-fn"),
    ({"function_name": "custom-fn"}, LOG_GROUP, ("name",), "/aws/lambda/custom-fn"),
    ({"log_retention_days": 30}, LOG_GROUP, ("retentionInDays",), 30),
]


@pytest.mark.parametrize(
    ("settings", "type_token", "path", "expected"),
    [
        pytest.param(*row, id=f"{row[0]}->{row[1].rpartition(':')[2]}.{'.'.join(row[2])}")
        for row in SETTINGS_TO_INPUTS
    ],
)
def test_setting_reaches_its_resource_input(
    handler_dir: Path,
    settings: dict[str, Any],
    type_token: str,
    path: tuple[str, ...],
    expected: Any,
):
    resource = one(run_worker(handler_dir, **settings), type_token)

    assert known(resource.inputs, *path) == expected


def test_dlq_is_a_new_encrypted_queue_set_as_dead_letter_target_with_send_permission(
    handler_dir: Path,
):
    cap = run_worker(handler_dir, dlq=SqsDestination())
    dlq = queue_named(cap, "worker-dlq")
    dlq_arn = known(dlq.outputs, "arn")

    assert known(dlq.inputs, "sqsManagedSseEnabled") is True
    assert known(one(cap, FUNCTION).inputs, "deadLetterConfig", "targetArn") == dlq_arn
    granted = statements_on(cap, dlq_arn)
    assert granted == [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq_arn}]
    assert dlq_arn not in (destination(cap, "onSuccess"), destination(cap, "onFailure"))


def test_dlq_may_be_an_existing_sns_topic_granted_publish(handler_dir: Path):
    cap = run_worker(handler_dir, dlq=SnsDestination(TOPIC_ARN))

    assert known(one(cap, FUNCTION).inputs, "deadLetterConfig", "targetArn") == TOPIC_ARN
    assert statements_on(cap, TOPIC_ARN) == [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC_ARN}
    ]
    assert "worker-dlq" not in [q.name for q in cap.of_type(QUEUE)]


def test_tracing_turns_on_active_xray_and_grants_only_xray_on_star(handler_dir: Path):
    cap = run_worker(handler_dir, tracing=True)

    assert known(one(cap, FUNCTION).inputs, "tracingConfig", "mode") == "Active"
    on_star = [s for s in statements(cap) if "*" in as_list(s["Resource"])]
    assert len(on_star) == 1
    assert sorted(as_list(on_star[0]["Action"])) == [
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]


def test_failure_alarm_watches_the_depth_of_the_failure_queue(handler_dir: Path):
    cap = run_worker(handler_dir, failure_alarm=True)
    alarm = one(cap, ALARM)
    failure_queue = queue_named(cap, "worker-failure")

    assert known(alarm.inputs, "namespace") == "AWS/SQS"
    assert known(alarm.inputs, "metricName") == "ApproximateNumberOfMessagesVisible"
    assert known(alarm.inputs, "dimensions") == {"QueueName": known(failure_queue.outputs, "name")}
    assert known(alarm.inputs, "threshold") == 1
    assert known(alarm.inputs, "comparisonOperator") == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize(
    "on_failure", [SnsDestination(TOPIC_ARN), None], ids=["sns-failure", "no-failure"]
)
def test_failure_alarm_watches_lambda_errors_when_failures_go_to_no_queue(
    handler_dir: Path, on_failure: Any
):
    cap = run_worker(handler_dir, failure_alarm=True, on_failure=on_failure)
    alarm = one(cap, ALARM)

    assert known(alarm.inputs, "namespace") == "AWS/Lambda"
    assert known(alarm.inputs, "metricName") == "Errors"
    function_name = known(one(cap, FUNCTION).outputs, "name")
    assert known(alarm.inputs, "dimensions") == {"FunctionName": function_name}


def test_no_success_destination_leaves_it_out_of_invoke_config_and_policy(handler_dir: Path):
    cap = run_worker(handler_dir, on_success=None)
    invoke = one(cap, INVOKE_CONFIG)
    failure_arn = known(queue_named(cap, "worker-failure").outputs, "arn")

    assert known(invoke.inputs, "destinationConfig") == {"onFailure": {"destination": failure_arn}}
    assert [q.name for q in cap.of_type(QUEUE)] == ["worker-failure"]
    sends = [s for s in statements(cap) if s["Action"] == "sqs:SendMessage"]
    assert [s["Resource"] for s in sends] == [failure_arn]


def test_no_destinations_at_all_leaves_invoke_config_without_destination_config(
    handler_dir: Path,
):
    cap = run_worker(handler_dir, on_success=None, on_failure=None)
    invoke = one(cap, INVOKE_CONFIG)

    assert known(invoke.inputs, "maximumRetryAttempts") == 2
    assert "destinationConfig" not in invoke.inputs
    assert cap.of_type(QUEUE) == []
    assert [as_list(s["Action"]) for s in statements(cap)] == [
        ["logs:CreateLogStream", "logs:PutLogEvents"]
    ]


# --- every destination kind ------------------------------------------------------------------

EXISTING = [
    pytest.param(SqsDestination, QUEUE_ARN, "sqs:SendMessage", id="sqs"),
    pytest.param(SnsDestination, TOPIC_ARN, "sns:Publish", id="sns"),
    pytest.param(EventBridgeDestination, BUS_ARN, "events:PutEvents", id="eventbridge"),
    pytest.param(LambdaDestination, FUNCTION_ARN, "lambda:InvokeFunction", id="lambda"),
]


@pytest.mark.parametrize("slot", ["success", "failure"])
@pytest.mark.parametrize(("destination_class", "arn", "action"), EXISTING)
def test_existing_destination_goes_verbatim_into_invoke_config_with_one_scoped_statement(
    handler_dir: Path, slot: str, destination_class: type, arn: str, action: str
):
    other = "failure" if slot == "success" else "success"
    cap = run_worker(handler_dir, **{f"on_{slot}": destination_class(arn)})

    assert destination(cap, f"on{slot.capitalize()}") == arn
    assert statements_on(cap, arn) == [{"Effect": "Allow", "Action": action, "Resource": arn}]
    # The other slot keeps its own new queue; no queue is made for the existing target.
    assert [q.name for q in cap.of_type(QUEUE)] == [f"worker-{other}"]
    other_arn = known(queue_named(cap, f"worker-{other}").outputs, "arn")
    assert destination(cap, f"on{other.capitalize()}") == other_arn


def test_s3_failure_destination_grants_put_object_and_list_bucket_on_bucket_and_objects(
    handler_dir: Path,
):
    cap = run_worker(handler_dir, on_failure=S3Destination(BUCKET_ARN))

    assert destination(cap, "onFailure") == BUCKET_ARN
    granted = statements_on(cap, BUCKET_ARN)
    assert len(granted) == 1
    assert granted[0]["Effect"] == "Allow"
    assert sorted(as_list(granted[0]["Action"])) == ["s3:ListBucket", "s3:PutObject"]
    assert sorted(as_list(granted[0]["Resource"])) == [BUCKET_ARN, f"{BUCKET_ARN}/*"]


def test_s3_as_success_destination_is_refused(handler_dir: Path):
    with pytest.raises(ValueError, match="success"):
        run_worker(handler_dir, on_success=S3Destination(BUCKET_ARN))


@pytest.mark.parametrize(
    "dlq",
    [EventBridgeDestination(BUS_ARN), LambdaDestination(FUNCTION_ARN), S3Destination(BUCKET_ARN)],
    ids=["eventbridge", "lambda", "s3"],
)
def test_dead_letter_target_other_than_sqs_or_sns_is_refused(handler_dir: Path, dlq: Any):
    with pytest.raises(ValueError, match="dlq"):
        run_worker(handler_dir, dlq=dlq)


# --- IAM scoping -----------------------------------------------------------------------------


def test_logs_are_granted_only_on_the_streams_of_the_workers_log_group(handler_dir: Path):
    cap = run_worker(handler_dir)
    log_group_arn = known(one(cap, LOG_GROUP).outputs, "arn")

    on_logs = [
        s for s in statements(cap) if any(a.startswith("logs:") for a in as_list(s["Action"]))
    ]
    assert on_logs == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        }
    ]


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"dlq": SqsDestination(), "failure_alarm": True, "reserved_concurrency": 5},
        {"on_success": LambdaDestination(FUNCTION_ARN), "on_failure": S3Destination(BUCKET_ARN)},
        {"on_success": EventBridgeDestination(BUS_ARN), "dlq": SnsDestination(TOPIC_ARN)},
    ],
    ids=["defaults", "dlq-alarm-concurrency", "lambda-s3", "eventbridge-sns-dlq"],
)
def test_no_statement_grants_a_wildcard_without_tracing(handler_dir: Path, settings: dict):
    found = statements(run_worker(handler_dir, **settings))

    assert all(s["Effect"] == "Allow" for s in found)
    for statement in found:
        assert "*" not in as_list(statement["Resource"]), statement
        assert not any(action.endswith("*") for action in as_list(statement["Action"])), statement


def test_policy_is_a_versioned_document_with_one_statement_per_target(handler_dir: Path):
    cap = run_worker(handler_dir, dlq=SqsDestination())
    document = policy(cap)

    assert document["Version"] == "2012-10-17"
    # logs + success + failure + dlq
    assert len(document["Statement"]) == 4


def test_workload_policy_statements_appear_verbatim(handler_dir: Path):
    extra = [
        {
            "Sid": "ReadTable",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/results",
        },
        {
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/ackflow/token",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
        },
    ]
    found = statements(run_worker(handler_dir, policy_statements=extra))

    for statement in extra:
        assert found.count(statement) == 1
    assert len(found) == 3 + len(extra)  # logs, success, failure, then the workload's


# --- AsyncWorkerArgs validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("retries", 3),
        ("retries", -1),
        ("retries", True),
        ("max_event_age_seconds", 59),
        ("max_event_age_seconds", 21601),
        ("memory_mb", 127),
        ("memory_mb", 10241),
        ("timeout_seconds", 0),
        ("timeout_seconds", 901),
        ("reserved_concurrency", -1),
        ("log_retention_days", 8),
        ("log_retention_days", 0),
    ],
)
def test_args_outside_aws_limits_raise_value_error_naming_the_setting(setting: str, value: Any):
    with pytest.raises(ValueError, match=rf"{setting}\b.*(?<![\d-]){re.escape(str(value))}(?!\d)"):
        AsyncWorkerArgs(code=dummy_code(), handler="handler.handler", **{setting: value})


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("retries", 0),
        ("retries", 2),
        ("max_event_age_seconds", 60),
        ("max_event_age_seconds", 21600),
        ("memory_mb", 128),
        ("memory_mb", 10240),
        ("timeout_seconds", 1),
        ("timeout_seconds", 900),
        ("reserved_concurrency", 0),
        ("log_retention_days", 1),
        ("log_retention_days", 3653),
    ],
)
def test_args_at_aws_limits_are_accepted(setting: str, value: int):
    args = AsyncWorkerArgs(code=dummy_code(), handler="handler.handler", **{setting: value})

    assert getattr(args, setting) == value


# --- component outputs -----------------------------------------------------------------------


def test_component_outputs_name_function_role_and_destinations(handler_dir: Path):
    cap = run_worker(handler_dir)
    outputs = one(cap, WORKER).component_outputs
    function, role = one(cap, FUNCTION), one(cap, ROLE)
    success, failure = queue_named(cap, "worker-success"), queue_named(cap, "worker-failure")

    assert known(outputs, "functionName") == known(function.outputs, "name")
    assert known(outputs, "functionArn") == known(function.outputs, "arn")
    assert known(outputs, "roleArn") == known(role.outputs, "arn")
    assert known(outputs, "logGroupName") == known(one(cap, LOG_GROUP).outputs, "name")
    assert known(outputs, "successDestinationArn") == known(success.outputs, "arn")
    assert known(outputs, "failureDestinationArn") == known(failure.outputs, "arn")
    assert known(outputs, "successQueueUrl") == known(success.outputs, "url")
    assert known(outputs, "failureQueueUrl") == known(failure.outputs, "url")
    assert outputs.get("deadLetterArn") is None


def test_component_outputs_give_existing_arns_and_no_queue_url_for_non_queues(handler_dir: Path):
    cap = run_worker(
        handler_dir, on_success=SnsDestination(TOPIC_ARN), dlq=SqsDestination(QUEUE_ARN)
    )
    outputs = one(cap, WORKER).component_outputs

    assert known(outputs, "successDestinationArn") == TOPIC_ARN
    assert outputs.get("successQueueUrl") is None
    assert known(outputs, "failureQueueUrl").startswith("https://sqs.")
    assert known(outputs, "deadLetterArn") == QUEUE_ARN


# --- names -----------------------------------------------------------------------------------


def test_two_workers_with_one_name_are_caught_as_duplicate_urns(handler_dir: Path):
    args = make_args(handler_dir)

    def program() -> None:
        AsyncWorker("same", args)
        AsyncWorker("same", args)

    with pytest.raises(CaptureError, match=r"duplicate resource URNs: .*AsyncWorker::same"):
        evaluate(program, STACK, CONFIG)


def test_two_workers_in_one_program_make_distinct_resources(handler_dir: Path):
    args = make_args(handler_dir, dlq=SqsDestination(), failure_alarm=True)

    def program() -> None:
        AsyncWorker("first", args)
        AsyncWorker("second", args)

    cap = evaluate(program, STACK, CONFIG)

    assert len(cap.resources) == 2 * 10
    urns = [r.urn for r in cap.resources]
    assert all(urns)
    assert len(set(urns)) == len(urns)
    for type_token, key in ((FUNCTION, "name"), (LOG_GROUP, "name"), (QUEUE, "url")):
        physical = [known(r.outputs, key) for r in cap.of_type(type_token)]
        assert len(set(physical)) == len(physical), physical


def test_long_worker_names_get_distinct_function_names_within_lambdas_64_characters(
    handler_dir: Path,
):
    args = make_args(handler_dir)
    long_names = ["x" * 70 + "-one", "x" * 70 + "-two"]

    def program() -> None:
        for name in long_names:
            AsyncWorker(name, args)

    cap = evaluate(program, STACK, CONFIG)
    names = [known(r.inputs, "name") for r in cap.of_type(FUNCTION)]

    assert len(names) == 2
    assert all(len(name) <= 64 for name in names), names
    assert names[0] != names[1]


# --- destination_for_arn ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "destination_class", "attribute"),
    [
        (QUEUE_ARN, SqsDestination, "queue_arn"),
        ("arn:aws-cn:sqs:cn-north-1:123456789012:records", SqsDestination, "queue_arn"),
        (TOPIC_ARN, SnsDestination, "topic_arn"),
        ("arn:aws-us-gov:sns:us-gov-west-1:123456789012:t", SnsDestination, "topic_arn"),
        (BUS_ARN, EventBridgeDestination, "bus_arn"),
        (FUNCTION_ARN, LambdaDestination, "function_arn"),
        (f"{FUNCTION_ARN}:live", LambdaDestination, "function_arn"),
        (f"{FUNCTION_ARN}:$LATEST", LambdaDestination, "function_arn"),
    ],
)
@pytest.mark.parametrize("kind", [DestinationKind.SUCCESS, DestinationKind.FAILURE])
def test_destination_for_arn_maps_each_kind_to_its_class(
    arn: str, destination_class: type, attribute: str, kind: DestinationKind
):
    found = destination_for_arn(arn, kind)

    assert type(found) is destination_class
    assert getattr(found, attribute) == arn


def test_destination_for_arn_maps_an_s3_bucket_on_failure():
    found = destination_for_arn(BUCKET_ARN, DestinationKind.FAILURE)

    assert type(found) is S3Destination
    assert found.bucket_arn == BUCKET_ARN


@pytest.mark.parametrize(
    ("arn", "destination_class"),
    [(QUEUE_ARN, SqsDestination), (TOPIC_ARN, SnsDestination)],
)
def test_destination_for_arn_takes_queues_and_topics_as_dead_letter_targets(
    arn: str, destination_class: type
):
    assert type(destination_for_arn(arn, DestinationKind.DEAD_LETTER)) is destination_class


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (BUCKET_ARN, DestinationKind.SUCCESS),
        (BUS_ARN, DestinationKind.DEAD_LETTER),
        (FUNCTION_ARN, DestinationKind.DEAD_LETTER),
        (BUCKET_ARN, DestinationKind.DEAD_LETTER),
    ],
)
def test_destination_for_arn_refuses_a_kind_the_slot_does_not_take(arn: str, kind: DestinationKind):
    with pytest.raises(ValueError, match=rf"not allowed for {kind.value}") as caught:
        destination_for_arn(arn, kind)

    assert arn in str(caught.value)


@pytest.mark.parametrize(
    "junk",
    [
        "junk",
        "",
        "arn:aws:dynamodb:us-east-1:123456789012:table/t",
        "arn:aws:sqs:us-east-1:123456789012:records.fifo",  # AWS takes standard queues only
        "arn:aws:sqs:us-east-1:12345:records",
        "arn:aws:lambda:us-east-1:123456789012:function:",
    ],
)
def test_destination_for_arn_rejects_junk_listing_the_allowed_kinds(junk: str):
    with pytest.raises(ValueError) as caught:
        destination_for_arn(junk, DestinationKind.FAILURE)

    message = str(caught.value)
    assert repr(junk) in message
    for label in (
        "an SQS queue",
        "an SNS topic",
        "an EventBridge bus",
        "a Lambda function",
        "an S3 bucket",
    ):
        assert label in message


def test_destination_for_arn_lists_only_queue_and_topic_for_a_dead_letter_slot():
    with pytest.raises(ValueError) as caught:
        destination_for_arn("junk", DestinationKind.DEAD_LETTER)

    message = str(caught.value)
    assert "an SQS queue" in message
    assert "an SNS topic" in message
    assert "a Lambda function" not in message
    assert "an S3 bucket" not in message
