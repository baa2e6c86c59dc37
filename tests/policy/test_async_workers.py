"""async-workers-have-failure-destination (advisory): a stack policy joining functions and
their invoke configs."""

from __future__ import annotations

from local.cloud.capture import Capture
from tests.policy.adapter import adding, changed, policy_named, replacing, resource, run

POLICY = policy_named("async-workers-have-failure-destination")
FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
WORKER = "ackflow:index:AsyncWorker"


def _without_failure_destination(stack: Capture, name: str) -> Capture:
    config = stack.named(INVOKE_CONFIG, name)
    destinations = {"onSuccess": config.inputs["destinationConfig"]["onSuccess"]}
    return replacing(stack, changed(config, destinationConfig=destinations))


def test_the_example_stacks_pass(example_stack: Capture):
    workers = example_stack.of_type(WORKER)
    assert len(workers) == len(example_stack.of_type(INVOKE_CONFIG)) == 3
    assert run(POLICY, example_stack) == []


def test_a_worker_without_failure_destination_or_dlq_is_named(dev: Capture):
    violations = run(POLICY, _without_failure_destination(dev, "squaring-worker"))
    assert [v.message for v in violations] == [
        f"{FUNCTION} squaring-worker: invoked asynchronously with neither an on-failure "
        "destination nor a dead-letter queue, so events that exhaust their retries are dropped; "
        "set onFailure (or dlq) for this worker"
    ]
    assert violations[0].urn == dev.named(FUNCTION, "squaring-worker").urn


def test_a_dead_letter_queue_is_enough(prod: Capture):
    assert prod.named(FUNCTION, "squaring-worker").inputs["deadLetterConfig"]["targetArn"]
    assert run(POLICY, _without_failure_destination(prod, "squaring-worker")) == []


def test_an_invoke_config_naming_its_function_by_arn_is_joined(dev: Capture):
    config = dev.named(INVOKE_CONFIG, "slack-worker")
    arn = dev.named(FUNCTION, "slack-worker").outputs["arn"]
    stack = replacing(dev, changed(config, functionName=f"{arn}:$LATEST", destinationConfig=None))
    assert [v.urn for v in run(POLICY, stack)] == [dev.named(FUNCTION, "slack-worker").urn]


def test_a_function_in_an_async_worker_with_no_invoke_config_is_a_worker(dev: Capture):
    component = dev.named(WORKER, "squaring-worker")
    extra = resource(dev, FUNCTION, "extra", {"name": "ackflow-dev-extra"}, parent=component.urn)
    assert [v.urn for v in run(POLICY, adding(dev, extra))] == [extra.urn]


def test_a_front_function_is_not_a_worker(dev: Capture):
    front = dev.named(FUNCTION, "slack-front")
    assert "deadLetterConfig" not in front.inputs
    assert all(v.urn != front.urn for v in run(POLICY, dev))
