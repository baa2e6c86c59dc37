"""Which API field each pulumi-aws input becomes: the mapping the model checks go through.

Per resource type, one or more :class:`Call` entries: the botocore :class:`Target` the inputs
are sent to, and ``fields`` from the input's path (camelCase, as Pulumi passes inputs to
policies; ``[]`` steps into each item of a list) to the API member's path. Only the fields
named here are checked. ``autonamed`` inputs are physical names Pulumi fills in when a program
leaves them out, so their absence is not a missing required member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from policy.aws_rules.model import Target

__all__ = ["RULES", "SKIP", "Call", "Mapped"]

SKIP = object()
"""A converter's answer for a value that means "not sent" (e.g. pulumi-aws's -1 concurrency)."""


@dataclass(frozen=True)
class Call:
    """Inputs sent to one API target: ``{input path: member path}``."""

    target: Target
    fields: Mapping[str, str]
    convert: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    """Input path → how its value becomes the API's (raises ValueError with a reason)."""
    only_when_set: bool = False
    """A follow-up call the provider makes only when one of its inputs is set: nothing in it is
    required otherwise (``PutFunctionConcurrency``, ``UpdateTimeToLive``)."""


@dataclass(frozen=True)
class Mapped:
    calls: tuple[Call, ...]
    autonamed: frozenset[str] = frozenset({"name"})


def _epoch_seconds(rfc3339: Any) -> int:
    """AppSync's ``expires``: pulumi-aws takes RFC3339, the API seconds since the epoch."""
    try:
        moment = datetime.fromisoformat(str(rfc3339))
    except ValueError:
        raise ValueError("is not an RFC3339 time") from None
    return int(moment.timestamp())


def _unreserved_is_unset(value: Any) -> Any:
    """pulumi-aws's ``reservedConcurrentExecutions: -1`` means no reservation, not a call."""
    return SKIP if value == -1 else value


def _lambda(operation: str, fields: Mapping[str, str], **kw: Any) -> Call:
    return Call(Target("lambda", operation), fields, **kw)


def _apigateway(operation: str, fields: Mapping[str, str]) -> Call:
    return Call(Target("apigateway", operation), fields)


def _appsync(operation: str, fields: Mapping[str, str], **kw: Any) -> Call:
    return Call(Target("appsync", operation), fields, **kw)


RULES: Mapping[str, Mapped] = {
    "aws:lambda/function:Function": Mapped(
        (
            _lambda(
                "CreateFunction",
                {
                    "name": "FunctionName",
                    "role": "Role",
                    "runtime": "Runtime",
                    "handler": "Handler",
                    "memorySize": "MemorySize",
                    "timeout": "Timeout",
                    "architectures": "Architectures",
                    "description": "Description",
                    "environment.variables": "Environment.Variables",
                    "deadLetterConfig.targetArn": "DeadLetterConfig.TargetArn",
                    "tracingConfig.mode": "TracingConfig.Mode",
                    "ephemeralStorage.size": "EphemeralStorage.Size",
                    "loggingConfig.logFormat": "LoggingConfig.LogFormat",
                    "loggingConfig.logGroup": "LoggingConfig.LogGroup",
                },
            ),
            _lambda(
                "PutFunctionConcurrency",
                {"reservedConcurrentExecutions": "ReservedConcurrentExecutions"},
                convert={"reservedConcurrentExecutions": _unreserved_is_unset},
                only_when_set=True,
            ),
        )
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": Mapped(
        (
            _lambda(
                "PutFunctionEventInvokeConfig",
                {
                    "functionName": "FunctionName",
                    "qualifier": "Qualifier",
                    "maximumRetryAttempts": "MaximumRetryAttempts",
                    "maximumEventAgeInSeconds": "MaximumEventAgeInSeconds",
                    "destinationConfig.onSuccess.destination": (
                        "DestinationConfig.OnSuccess.Destination"
                    ),
                    "destinationConfig.onFailure.destination": (
                        "DestinationConfig.OnFailure.Destination"
                    ),
                },
            ),
        )
    ),
    "aws:lambda/permission:Permission": Mapped(
        (
            _lambda(
                "AddPermission",
                {
                    "function": "FunctionName",
                    "statementId": "StatementId",
                    "action": "Action",
                    "principal": "Principal",
                    "sourceArn": "SourceArn",
                    "qualifier": "Qualifier",
                },
            ),
        ),
        autonamed=frozenset({"statementId"}),
    ),
    "aws:appsync/graphQLApi:GraphQLApi": Mapped(
        (
            _appsync(
                "CreateGraphqlApi",
                {
                    "name": "name",
                    "authenticationType": "authenticationType",
                    "additionalAuthenticationProviders[].authenticationType": (
                        "additionalAuthenticationProviders[].authenticationType"
                    ),
                    "logConfig.fieldLogLevel": "logConfig.fieldLogLevel",
                    "logConfig.cloudwatchLogsRoleArn": "logConfig.cloudWatchLogsRoleArn",
                    "logConfig.excludeVerboseContent": "logConfig.excludeVerboseContent",
                    "xrayEnabled": "xrayEnabled",
                    "introspectionConfig": "introspectionConfig",
                    "queryDepthLimit": "queryDepthLimit",
                },
            ),
        ),
        autonamed=frozenset(),
    ),
    "aws:appsync/dataSource:DataSource": Mapped(
        (
            _appsync(
                "CreateDataSource",
                {
                    "apiId": "apiId",
                    "name": "name",
                    "type": "type",
                    "description": "description",
                    "serviceRoleArn": "serviceRoleArn",
                    "lambdaConfig.functionArn": "lambdaConfig.lambdaFunctionArn",
                },
            ),
        ),
        autonamed=frozenset(),
    ),
    "aws:appsync/resolver:Resolver": Mapped(
        (
            _appsync(
                "CreateResolver",
                {
                    "apiId": "apiId",
                    "type": "typeName",
                    "field": "fieldName",
                    "dataSource": "dataSourceName",
                    "kind": "kind",
                    "runtime.name": "runtime.name",
                    "runtime.runtimeVersion": "runtime.runtimeVersion",
                    "code": "code",
                },
            ),
        ),
        autonamed=frozenset(),
    ),
    "aws:appsync/apiKey:ApiKey": Mapped(
        (
            _appsync(
                "CreateApiKey",
                {"apiId": "apiId", "description": "description", "expires": "expires"},
                convert={"expires": _epoch_seconds},
            ),
        ),
        autonamed=frozenset(),
    ),
    "aws:apigateway/restApi:RestApi": Mapped(
        (
            _apigateway(
                "CreateRestApi",
                {
                    "name": "name",
                    "description": "description",
                    "endpointConfiguration.types": "endpointConfiguration.types",
                },
            ),
        )
    ),
    "aws:apigateway/resource:Resource": Mapped(
        (
            _apigateway(
                "CreateResource",
                {"restApi": "restApiId", "parentId": "parentId", "pathPart": "pathPart"},
            ),
        )
    ),
    "aws:apigateway/method:Method": Mapped(
        (
            _apigateway(
                "PutMethod",
                {
                    "restApi": "restApiId",
                    "resourceId": "resourceId",
                    "httpMethod": "httpMethod",
                    "authorization": "authorizationType",
                    "requestParameters": "requestParameters",
                    "requestModels": "requestModels",
                    "requestValidatorId": "requestValidatorId",
                },
            ),
        )
    ),
    "aws:apigateway/integration:Integration": Mapped(
        (
            _apigateway(
                "PutIntegration",
                {
                    "restApi": "restApiId",
                    "resourceId": "resourceId",
                    "httpMethod": "httpMethod",
                    "type": "type",
                    "integrationHttpMethod": "integrationHttpMethod",
                    "uri": "uri",
                    "requestParameters": "requestParameters",
                    "requestTemplates": "requestTemplates",
                    "passthroughBehavior": "passthroughBehavior",
                    "contentHandling": "contentHandling",
                    "timeoutMilliseconds": "timeoutInMillis",
                },
            ),
        )
    ),
    "aws:apigateway/methodResponse:MethodResponse": Mapped(
        (
            _apigateway(
                "PutMethodResponse",
                {
                    "restApi": "restApiId",
                    "resourceId": "resourceId",
                    "httpMethod": "httpMethod",
                    "statusCode": "statusCode",
                    "responseModels": "responseModels",
                    "responseParameters": "responseParameters",
                },
            ),
        )
    ),
    "aws:apigateway/integrationResponse:IntegrationResponse": Mapped(
        (
            _apigateway(
                "PutIntegrationResponse",
                {
                    "restApi": "restApiId",
                    "resourceId": "resourceId",
                    "httpMethod": "httpMethod",
                    "statusCode": "statusCode",
                    "selectionPattern": "selectionPattern",
                    "responseTemplates": "responseTemplates",
                    "responseParameters": "responseParameters",
                    "contentHandling": "contentHandling",
                },
            ),
        )
    ),
    "aws:apigateway/model:Model": Mapped(
        (
            _apigateway(
                "CreateModel",
                {
                    "restApi": "restApiId",
                    "name": "name",
                    "description": "description",
                    "schema": "schema",
                    "contentType": "contentType",
                },
            ),
        )
    ),
    "aws:apigateway/requestValidator:RequestValidator": Mapped(
        (
            _apigateway(
                "CreateRequestValidator",
                {
                    "restApi": "restApiId",
                    "name": "name",
                    "validateRequestBody": "validateRequestBody",
                    "validateRequestParameters": "validateRequestParameters",
                },
            ),
        )
    ),
    "aws:apigateway/deployment:Deployment": Mapped(
        (_apigateway("CreateDeployment", {"restApi": "restApiId", "description": "description"}),)
    ),
    "aws:apigateway/stage:Stage": Mapped(
        (
            _apigateway(
                "CreateStage",
                {
                    "restApi": "restApiId",
                    "stageName": "stageName",
                    "deployment": "deploymentId",
                    "description": "description",
                    "cacheClusterSize": "cacheClusterSize",
                    "variables": "variables",
                    "xrayTracingEnabled": "tracingEnabled",
                },
            ),
            Call(
                Target("apigateway", shape="AccessLogSettings"),
                {
                    "accessLogSettings.format": "format",
                    "accessLogSettings.destinationArn": "destinationArn",
                },
            ),
        ),
        autonamed=frozenset(),
    ),
    "aws:apigateway/methodSettings:MethodSettings": Mapped(
        (
            Call(
                Target("apigateway", shape="MethodSetting"),
                {
                    f"settings.{key}": key
                    for key in (
                        "metricsEnabled",
                        "loggingLevel",
                        "dataTraceEnabled",
                        "throttlingBurstLimit",
                        "throttlingRateLimit",
                        "cachingEnabled",
                        "cacheTtlInSeconds",
                    )
                },
            ),
        ),
        autonamed=frozenset(),
    ),
    "aws:sqs/queue:Queue": Mapped((Call(Target("sqs", "CreateQueue"), {"name": "QueueName"}),)),
    "aws:sns/topic:Topic": Mapped((Call(Target("sns", "CreateTopic"), {"name": "Name"}),)),
    "aws:cloudwatch/logGroup:LogGroup": Mapped(
        (
            Call(
                Target("logs", "CreateLogGroup"),
                {"name": "logGroupName", "kmsKeyId": "kmsKeyId", "logGroupClass": "logGroupClass"},
            ),
        )
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Mapped(
        (
            Call(
                Target("cloudwatch", "PutMetricAlarm"),
                {
                    "name": "AlarmName",
                    "alarmDescription": "AlarmDescription",
                    "actionsEnabled": "ActionsEnabled",
                    "alarmActions": "AlarmActions",
                    "metricName": "MetricName",
                    "namespace": "Namespace",
                    "statistic": "Statistic",
                    "period": "Period",
                    "evaluationPeriods": "EvaluationPeriods",
                    "datapointsToAlarm": "DatapointsToAlarm",
                    "threshold": "Threshold",
                    "comparisonOperator": "ComparisonOperator",
                    "treatMissingData": "TreatMissingData",
                },
            ),
        )
    ),
    "aws:dynamodb/table:Table": Mapped(
        (
            Call(
                Target("dynamodb", "CreateTable"),
                {
                    "name": "TableName",
                    "billingMode": "BillingMode",
                    "attributes[].name": "AttributeDefinitions[].AttributeName",
                    "attributes[].type": "AttributeDefinitions[].AttributeType",
                    "hashKey": "KeySchema[].AttributeName",
                    "rangeKey": "KeySchema[].AttributeName",
                    "serverSideEncryption.enabled": "SSESpecification.Enabled",
                    "serverSideEncryption.kmsKeyArn": "SSESpecification.KMSMasterKeyId",
                    "streamEnabled": "StreamSpecification.StreamEnabled",
                    "streamViewType": "StreamSpecification.StreamViewType",
                    "tableClass": "TableClass",
                    "deletionProtectionEnabled": "DeletionProtectionEnabled",
                },
            ),
            Call(
                Target("dynamodb", "UpdateContinuousBackups"),
                {
                    "pointInTimeRecovery.enabled": (
                        "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"
                    ),
                    "pointInTimeRecovery.recoveryPeriodInDays": (
                        "PointInTimeRecoverySpecification.RecoveryPeriodInDays"
                    ),
                },
                only_when_set=True,
            ),
            Call(
                Target("dynamodb", "UpdateTimeToLive"),
                {
                    "ttl.enabled": "TimeToLiveSpecification.Enabled",
                    "ttl.attributeName": "TimeToLiveSpecification.AttributeName",
                },
                only_when_set=True,
            ),
        )
    ),
    "aws:ssm/parameter:Parameter": Mapped(
        (
            Call(
                Target("ssm", "PutParameter"),
                {
                    "name": "Name",
                    "type": "Type",
                    "description": "Description",
                    "tier": "Tier",
                    "keyId": "KeyId",
                },
            ),
        )
    ),
    "aws:iam/role:Role": Mapped(
        (
            Call(
                Target("iam", "CreateRole"),
                {
                    "name": "RoleName",
                    "path": "Path",
                    "description": "Description",
                    "maxSessionDuration": "MaxSessionDuration",
                    "assumeRolePolicy": "AssumeRolePolicyDocument",
                },
            ),
        )
    ),
    "aws:iam/rolePolicy:RolePolicy": Mapped(
        (
            Call(
                Target("iam", "PutRolePolicy"),
                {"role": "RoleName", "name": "PolicyName", "policy": "PolicyDocument"},
            ),
        )
    ),
    "aws:iam/policy:Policy": Mapped(
        (
            Call(
                Target("iam", "CreatePolicy"),
                {
                    "name": "PolicyName",
                    "path": "Path",
                    "description": "Description",
                    "policy": "PolicyDocument",
                },
            ),
        )
    ),
}
"""Resource type → the API calls its inputs become."""
