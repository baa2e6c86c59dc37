"""`ackflow preview`: the offline plan of a stack, and its errors as a user reads them."""

from __future__ import annotations

import json

import pytest

from local.cli import main
from local.cloud.capture import CaptureError, capture
from local.cloud.preview import summarize


def test_preview_of_dev_prints_each_worker_with_its_invoke_settings_and_permissions(capsys):
    assert main(["preview", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "ackflow:index:AsyncWorker squaring-worker" in out
    assert "retries 1, max event age 900 s" in out
    assert "allow sqs:SendMessage on" in out
    assert "memory 128 MB, timeout 3 s" in out
    assert "squaringSuccessQueueUrl" in out


def test_preview_of_prod_shows_the_dlq_alarm_and_tracing_it_configures(capsys):
    assert main(["preview", "--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert "aws:cloudwatch/metricAlarm:MetricAlarm squaring-worker-failures" in out
    assert "tracing Active" in out
    assert "reserved concurrency 20" in out
    assert "retries 2, max event age 3600 s" in out


def test_preview_says_a_missing_secret_is_missing_that_a_placeholder_stood_in_and_how_to_set_it(
    capsys, caplog, monkeypatch
):
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    assert main(["preview", "--stack", "prod"]) == 0  # prod's stack file has no such key
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "ackflow:slackSigningSecret is missing from stack prod's config: "
        "this preview used a placeholder." in out
    )
    assert "Set it with: pulumi config set --secret ackflow:slackSigningSecret <value>" in out
    assert not plain_text_warnings(caplog), "a placeholder is no secret stored in plain text"


def test_preview_names_the_environment_variable_a_missing_secret_came_from(
    capsys, caplog, monkeypatch
):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "from-the-environment")
    assert main(["preview", "--stack", "prod"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "this preview used SLACK_SIGNING_SECRET from the environment." in out
    assert not plain_text_warnings(caplog)


def test_preview_warns_of_a_secret_the_stack_file_holds_in_plain_text(capsys, caplog):
    assert main(["preview", "--stack", "dev"]) == 0  # dev ships a plain stand-in
    assert plain_text_warnings(caplog) == [
        "ackflow:slackSigningSecret is stored in plain text in the stack file; encrypt it with: "
        "pulumi config set --secret ackflow:slackSigningSecret <value>"
    ]
    assert "is missing from stack" not in capsys.readouterr().out


def plain_text_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the program warned (``pulumi.log.warn`` reaches the capture's logger)."""
    return [r.getMessage() for r in caplog.records if "plain text" in r.getMessage()]


def test_preview_of_an_unknown_stack_names_the_stacks_that_exist(capsys):
    assert main(["preview", "--stack", "staging"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.staging.yaml" in err
    assert "dev" in err and "prod" in err


def test_preview_with_bad_config_prints_every_problem_and_no_plan(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(
        "config:\n  ackflow:workloads:\n    squaring:\n      retries: 7\n      memoryMB: 512\n"
    )
    assert main(["preview", "--stack-file", str(stack_file)]) == 2
    captured = capsys.readouterr()
    assert "ackflow:workloads.squaring.retries: 7 is not allowed" in captured.err
    assert "Did you mean 'memoryMb'?" in captured.err
    assert "AsyncWorker" not in captured.out


def test_preview_of_a_stack_file_elsewhere_names_the_stack_after_the_file(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.staging.yaml"
    stack_file.write_text("config:\n  ackflow:workloads:\n    squaring:\n      retries: 0\n")
    assert main(["preview", "--stack-file", str(stack_file)]) == 0
    out = capsys.readouterr().out
    assert "stack staging" in out
    assert "ackflow-staging-squaring-worker" in out
    assert "retries 0," in out


def test_capture_records_component_parents_and_registered_outputs():
    result = capture("dev")
    worker = result.named("ackflow:index:AsyncWorker", "squaring-worker")
    children = {r.type for r in result.children(worker)}
    assert {
        "aws:lambda/function:Function",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "aws:sqs/queue:Queue",
    } <= children
    assert worker.component_outputs["functionName"] == "ackflow-dev-squaring-worker"
    assert result.outputs["squaringFunctionName"] == "ackflow-dev-squaring-worker"


def test_policy_summary_lists_one_line_per_statement():
    result = capture("dev")
    policy = result.named("aws:iam/rolePolicy:RolePolicy", "squaring-worker")
    lines = summarize(policy)
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert len(lines) == len(statements) == 3
    assert lines[0].startswith("allow logs:CreateLogStream, logs:PutLogEvents on arn:aws:logs:")


def test_capture_refuses_a_stack_file_that_does_not_exist(tmp_path):
    with pytest.raises(CaptureError, match=r"no stack file Pulumi\.qa\.yaml"):
        capture("qa", project_dir=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config:\n  ackflow:workloads: {squaring: {retries: 1}\n", "is not valid YAML"),
        ("config: [1, 2]\n", "`config:` must be a map of settings"),
    ],
)
def test_a_broken_stack_file_is_named_with_what_is_wrong(tmp_path, capsys, text, message):
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(text)

    assert main(["preview", "--stack-file", str(stack_file)]) == 2
    err = capsys.readouterr().err
    assert str(stack_file) in err
    assert message in err


def test_preview_says_an_encrypted_secret_is_encrypted_not_missing(
    tmp_path, capsys, caplog, monkeypatch
):
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    stack_file = tmp_path / "Pulumi.staging.yaml"
    stack_file.write_text(
        "config:\n  ackflow:workloads:\n    slack: {}\n"
        "  ackflow:slackSigningSecret:\n    secure: AAABAHVuZGVjcnlwdGFibGU=\n"
    )

    assert main(["preview", "--stack-file", str(stack_file)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "ackflow:slackSigningSecret is encrypted in stack staging's file, which only Pulumi "
        "can read: this preview used a placeholder." in out
    )
    assert "is missing" not in out
    assert not plain_text_warnings(caplog)
