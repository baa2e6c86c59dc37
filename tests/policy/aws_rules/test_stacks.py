"""aws-api-rules over the example stacks: every resource type is checked, and none breaks a rule."""

from __future__ import annotations

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from local.cloud.capture import Capture
from policy.aws_rules import CHECKED_TYPES, check
from tests.policy.adapter import analyzer_props, changed, named, policy_named, replacing, run

POLICY = policy_named("aws-api-rules")


def test_every_resource_type_the_stacks_declare_is_checked(example_stack: Capture):
    declared = {r.type for r in example_stack.resources if not r.is_component}
    assert declared - CHECKED_TYPES == set()


def test_the_example_stacks_break_no_aws_rule(example_stack: Capture):
    assert run(POLICY, example_stack) == []


def test_the_checks_see_the_inputs_through_the_analyzers_proxies(dev: Capture):
    worker = named(dev, "aws:lambda/function:Function", "squaring-worker")
    assert check(worker.type, worker.name, analyzer_props(worker.inputs)) == []
    broken = analyzer_props(changed(worker, memorySize=100.0).inputs)
    assert len(check(worker.type, worker.name, broken)) == 1


def test_the_pack_reports_a_broken_input_on_the_resource(dev: Capture):
    config = named(
        dev, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "slack-worker"
    )
    violations = run(POLICY, replacing(dev, changed(config, maximumRetryAttempts=3.0)))
    assert [(v.message, v.urn) for v in violations] == [
        (
            "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig slack-worker: "
            "maximumRetryAttempts 3 is above PutFunctionEventInvokeConfig's MaximumRetryAttempts "
            "maximum 2 (botocore lambda model)",
            config.urn,
        )
    ]


def test_values_unknown_during_a_preview_are_skipped_and_the_rest_checked(dev: Capture):
    worker = named(dev, "aws:lambda/function:Function", "squaring-worker")
    preview = changed(worker, role=UNKNOWN_STRING_VALUE, memorySize=100.0).inputs
    messages = check(worker.type, worker.name, analyzer_props(preview))
    assert [m.split(": ", 1)[1].split(" is ")[0] for m in messages] == ["memorySize 100"]
