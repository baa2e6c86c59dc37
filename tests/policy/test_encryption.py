"""queues-and-topics-encrypted: every SQS queue and SNS topic has server-side encryption."""

from __future__ import annotations

import pytest

from local.cloud.capture import Capture
from tests.policy.adapter import adding, changed, policy_named, replacing, resource, run

POLICY = policy_named("queues-and-topics-encrypted")
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"


def test_the_example_stacks_pass(example_stack: Capture):
    assert example_stack.of_type(QUEUE), "no queue to check"
    assert run(POLICY, example_stack) == []


def test_a_queue_without_encryption_is_named(dev: Capture):
    queue = dev.named(QUEUE, "squaring-worker-failure")
    violations = run(POLICY, replacing(dev, changed(queue, sqsManagedSseEnabled=None)))
    assert [v.message for v in violations] == [
        "aws:sqs/queue:Queue squaring-worker-failure is not encrypted: set "
        "sqsManagedSseEnabled: true or a kmsMasterKeyId"
    ]
    assert violations[0].urn == queue.urn


@pytest.mark.parametrize(
    ("type_token", "inputs", "encrypted"),
    [
        (QUEUE, {"sqsManagedSseEnabled": False}, False),
        (QUEUE, {"kmsMasterKeyId": "alias/aws/sqs"}, True),
        (TOPIC, {}, False),
        (TOPIC, {"kmsMasterKeyId": ""}, False),
        (TOPIC, {"kmsMasterKeyId": "alias/aws/sns"}, True),
    ],
)
def test_queues_and_topics(dev: Capture, type_token: str, inputs: dict, encrypted: bool):
    stack = adding(dev, resource(dev, type_token, "extra", inputs))
    messages = [v.message for v in run(POLICY, stack)]
    if encrypted:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(f"{type_token} extra is not encrypted")
