"""lambda-environment-no-secrets and secrets-stay-in-their-store."""

from __future__ import annotations

import pytest

from local.cloud.capture import Capture
from policy.secrets import credential_kind, environment_problems, is_reference
from tests.policy.adapter import changed, policy_named, replacing, run, with_outputs

ENVIRONMENT = policy_named("lambda-environment-no-secrets")
STORED = policy_named("secrets-stay-in-their-store")
FUNCTION = "aws:lambda/function:Function"
PARAMETER = "aws:ssm/parameter:Parameter"
ACCESS_KEY_ID = "AKIA" + "ABCDEFGHIJKLMNOP"
SLACK_TOKEN = "xoxb-" + "1234567890-abcdefghij"


def _front_with(stack: Capture, secret: bool = False, **variables: str) -> Capture:
    front = stack.named(FUNCTION, "slack-front")
    environment = {"variables": {**front.inputs["environment"]["variables"], **variables}}
    updated = changed(front, environment=environment)
    if secret:
        updated.secret_inputs = {"environment"}
    return replacing(stack, updated)


def _signing_secret(stack: Capture) -> str:
    return stack.named(PARAMETER, "slack-front-slack-signing-secret").inputs["value"]


def test_the_example_stacks_pass(example_stack: Capture):
    front = example_stack.named(FUNCTION, "slack-front")
    assert "SLACK_SIGNING_SECRET_PARAMETER" in front.inputs["environment"]["variables"]
    assert run(ENVIRONMENT, example_stack) == []
    assert run(STORED, example_stack) == []


def test_dev_exports_its_api_key_as_a_secret_output_and_passes(dev: Capture):
    assert "apiKey" in dev.secret_outputs
    assert run(STORED, dev) == []


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"SLACK_TOKEN": SLACK_TOKEN}, "SLACK_TOKEN holds a Slack token"),
        ({"DB_PASSWORD": "hunter2-but-longer"}, "DB_PASSWORD is named like a secret"),
        ({"OPENAI_API_KEY": "sk-abc"}, "OPENAI_API_KEY is named like a secret"),
        ({"signing_secret": "plain"}, "signing_secret is named like a secret"),
        ({"SETTINGS": ACCESS_KEY_ID}, "SETTINGS holds an AWS access key id"),
        ({"CERT": "-----BEGIN RSA PRIVATE KEY-----\nMII..."}, "CERT holds a PEM private key"),
    ],
)
def test_a_secret_in_an_environment_variable_is_named(dev: Capture, variables, expected):
    violations = run(ENVIRONMENT, _front_with(dev, **variables))
    assert len(violations) == 1, violations
    assert violations[0].message.startswith(f"{FUNCTION} slack-front: environment variable ")
    assert expected in violations[0].message


def test_a_pulumi_secret_in_an_environment_variable_is_still_caught_by_its_name(dev: Capture):
    # The analyzer hands policies secrets unwrapped: the name gives this one away.
    violations = run(ENVIRONMENT, _front_with(dev, secret=True, SIGNING_SECRET="s3cr3t-value"))
    assert [v.message.split(";")[0] for v in violations] == [
        f"{FUNCTION} slack-front: environment variable SIGNING_SECRET is named like a secret but "
        "holds a value, not a parameter name (/…) or an SSM / Secrets Manager ARN"
    ]


def test_a_stored_secret_passed_in_the_environment_under_any_name_is_caught(dev: Capture):
    stack = _front_with(dev, secret=True, CONFIG=_signing_secret(dev))
    assert run(ENVIRONMENT, stack) == []  # nothing in the name or the shape gives it away...
    violations = run(STORED, stack)  # ...but the stack stores that value as a SecureString
    assert [v.message for v in violations] == [
        f"{FUNCTION} slack-front: environment variable CONFIG holds the value stored in "
        "aws:ssm/parameter:Parameter slack-front-slack-signing-secret; pass or export the "
        "parameter's name instead"
    ]
    assert violations[0].urn == dev.named(FUNCTION, "slack-front").urn


@pytest.mark.parametrize("secret", [False, True])
def test_a_stack_output_carrying_a_stored_secret_is_caught_marked_secret_or_not(dev, secret):
    stack = with_outputs(
        dev, secret=["signingSecret"] if secret else [], signingSecret=_signing_secret(dev)
    )
    messages = [v.message for v in run(STORED, stack)]
    assert len(messages) == 1
    assert messages[0].startswith("pulumi:pulumi:Stack ackflow-dev: stack output signingSecret ")


def test_a_plain_output_carrying_a_credential_is_caught(dev: Capture):
    messages = [v.message for v in run(STORED, with_outputs(dev, deployKey=ACCESS_KEY_ID))]
    assert messages == [
        "pulumi:pulumi:Stack ackflow-dev: stack output deployKey holds an AWS access key id"
    ]


@pytest.mark.parametrize(
    ("value", "reference"),
    [
        ("/ackflow/dev/slack-front/slack-signing-secret", True),
        ("arn:aws:ssm:us-east-1:000000000000:parameter/x", True),
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:x-AbCdEf", True),
        ("my-parameter", False),
        ("/not a path", False),
        ("arn:aws:s3:::bucket", False),
    ],
)
def test_what_counts_as_a_reference(value: str, reference: bool):
    assert is_reference(value) is reference


def test_ordinary_settings_pass():
    ordinary = {
        "IDEMPOTENCY_TABLE": "t",
        "POWERTOOLS_SERVICE_NAME": "w",
        "SLACK_SLOW_SECONDS": "10",
    }
    assert environment_problems(ordinary) == []
    assert credential_kind("xoxb") is None
