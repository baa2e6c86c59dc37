"""The dev stack's REST front, as the program declares it under the fake cloud."""

from __future__ import annotations

import json

import pytest

from components.rest_front import CLIENT_ERROR_PATTERN, SERVER_ERROR_PATTERN
from local.cloud.capture import Capture, capture
from tests.outputs import known

INTEGRATION = "aws:apigateway/integration:Integration"
METHOD = "aws:apigateway/method:Method"
METHOD_RESPONSE = "aws:apigateway/methodResponse:MethodResponse"
INTEGRATION_RESPONSE = "aws:apigateway/integrationResponse:IntegrationResponse"
PERMISSION = "aws:lambda/permission:Permission"
INVOCATION_HEADER = "integration.request.header.X-Amz-Invocation-Type"


@pytest.fixture(scope="module")
def dev() -> Capture:
    return capture("dev")


def test_the_square_get_route_maps_the_callers_invocation_type_header(dev: Capture):
    integration = dev.named(INTEGRATION, "squaring-get-square-number")
    method = dev.named(METHOD, "squaring-get-square-number")

    assert known(integration.inputs, "type") == "AWS"
    assert known(integration.inputs, "integrationHttpMethod") == "POST"
    assert known(integration.inputs, "requestParameters") == {
        INVOCATION_HEADER: "method.request.header.InvocationType"
    }
    assert known(method.inputs, "requestParameters") == {
        "method.request.path.number": True,
        "method.request.header.InvocationType": False,
    }
    worker = dev.named("aws:lambda/function:Function", "squaring-worker")
    assert known(integration.inputs, "uri") == worker.outputs["invokeArn"]


def test_the_square_get_route_answers_200_202_400_and_500(dev: Capture):
    statuses = {
        r.inputs["statusCode"]
        for r in dev.of_type(METHOD_RESPONSE)
        if r.name.startswith("squaring-get-square-number")
    }
    assert statuses == {"200", "202", "400", "500"}
    default = dev.named(INTEGRATION_RESPONSE, "squaring-get-square-number-200")
    template = known(default.inputs, "responseTemplates")["application/json"]
    assert "$input.params('InvocationType') == 'Event'" in template
    assert "#set($context.responseOverride.status = 202)" in template
    assert "selectionPattern" not in default.inputs


def test_worker_errors_map_to_400_for_validation_and_500_for_anything_else(dev: Capture):
    client = dev.named(INTEGRATION_RESPONSE, "squaring-get-square-number-400")
    server = dev.named(INTEGRATION_RESPONSE, "squaring-get-square-number-500")

    assert known(client.inputs, "selectionPattern") == CLIENT_ERROR_PATTERN
    assert known(server.inputs, "selectionPattern") == SERVER_ERROR_PATTERN
    assert "errorMessage" in known(client.inputs, "responseTemplates")["application/json"]
    server_body = known(server.inputs, "responseTemplates")["application/json"]
    assert "stackTrace" not in server_body and "errorMessage" not in server_body


def test_the_post_route_validates_its_body_against_a_json_schema_model(dev: Capture):
    method = dev.named(METHOD, "squaring-post-square")
    (validator,) = dev.of_type("aws:apigateway/requestValidator:RequestValidator")
    (model,) = dev.of_type("aws:apigateway/model:Model")

    assert known(method.inputs, "requestValidatorId") == validator.id
    assert known(validator.inputs, "validateRequestBody") is True
    assert known(method.inputs, "requestModels") == {"application/json": model.inputs["name"]}
    schema = json.loads(known(model.inputs, "schema"))
    assert schema["required"] == ["number"]
    assert schema["additionalProperties"] is False


def test_the_slack_front_gets_a_proxy_integration_with_no_invocation_mapping(dev: Capture):
    integration = dev.named(INTEGRATION, "slack-post-slack-commands")
    front = dev.named("aws:lambda/function:Function", "slack-front")

    assert known(integration.inputs, "type") == "AWS_PROXY"
    assert known(integration.inputs, "uri") == front.outputs["invokeArn"]
    assert "requestParameters" not in integration.inputs


def test_lambda_permissions_are_scoped_to_this_apis_execution_arn_and_route(dev: Capture):
    (api,) = dev.of_type("aws:apigateway/restApi:RestApi")
    execution_arn = api.outputs["executionArn"]
    source_arns = {
        r.name: (known(r.inputs, "function"), known(r.inputs, "sourceArn"))
        for r in dev.of_type(PERMISSION)
    }
    assert source_arns == {
        "squaring-get-square-number": (
            "ackflow-dev-squaring-worker",
            f"{execution_arn}/*/GET/square/*",
        ),
        "squaring-post-square": ("ackflow-dev-squaring-worker", f"{execution_arn}/*/POST/square"),
        "slack-post-slack-commands": (
            "ackflow-dev-slack-front",
            f"{execution_arn}/*/POST/slack/commands",
        ),
    }
    assert {known(r.inputs, "principal") for r in dev.of_type(PERMISSION)} == {
        "apigateway.amazonaws.com"
    }


def test_the_stage_logs_access_and_throttles_as_the_stack_says(dev: Capture):
    (stage,) = dev.of_type("aws:apigateway/stage:Stage")
    (settings,) = dev.of_type("aws:apigateway/methodSettings:MethodSettings")
    access_logs = dev.named("aws:cloudwatch/logGroup:LogGroup", "api-rest-access")

    assert known(stage.inputs, "stageName") == "api"
    assert known(stage.inputs, "accessLogSettings")["destinationArn"] == access_logs.outputs["arn"]
    assert "$context.requestId" in known(stage.inputs, "accessLogSettings")["format"]
    assert known(settings.inputs, "settings")["throttlingBurstLimit"] == 50
    assert known(settings.inputs, "settings")["throttlingRateLimit"] == 20
    assert known(access_logs.inputs, "retentionInDays") == 7


def test_the_stack_exports_the_api_urls_the_key_as_a_secret_and_each_workloads_queues(
    dev: Capture,
):
    outputs = dev.outputs
    assert outputs["restUrl"].endswith("/api")
    assert outputs["graphqlUrl"].endswith("/graphql")
    assert outputs["realtimeUrl"].startswith("wss://")
    assert outputs["apiKey"] and "apiKey" in dev.secret_outputs
    for workload in ("squaring", "slack"):
        assert outputs[f"{workload}FunctionName"] == f"ackflow-dev-{workload}-worker"
        assert outputs[f"{workload}SuccessQueueUrl"].startswith("https://sqs.")
        assert outputs[f"{workload}FailureQueueUrl"].startswith("https://sqs.")


def test_no_role_may_invoke_a_function_of_another_workload(dev: Capture):
    functions = {
        r.outputs["arn"]: r.name.split("-")[0] for r in dev.of_type("aws:lambda/function:Function")
    }
    for policy in dev.of_type("aws:iam/rolePolicy:RolePolicy"):
        document = json.loads(known(policy.inputs, "policy"))
        for statement in document["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            if "lambda:InvokeFunction" not in actions:
                continue
            resources = (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
            owners = {functions[arn] for arn in resources}
            assert len(owners) == 1, f"{policy.name} may invoke functions of {owners}"
            assert owners <= {policy.name.split("-")[0], *_workload_of_api_role(policy.name)}


def _workload_of_api_role(name: str) -> set[str]:
    """``api-graphql-invoke-squaring-worker`` belongs to squaring."""
    return {name.split("-invoke-")[1].split("-")[0]} if "-invoke-" in name else set()
