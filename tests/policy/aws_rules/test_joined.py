"""apigateway-mapped-parameters-declared: an integration maps only what its method declares."""

from __future__ import annotations

from local.cloud.capture import Capture
from policy.aws_rules.documented import Prose
from tests.policy.adapter import changed, policy_named, replacing, run

POLICY = policy_named("apigateway-mapped-parameters-declared")
METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"


def test_the_example_stacks_pass(example_stack: Capture):
    mapped = [r for r in example_stack.of_type(INTEGRATION) if r.inputs.get("requestParameters")]
    assert mapped, "no integration maps a parameter"
    assert run(POLICY, example_stack) == []


def test_a_mapped_header_the_method_does_not_declare_is_named(dev: Capture):
    method = dev.named(METHOD, "squaring-get-square-number")
    parameters = {"method.request.path.number": True}  # InvocationType no longer declared
    violations = run(POLICY, replacing(dev, changed(method, requestParameters=parameters)))
    assert [(v.message, v.urn) for v in violations] == [
        (
            f"{INTEGRATION} squaring-get-square-number: requestParameters maps "
            "method.request.header.InvocationType, which its method does not declare in its "
            "requestParameters (documented in botocore's apigateway model at "
            "PutMethod.requestParameters)",
            dev.named(INTEGRATION, "squaring-get-square-number").urn,
        )
    ]


def test_static_values_need_no_declaration(prod: Capture):
    integration = prod.named(INTEGRATION, "squaring-get-square-number")
    assert integration.inputs["requestParameters"] == {
        "integration.request.header.X-Amz-Invocation-Type": "'Event'"
    }
    assert (
        "method.request.header.InvocationType"
        not in prod.named(METHOD, "squaring-get-square-number").inputs["requestParameters"]
    )
    assert run(POLICY, prod) == []


def test_the_rule_is_still_in_botocores_words():
    prose = Prose(
        "apigateway",
        "PutMethod",
        "requestParameters",
        "The method request parameter names defined here are available in Integration to be "
        "mapped to integration request parameters",
    )
    assert prose.quote in prose.text()
