"""Deliberately wrong inputs, one or more per mapped resource type, each caught with its rule.

Each case takes a resource the dev (or prod) stack really declares, breaks one input, and
expects exactly one message: the resource, the input, the value and the rule it breaks, with
where the rule comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from local.cloud.capture import Capture
from policy.aws_rules import check
from tests.policy.adapter import changed

LAMBDA = "(botocore lambda model)"
APIGATEWAY = "(botocore apigateway model)"
APPSYNC = "(botocore appsync model)"


@dataclass(frozen=True)
class Case:
    type_token: str
    name: str
    change: dict[str, Any]
    expected: str
    """The message after ``<type> <name>: ``."""
    stack: str = "dev"
    new: bool = False
    """``change`` is the whole input of a resource the stack does not declare."""
    id: str = field(default="", compare=False)


F = "aws:lambda/function:Function"
EIC = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
API = "aws:appsync/graphQLApi:GraphQLApi"
INTEGRATION = "aws:apigateway/integration:Integration"
METHOD = "aws:apigateway/method:Method"
PROVIDERS = "additionalAuthenticationProviders"
BIG_ENVIRONMENT = {"variables": {f"SETTING_{i}": "x" * 200 for i in range(20)}}

CASES = [
    # The three the issue names: memory 100, retries 3, an unknown (here: retired) runtime.
    Case(
        F,
        "squaring-worker",
        {"memorySize": 100.0},
        f"memorySize 100 is below CreateFunction's MemorySize minimum 128 {LAMBDA}",
    ),
    Case(
        EIC,
        "squaring-worker",
        {"maximumRetryAttempts": 3.0},
        "maximumRetryAttempts 3 is above PutFunctionEventInvokeConfig's MaximumRetryAttempts "
        f"maximum 2 {LAMBDA}",
    ),
    Case(
        F,
        "squaring-worker",
        {"runtime": "python2.7"},
        "runtime 'python2.7' is deprecated: Lambda blocks creating functions on it since "
        "2021-07-15; use python3.14 (botocore's Runtime enum still lists it) (documented at "
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, schedule from "
        "AWS's cfn-lint (LmbdRuntimeLifecycle.json))",
    ),
    Case(
        F,
        "squaring-worker",
        {"runtime": "python3.99"},
        "runtime 'python3.99' is not one of CreateFunction's Runtime values (52 values; "
        f"closest: python3.9, python3.8, python3.7) {LAMBDA}",
    ),
    Case(
        F,
        "squaring-worker",
        {"timeout": 0.0},
        f"timeout 0 is below CreateFunction's Timeout minimum 1 {LAMBDA}",
    ),
    Case(
        F,
        "slack-worker",
        {"architectures": ["arm"]},
        "architectures[0] 'arm' is not one of CreateFunction's Architectures item values "
        f"(x86_64, arm64) {LAMBDA}",
    ),
    Case(
        F,
        "slack-worker",
        {"handler": "worker handler"},
        "handler 'worker handler' does not match CreateFunction's Handler pattern "
        f"[^\\s]+ {LAMBDA}",
    ),
    Case(
        F,
        "slack-worker",
        {"environment": {"variables": {"1TABLE": "t"}}},
        "environment.variables key '1TABLE' does not match CreateFunction's "
        f"Environment.Variables key pattern [a-zA-Z]([a-zA-Z0-9_])+ {LAMBDA}",
    ),
    Case(
        F,
        "slack-worker",
        {"reservedConcurrentExecutions": -2.0},
        "reservedConcurrentExecutions -2 is below PutFunctionConcurrency's "
        f"ReservedConcurrentExecutions minimum 0 {LAMBDA}",
    ),
    Case(
        F,
        "slack-worker",
        {"environment": BIG_ENVIRONMENT},
        "environment.variables take 4190 bytes, over the 4096 bytes Lambda allows for all of a "
        "function's variables together (documented at "
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)",
    ),
    Case(
        F,
        "slack-worker",
        {"timeout": 1800.0},
        "timeout 1800 is above the 900 seconds Lambda allows outside Lambda Managed Instances "
        "(the model's higher maximum applies only there) (documented in botocore's lambda "
        "model at CreateFunction.Timeout)",
    ),
    Case(
        F,
        "slack-worker",
        {"memorySize": 20480.0},
        "memorySize 20480 is above the 10240 MB Lambda allows outside Lambda Managed Instances",
    ),
    Case(
        EIC,
        "slack-worker",
        {"maximumEventAgeInSeconds": 30.0},
        "maximumEventAgeInSeconds 30 is below PutFunctionEventInvokeConfig's "
        f"MaximumEventAgeInSeconds minimum 60 {LAMBDA}",
    ),
    Case(
        EIC,
        "slack-worker",
        {"destinationConfig": {"onFailure": {"destination": "my-queue"}}},
        "destinationConfig.onFailure.destination 'my-queue' does not match "
        "PutFunctionEventInvokeConfig's DestinationConfig.OnFailure.Destination pattern",
    ),
    Case(
        "aws:lambda/permission:Permission",
        "squaring-post-square",
        {"action": "InvokeFunction"},
        "action 'InvokeFunction' does not match AddPermission's Action pattern "
        f"(lambda:[*]|lambda:[a-zA-Z]+|[*]) {LAMBDA}",
    ),
    Case(
        API,
        "api-graphql",
        {"authenticationType": "APIKEY"},
        "authenticationType 'APIKEY' is not one of CreateGraphqlApi's authenticationType values "
        f"(API_KEY, AWS_IAM, AMAZON_COGNITO_USER_POOLS, OPENID_CONNECT, AWS_LAMBDA) {APPSYNC}",
    ),
    Case(
        API,
        "api-graphql",
        {PROVIDERS: [{"authenticationType": "IAM"}]},
        f"{PROVIDERS}[0].authenticationType 'IAM' is not one of CreateGraphqlApi's "
        f"{PROVIDERS}[].authenticationType values",
    ),
    Case(
        API,
        "api-graphql",
        {"name": None},
        f"name is not set; CreateGraphqlApi's name is required {APPSYNC}",
    ),
    Case(
        "aws:appsync/dataSource:DataSource",
        "api-graphql-none",
        {"type": "LAMBDA"},
        "type 'LAMBDA' is not one of CreateDataSource's type values",
    ),
    Case(
        "aws:appsync/dataSource:DataSource",
        "api-graphql-none",
        {"name": "stream-channel"},
        "name 'stream-channel' does not match CreateDataSource's name pattern "
        f"[_A-Za-z][_0-9A-Za-z]* {APPSYNC}",
    ),
    Case(
        "aws:appsync/resolver:Resolver",
        "api-graphql-Query-square",
        {"runtime": {"name": "APPSYNC_JS", "runtimeVersion": "2.0.0"}},
        "runtime.runtimeVersion '2.0.0' is not one of AppSync runtime version values (1.0.0) "
        "(documented in botocore's appsync model at AppSyncRuntime.runtimeVersion)",
    ),
    Case(
        "aws:appsync/resolver:Resolver",
        "api-graphql-Query-square",
        {"kind": "SINGLE"},
        f"kind 'SINGLE' is not one of CreateResolver's kind values (UNIT, PIPELINE) {APPSYNC}",
    ),
    Case(
        "aws:appsync/apiKey:ApiKey",
        "api-graphql",
        {"expires": "in a month"},
        f"expires 'in a month' is not an RFC3339 time {APPSYNC}",
    ),
    Case(
        "aws:apigateway/restApi:RestApi",
        "api-rest",
        {"endpointConfiguration": {"types": "GLOBAL"}},
        "endpointConfiguration.types[0] 'GLOBAL' is not one of CreateRestApi's "
        f"endpointConfiguration.types item values (REGIONAL, EDGE, PRIVATE) {APIGATEWAY}",
    ),
    Case(
        "aws:apigateway/resource:Resource",
        "api-rest-square",
        {"pathPart": None},
        f"pathPart is not set; CreateResource's pathPart is required {APIGATEWAY}",
    ),
    Case(
        METHOD,
        "squaring-post-square",
        {"authorization": "IAM"},
        "authorization 'IAM' is not one of PutMethod's authorizationType values (NONE, AWS_IAM, "
        "CUSTOM, COGNITO_USER_POOLS, JWT) (documented in botocore's apigateway model at "
        "PutMethod.authorizationType)",
    ),
    Case(
        METHOD,
        "squaring-post-square",
        {"requestParameters": {"header.InvocationType": False}},
        "requestParameters key 'header.InvocationType' is not method.request.{location}.{name}",
    ),
    Case(
        INTEGRATION,
        "squaring-post-square",
        {"type": "LAMBDA"},
        "type 'LAMBDA' is not one of PutIntegration's type values (HTTP, AWS, MOCK, HTTP_PROXY, "
        f"AWS_PROXY) {APIGATEWAY}",
    ),
    Case(
        INTEGRATION,
        "squaring-post-square",
        {"integrationHttpMethod": "GET"},
        "integrationHttpMethod 'GET' invokes a Lambda function; Lambda needs POST (documented in "
        "botocore's apigateway model at Integration.httpMethod)",
    ),
    Case(
        INTEGRATION,
        "squaring-post-square",
        {"passthroughBehavior": "ALWAYS"},
        "passthroughBehavior 'ALWAYS' is not one of PutIntegration's passthroughBehavior values "
        "(WHEN_NO_MATCH, WHEN_NO_TEMPLATES, NEVER)",
    ),
    Case(
        INTEGRATION,
        "squaring-post-square",
        {"timeoutMilliseconds": 40000.0},
        "timeoutMilliseconds 40000 is outside PutIntegration's timeoutInMillis range, 50 to "
        "29000 (the default quota; Regional and private APIs may have it raised)",
    ),
    Case(
        INTEGRATION,
        "squaring-get-square-number",
        {"requestParameters": {"integration.request.header.X-Amz-Invocation-Type": "Event"}},
        "requestParameters['integration.request.header.X-Amz-Invocation-Type'] = 'Event' is "
        "neither a method.request.* parameter, a stageVariables/context variable, nor a static "
        "value in single quotes (documented at https://docs.aws.amazon.com/apigateway/latest/"
        "developerguide/rest-api-parameter-mapping-sources.html)",
    ),
    Case(
        INTEGRATION,
        "squaring-get-square-number",
        {"requestParameters": {"X-Amz-Invocation-Type": "'Event'"}},
        "requestParameters key 'X-Amz-Invocation-Type' is not integration.request.",
    ),
    Case(
        "aws:apigateway/methodResponse:MethodResponse",
        "squaring-post-square-202",
        {"statusCode": "2020"},
        "statusCode '2020' does not match PutMethodResponse's statusCode pattern "
        f"[1-5]\\d\\d {APIGATEWAY}",
    ),
    Case(
        "aws:apigateway/integrationResponse:IntegrationResponse",
        "squaring-post-square-400",
        {"statusCode": "600"},
        "statusCode '600' does not match PutIntegrationResponse's statusCode pattern",
    ),
    Case(
        "aws:apigateway/model:Model",
        "squaring-post-square",
        {"name": "Squaring-Post"},
        "name 'Squaring-Post' is not a valid API Gateway model name: letters and digits only "
        "(documented in botocore's apigateway model at CreateModel.name)",
    ),
    Case(
        "aws:apigateway/requestValidator:RequestValidator",
        "api-rest-body",
        {"validateRequestBody": "yes"},
        "validateRequestBody 'yes' is not a boolean, as CreateRequestValidator's "
        f"validateRequestBody requires {APIGATEWAY}",
    ),
    Case(
        "aws:apigateway/deployment:Deployment",
        "api-rest",
        {"restApi": None},
        f"restApi is not set; CreateDeployment's restApiId is required {APIGATEWAY}",
    ),
    Case(
        "aws:apigateway/stage:Stage",
        "api-rest",
        {"stageName": "v 1"},
        "stageName 'v 1' is not a valid API Gateway stage name: letters, digits, - and _, at "
        "most 128 (documented in botocore's apigateway model at CreateStage.stageName)",
    ),
    Case(
        "aws:apigateway/stage:Stage",
        "api-rest",
        {"cacheClusterSize": "2"},
        "cacheClusterSize '2' is not one of CreateStage's cacheClusterSize values",
    ),
    Case(
        "aws:apigateway/methodSettings:MethodSettings",
        "api-rest",
        {"settings": {"throttlingBurstLimit": 1.5}},
        "settings.throttlingBurstLimit 1.5 is not an integer, as MethodSetting's "
        f"throttlingBurstLimit requires {APIGATEWAY}",
    ),
    Case(
        "aws:apigateway/methodSettings:MethodSettings",
        "api-rest",
        {"settings": {"loggingLevel": "DEBUG"}},
        "settings.loggingLevel 'DEBUG' is not one of API Gateway method logging level values "
        "(OFF, ERROR, INFO)",
    ),
    Case(
        "aws:sqs/queue:Queue",
        "squaring-worker-failure",
        {"messageRetentionSeconds": 30.0},
        "messageRetentionSeconds 30 is outside SQS's MessageRetentionPeriod range, 60 to "
        "1209600 (documented in botocore's sqs model at CreateQueue.Attributes)",
    ),
    Case(
        "aws:sqs/queue:Queue",
        "squaring-worker-failure",
        {"name": "failures!"},
        "name 'failures!' is not a valid SQS queue name: up to 80 letters, digits, - and _",
    ),
    Case(
        "aws:sns/topic:Topic",
        "alerts",
        {"name": "ops alerts"},
        "name 'ops alerts' is not a valid SNS topic name",
        new=True,
    ),
    Case(
        "aws:cloudwatch/logGroup:LogGroup",
        "slack-front",
        {"retentionInDays": 8.0},
        "retentionInDays 8 is not one of CloudWatch Logs retention values (0, 1, 3, 5, 7, 14,",
    ),
    Case(
        "aws:cloudwatch/logGroup:LogGroup",
        "slack-front",
        {"name": "/aws/lambda/slack front"},
        "name '/aws/lambda/slack front' does not match CreateLogGroup's logGroupName pattern",
    ),
    Case(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "squaring-worker-failures",
        {"comparisonOperator": "GreaterThan"},
        "comparisonOperator 'GreaterThan' is not one of PutMetricAlarm's ComparisonOperator",
        stack="prod",
    ),
    Case(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "squaring-worker-failures",
        {"period": 45.0},
        "period 45 is not 10, 20, 30 or a multiple of 60 seconds (documented in botocore's "
        "cloudwatch model at PutMetricAlarm.Period)",
        stack="prod",
    ),
    Case(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "slack-worker-failures",
        {"treatMissingData": "zero"},
        "treatMissingData 'zero' is not one of CloudWatch TreatMissingData values",
        stack="prod",
    ),
    Case(
        "aws:dynamodb/table:Table",
        "slack-worker-idempotency",
        {"billingMode": "ON_DEMAND"},
        "billingMode 'ON_DEMAND' is not one of CreateTable's BillingMode values "
        "(PROVISIONED, PAY_PER_REQUEST) (botocore dynamodb model)",
    ),
    Case(
        "aws:dynamodb/table:Table",
        "slack-worker-idempotency",
        {"attributes": [{"name": "id", "type": "STRING"}]},
        "attributes[0].type 'STRING' is not one of CreateTable's "
        "AttributeDefinitions[].AttributeType values (S, N, B)",
    ),
    Case(
        "aws:dynamodb/table:Table",
        "slack-worker-idempotency",
        {"pointInTimeRecovery": {"enabled": True, "recoveryPeriodInDays": 40.0}},
        "pointInTimeRecovery.recoveryPeriodInDays 40 is above UpdateContinuousBackups's "
        "PointInTimeRecoverySpecification.RecoveryPeriodInDays maximum 35",
    ),
    Case(
        "aws:ssm/parameter:Parameter",
        "slack-front-slack-signing-secret",
        {"type": "Secure"},
        "type 'Secure' is not one of PutParameter's Type values (String, StringList, "
        "SecureString) (botocore ssm model)",
    ),
    Case(
        "aws:ssm/parameter:Parameter",
        "slack-front-slack-signing-secret",
        {"name": "/aws/ackflow/secret"},
        "name '/aws/ackflow/secret' is not a valid SSM parameter name",
    ),
    Case(
        "aws:ssm/parameter:Parameter",
        "slack-front-slack-signing-secret",
        {"value": "x" * 5000},
        "value takes 5000 bytes, over the 4096 a Standard parameter holds",
    ),
    Case(
        "aws:iam/role:Role",
        "slack-front",
        {"maxSessionDuration": 60.0},
        "maxSessionDuration 60 is below CreateRole's MaxSessionDuration minimum 3600 "
        "(botocore iam model)",
    ),
    Case(
        "aws:iam/role:Role",
        "slack-front",
        {"name": "slack front"},
        "name 'slack front' does not match CreateRole's RoleName pattern [\\w+=,.@-]+",
    ),
    Case(
        "aws:iam/rolePolicy:RolePolicy",
        "slack-front",
        {"role": "slack front role"},
        "role 'slack front role' does not match PutRolePolicy's RoleName pattern",
    ),
    Case(
        "aws:iam/policy:Policy",
        "extra",
        {"name": "x" * 129, "policy": "{}"},
        f"name {'x' * 40!r}… is longer than CreatePolicy's PolicyName maximum length 128 "
        "(botocore iam model)",
        new=True,
    ),
]


def _case_id(case: Case) -> str:
    return f"{case.type_token.rsplit(':', 1)[-1]}-{next(iter(case.change))}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_a_wrong_input_is_caught_with_the_rule_it_breaks(stacks, case: Case):
    inputs = case.change if case.new else _broken(stacks(case.stack), case)
    messages = check(case.type_token, case.name, inputs, today=date(2026, 12, 1))
    prefix = f"{case.type_token} {case.name}: "
    assert len(messages) == 1, messages
    assert messages[0].startswith(prefix + case.expected), messages[0]


def _broken(stack: Capture, case: Case) -> dict[str, Any]:
    record = stack.named(case.type_token, case.name)
    assert check(case.type_token, case.name, record.inputs) == []
    return changed(record, **case.change).inputs


def test_every_mapped_type_has_a_wrong_input_here():
    from policy.aws_rules import CHECKED_TYPES

    assert CHECKED_TYPES - {c.type_token for c in CASES} == set()


@pytest.mark.parametrize(
    ("type_token", "inputs"),
    [
        (
            F,
            {
                "name": "f",
                "role": "arn:aws:iam::000000000000:role/r",
                "reservedConcurrentExecutions": -1.0,
            },
        ),
        (F, {"name": "f", "role": "arn:aws:iam::000000000000:role/r", "runtime": "python3.13"}),
        (
            F,
            {
                "name": "f",
                "role": "arn:aws:iam::000000000000:role/r",
                "timeout": 5400.0,
                "capacityProviderConfig": {"lambdaManagedInstancesCapacityProviderConfig": {}},
            },
        ),
        (F, {"name": "f", "role": "arn:aws:iam::000000000000:role/r", "architectures": "arm64"}),
        ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 0.0}),
        (
            INTEGRATION,
            {
                "restApi": "r",
                "resourceId": "x",
                "httpMethod": "GET",
                "type": "AWS",
                "requestParameters": {
                    "integration.request.header.X-Amz-Invocation-Type": "'Event'",
                    "integration.request.path.id": "method.request.path.id",
                    "integration.request.querystring.stage": "stageVariables.name",
                    "integration.request.header.X-Request-Id": "context.requestId",
                },
            },
        ),
    ],
)
def test_what_aws_accepts_passes(type_token: str, inputs: dict[str, Any]):
    assert check(type_token, "ok", inputs, today=date(2026, 12, 1)) == []
