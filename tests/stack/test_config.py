"""Tests for stack.config: bad stack config stops the program before any resource is made.

Every rule is checked twice: on ``parse_stack_config`` and end to end, through the real
``__main__.py`` under the fake cloud (``capture``), where the program turns ``ConfigError``
into ``pulumi.RunError`` and ``capture`` turns that into ``CaptureError``.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.bundle import SourceBundler
from local.cloud.capture import PROJECT_ROOT, Capture, CaptureError, capture, evaluate
from local.cloud.fake_cloud import RecordedResource
from local.cloud.testing import evaluate_stack, evaluate_workload, workload_resources
from stack import program
from stack.config import ConfigError, StackConfig, parse_stack_config
from tests.outputs import known
from workloads import WORKLOADS_ROOT, Function, StackContext, discover

FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
QUEUE = "aws:sqs/queue:Queue"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

REGION = {"aws:region": "us-east-1"}
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:failed-squares"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:consumer"
BUCKET_ARN = "arn:aws:s3:::ackflow-results"


@pytest.fixture(scope="module")
def available() -> dict:
    return discover()


def pulumi_config(raw: dict[str, Any]) -> dict[str, Any]:
    """``{"workloads": ...}`` as the flat Pulumi config ``capture`` takes."""
    return REGION | {f"ackflow:{key}": value for key, value in raw.items()}


def squaring(**settings: Any) -> dict[str, Any]:
    return {"workloads": {"squaring": settings}}


def mentions(message: str, value: str) -> bool:
    """Whether ``value`` appears in ``message`` as a whole token (``10`` is not in ``1096``)."""
    return re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w-]|\.\w)", message) is not None


def one(cap: Capture, type_token: str, name: str = "squaring-worker") -> RecordedResource:
    """The squaring worker's one resource of that type (the API has log groups and roles too)."""
    return cap.named(type_token, name)


# --- one case per rule -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A bad config and what its one problem line must say."""

    raw: dict[str, Any]
    key: str
    """The full key, as ``ackflow:workloads.squaring.retries``."""
    value: str
    """The bad value as the message shows it."""
    allowed: tuple[str, ...]
    """Fragments saying what is allowed."""


CASES = {
    "retries-above-2": Case(
        squaring(retries=3), "ackflow:workloads.squaring.retries", "3", ("less than or equal to 2",)
    ),
    "retries-below-0": Case(
        squaring(retries=-1),
        "ackflow:workloads.squaring.retries",
        "-1",
        ("greater than or equal to 0",),
    ),
    "age-below-60": Case(
        squaring(maxEventAgeSeconds=59),
        "ackflow:workloads.squaring.maxEventAgeSeconds",
        "59",
        ("greater than or equal to 60",),
    ),
    "age-above-21600": Case(
        squaring(maxEventAgeSeconds=21601),
        "ackflow:workloads.squaring.maxEventAgeSeconds",
        "21601",
        ("less than or equal to 21600",),
    ),
    "string-for-int": Case(
        squaring(retries="two"),
        "ackflow:workloads.squaring.retries",
        "'two'",
        ("valid integer",),
    ),
    "numeric-string-for-int": Case(
        squaring(memoryMb="512"),
        "ackflow:workloads.squaring.memoryMb",
        "'512'",
        ("valid integer",),
    ),
    "true-for-int": Case(
        squaring(retries=True), "ackflow:workloads.squaring.retries", "True", ("valid integer",)
    ),
    "false-for-int": Case(
        squaring(timeoutSeconds=False),
        "ackflow:workloads.squaring.timeoutSeconds",
        "False",
        ("valid integer",),
    ),
    "unknown-architecture": Case(
        squaring(architecture="x86"),
        "ackflow:workloads.squaring.architecture",
        "'x86'",
        ("'arm64'", "'x86_64'"),
    ),
    "unknown-workload-near": Case(
        {"workloads": {"sqaring": {}}},
        "ackflow:workloads.sqaring",
        "'sqaring'",
        ("Did you mean 'squaring'?", "Available: bedrock, slack, squaring"),
    ),
    "unknown-workload-far": Case(
        {"workloads": {"translation": {}}},
        "ackflow:workloads.translation",
        "'translation'",
        ("Available: bedrock, slack, squaring",),
    ),
    "misspelt-workload-key": Case(
        squaring(maxEventAgeSecond=900),
        "ackflow:workloads.squaring.maxEventAgeSecond",
        "'maxEventAgeSecond'",
        ("Did you mean 'maxEventAgeSeconds'?", "retries"),
    ),
    "misspelt-namespace-key": Case(
        {"workload": {"squaring": {}}},
        "ackflow:workload",
        "'workload'",
        ("Did you mean 'workloads'?", "api, workloads"),
    ),
    "misspelt-api-key": Case(
        {"api": {"apiKeyDay": 30}},
        "ackflow:api.apiKeyDay",
        "'apiKeyDay'",
        ("Did you mean 'apiKeyDays'?", "auth"),
    ),
    "s3-on-success": Case(
        squaring(onSuccess=BUCKET_ARN),
        "ackflow:workloads.squaring.onSuccess",
        repr(BUCKET_ARN),
        ("an SQS queue", "an SNS topic", "an EventBridge bus", "a Lambda function", "'none'"),
    ),
    "junk-on-failure": Case(
        squaring(onFailure="my-queue"),
        "ackflow:workloads.squaring.onFailure",
        "'my-queue'",
        ("an SQS queue", "an S3 bucket", "'queue'", "'none'"),
    ),
    "lambda-as-dlq": Case(
        squaring(dlq=LAMBDA_ARN),
        "ackflow:workloads.squaring.dlq",
        repr(LAMBDA_ARN),
        ("an SQS queue", "an SNS topic", "true"),
    ),
    "cognito-without-pool": Case(
        {"api": {"auth": "cognito"}},
        "ackflow:api",
        "'cognito'",
        ("cognitoUserPoolId",),
    ),
    "log-retention-not-a-cloudwatch-value": Case(
        squaring(logRetentionDays=10),
        "ackflow:workloads.squaring.logRetentionDays",
        "10",
        ("1, 3, 5, 7, 14, 30",),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_parse_names_full_key_bad_value_and_what_is_allowed(case: Case, available: dict):
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(case.raw, available)

    assert len(caught.value.problems) == 1, caught.value.problems
    problem = caught.value.problems[0]
    assert problem.startswith(f"{case.key}: "), problem
    assert mentions(problem, case.value), f"{case.value} not named in: {problem}"
    for fragment in case.allowed:
        assert fragment in problem, f"{fragment!r} not in: {problem}"


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_program_stops_with_the_same_message_through_capture(case: Case):
    with pytest.raises(CaptureError) as caught:
        capture("dev", pulumi_config(case.raw))

    message = str(caught.value)
    assert message.startswith("Invalid stack config:"), message
    assert f"  - {case.key}: " in message, message
    assert mentions(message, case.value), f"{case.value} not named in: {message}"
    for fragment in case.allowed:
        assert fragment in message, f"{fragment!r} not in: {message}"


BAD_EVERYWHERE = {
    "workload": {},
    "api": {"auth": "password", "apiKeyDays": 0},
    "workloads": {"squaring": {"retries": 5, "memoryMb": 64}, "cubing": {}},
}
BAD_EVERYWHERE_KEYS = [
    "ackflow:workload",
    "ackflow:api.auth",
    "ackflow:api.apiKeyDays",
    "ackflow:workloads.squaring.retries",
    "ackflow:workloads.squaring.memoryMb",
    "ackflow:workloads.cubing",
]


def test_parse_reports_every_problem_at_once(available: dict):
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(BAD_EVERYWHERE, available)

    problems = caught.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == BAD_EVERYWHERE_KEYS


def test_program_reports_every_problem_at_once_through_capture():
    with pytest.raises(CaptureError) as caught:
        capture("dev", pulumi_config(BAD_EVERYWHERE))

    lines = str(caught.value).splitlines()[1:]
    assert [line.removeprefix("  - ").split(": ", 1)[0] for line in lines] == BAD_EVERYWHERE_KEYS


@pytest.mark.parametrize(
    "raw",
    [{"workloads": ["squaring"]}, {"workloads": {"squaring": 5}}, {"api": "iam"}],
    ids=["workloads-list", "settings-scalar", "api-scalar"],
)
def test_parse_refuses_a_scalar_or_list_where_a_map_is_expected(raw: dict, available: dict):
    with pytest.raises(ConfigError, match="expected a map"):
        parse_stack_config(raw, available)


# --- no resource when config is bad ----------------------------------------------------------


def run_main_keeping_the_error(config: dict[str, Any]) -> tuple[Capture, list[str]]:
    """Evaluate ``stack.program.main()``; a RunError is kept, so what was declared can be read."""
    errors: list[str] = []

    def guarded_main() -> None:
        try:
            program.main()
        except pulumi.RunError as error:
            errors.append(str(error))

    return evaluate(guarded_main, "dev", config), errors


def test_good_config_declares_resources_when_main_runs_guarded():
    # The control for the test below: the guard itself hides no resource.
    cap, errors = run_main_keeping_the_error(pulumi_config(squaring(retries=1)))

    assert errors == []
    assert len(cap.resources) >= 8
    assert one(cap, FUNCTION)


@pytest.mark.parametrize(
    "raw",
    [
        squaring(retries=3),
        squaring(onFailure="junk"),
        {"workloads": {"squaring": {}, "cubing": {}}},  # one good workload, one unknown
        {"api": {"auth": "cognito"}, "workloads": {"squaring": {}}},
    ],
    ids=["bad-retries", "bad-destination", "good-and-unknown-workload", "bad-api-good-workload"],
)
def test_bad_config_declares_no_resource_at_all(raw: dict):
    cap, errors = run_main_keeping_the_error(pulumi_config(raw))

    assert len(errors) == 1
    assert errors[0].startswith("Invalid stack config:")
    assert cap.resources == []
    assert cap.outputs == {}


# --- valid settings flow into the worker (read with the workload authors' testing kit) -------


def test_dev_stack_file_settings_reach_the_invoke_config_and_log_group():
    squaring = workload_resources(evaluate_stack(PROJECT_ROOT / "Pulumi.dev.yaml"), "squaring")

    assert squaring.invoke_config.retries == 1
    assert squaring.invoke_config.max_event_age_seconds == 900
    assert squaring.worker.log_retention_days == 7


def test_dlq_true_creates_a_dead_letter_queue_for_the_worker():
    squaring = evaluate_workload("squaring", {"dlq": True})
    dlq = squaring.queues["dead_letter"]

    assert dlq.name.startswith("squaring-worker-dlq")
    assert squaring.worker.dead_letter_target == dlq.arn
    assert dlq.sqs_managed_encryption


def test_dlq_false_and_unset_create_no_dead_letter_queue():
    for settings in ({"dlq": False}, {}):
        squaring = evaluate_workload("squaring", settings)
        assert sorted(r.name for r in squaring.resources if r.type == QUEUE) == [
            "squaring-worker-failure",
            "squaring-worker-success",
        ]
        assert squaring.worker.dead_letter_target is None


def test_on_success_none_drops_the_success_destination():
    cap = evaluate_stack(pulumi_config(squaring(onSuccess="none")))
    resources = workload_resources(cap, "squaring")

    assert resources.invoke_config.on_success is None
    assert resources.invoke_config.on_failure == resources.queues["failure"].arn
    assert [r.name for r in resources.resources if r.type == QUEUE] == ["squaring-worker-failure"]
    assert "squaringSuccessQueueUrl" not in cap.outputs
    assert known(cap.outputs, "squaringFailureQueueUrl")


def test_existing_sns_topic_on_failure_is_used_verbatim():
    resources = evaluate_workload("squaring", {"onFailure": TOPIC_ARN})

    assert resources.invoke_config.on_failure == TOPIC_ARN
    assert [r.name for r in resources.resources if r.type == QUEUE] == ["squaring-worker-success"]
    assert [s for s in resources.worker.statements if s["Resource"] == TOPIC_ARN] == [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC_ARN}
    ]


def test_stack_settings_override_aws_defaults_in_the_function():
    worker = evaluate_workload(
        "squaring",
        {"memoryMb": 512, "timeoutSeconds": 60, "architecture": "x86_64", "tracing": True},
    ).worker

    assert worker.memory_mb == 512
    assert worker.timeout_seconds == 60
    assert worker.architectures == ("x86_64",)
    assert worker.tracing


def build_squaring_with_defaults(
    defaults: dict[str, Any], stack_settings: dict[str, Any]
) -> Capture:
    """Build the squaring worker with ``Function.defaults`` set, as a workload may declare."""
    workloads = discover()
    workloads["squaring"] = replace(
        workloads["squaring"], worker=Function(handler="handler.handler", defaults=defaults)
    )
    config: StackConfig = parse_stack_config(squaring(**stack_settings), workloads)
    context = StackContext(
        project="ackflow", stack="dev", region="us-east-1", account_id="000000000000"
    )
    return evaluate(
        lambda: program.build_workers(config, workloads, SourceBundler(), context), "dev", REGION
    )


def test_workload_defaults_apply_when_the_stack_leaves_a_setting_unset():
    cap = build_squaring_with_defaults({"timeout_seconds": 30, "memory_mb": 512}, {})
    function = one(cap, FUNCTION)

    assert known(function.inputs, "timeout") == 30
    assert known(function.inputs, "memorySize") == 512


def test_stack_settings_override_workload_defaults():
    cap = build_squaring_with_defaults({"timeout_seconds": 30}, {"timeoutSeconds": 45})

    assert known(one(cap, FUNCTION).inputs, "timeout") == 45


def test_an_enabled_workload_missing_its_secret_names_the_command_that_sets_it():
    with pytest.raises(ConfigError) as raised:
        parse_stack_config({"workloads": {"slack": {}}}, discover())
    (problem,) = raised.value.problems
    assert problem.startswith("ackflow:slackSigningSecret: required by workload slack")
    assert problem.endswith(
        "Set it with: pulumi config set --secret ackflow:slackSigningSecret <value>"
    )


def test_a_set_secret_reaches_the_config_and_a_disabled_workloads_secret_is_no_unknown_key():
    raw = {"workloads": {"slack": {}}, "slackSigningSecret": "8f742231b10e8888abcd99yyyzzz85a5"}
    assert parse_stack_config(raw, discover()).secrets == {
        "slackSigningSecret": "8f742231b10e8888abcd99yyyzzz85a5"
    }
    only_squaring = {"workloads": {"squaring": {}}, "slackSigningSecret": "x"}
    assert parse_stack_config(only_squaring, discover()).secrets == {}


def test_the_secret_reaches_a_secure_string_parameter_only_the_front_may_read():
    slack = evaluate_workload("slack", secrets={"slackSigningSecret": "s3cr3t-value"})
    assert slack.front is not None
    (parameter,) = [r for r in slack.resources if r.type == "aws:ssm/parameter:Parameter"]

    assert parameter.inputs["type"] == "SecureString"
    assert parameter.inputs["value"] == "s3cr3t-value"
    assert "value" in parameter.secret_inputs
    parameter_arn = parameter.outputs["arn"]
    assert {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": parameter_arn} in (
        slack.front.statements
    )
    assert parameter_arn not in json.dumps(slack.worker.statements)
    assert not slack.worker.allows("ssm:GetParameter", parameter_arn)
    front_env = slack.front.environment
    assert front_env["SLACK_SIGNING_SECRET_PARAMETER"] == parameter.outputs["name"]
    assert "s3cr3t-value" not in json.dumps(front_env)


# --- two enabled workloads claiming the same operation ---------------------------------------


def copy_of_squaring(root: Path, name: str) -> Path:
    """``cp -r workloads/squaring <root>/<name>`` and the rename the README asks for."""
    folder = root / name
    shutil.copytree(
        WORKLOADS_ROOT / "squaring", folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    workload_py = folder / "workload.py"
    workload_py.write_text(workload_py.read_text().replace('name="squaring"', f'name="{name}"'))
    return folder


def test_two_workloads_claiming_the_same_routes_and_schema_types_are_refused_together(
    tmp_path: Path,
):
    copy_of_squaring(tmp_path, "cubing")
    available = discover(WORKLOADS_ROOT, tmp_path)

    with pytest.raises(ConfigError) as caught:
        parse_stack_config({"workloads": {"squaring": {}, "cubing": {}}}, available)

    assert caught.value.problems == [
        "ackflow:workloads: squaring and cubing both declare GET /square/{number}; "
        "enable one of them, or change one's route",
        "ackflow:workloads: squaring and cubing both declare POST /square; "
        "enable one of them, or change one's route",
        "ackflow:workloads: type SquareResult is defined by both workload 'cubing' and "
        "workload 'squaring'; enable one of them, or rename it in one",
    ]
    # Each alone is fine.
    assert parse_stack_config({"workloads": {"cubing": {}}}, available).workloads


def test_routes_differing_only_in_a_path_variables_name_are_one_route(tmp_path: Path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (other / "workload.py").write_text(
        "from workloads import Function, HttpRoute, Invocation, Workload\n"
        'WORKLOAD = Workload(name="other", summary="s", worker=Function(handler="handler.handler"),'
        ' routes=(HttpRoute(method="GET", path="/square/{n}", invocation=Invocation.EVENT),))\n'
    )
    available = discover(WORKLOADS_ROOT, tmp_path)

    with pytest.raises(ConfigError) as caught:
        parse_stack_config({"workloads": {"squaring": {}, "other": {}}}, available)

    assert caught.value.problems == [
        "ackflow:workloads: squaring and other both declare GET /square/{n}; "
        "enable one of them, or change one's route"
    ]


def test_conflicting_workloads_stop_the_program_before_any_resource(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    copy_of_squaring(tmp_path, "cubing")
    monkeypatch.setenv(program.WORKLOADS_PATH_ENV, str(tmp_path))

    cap, errors = run_main_keeping_the_error(
        pulumi_config({"workloads": {"squaring": {}, "cubing": {}}})
    )

    assert len(errors) == 1
    assert "squaring and cubing both declare GET /square/{number}" in errors[0]
    assert cap.resources == []
