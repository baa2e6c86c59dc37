"""Rules AWS states in words where botocore's model has no ``min``/``max``/``enum``/``pattern``.

Most come from the model's own documentation text: a :class:`Prose` source names the member
whose documentation states the rule and quotes the words, and a test keeps the quote in step
with the installed botocore. The rest cite an AWS page (:class:`Page`). Each rule is marked in
its messages as documented, so nobody mistakes it for a constraint the model encodes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import botocore.session

from policy.aws_rules import request_parameters, runtimes
from policy.props import at_path

__all__ = ["DOCUMENTED", "LOG_RETENTION_DAYS", "Custom", "OneOf", "Page", "Prose", "Range"]


@cache
def _documentation(service: str, owner: str, member: str | None) -> str:
    model = botocore.session.get_session().get_service_model(service)
    shape = (
        model.operation_model(owner).input_shape
        if owner in model.operation_names
        else model.shape_for(owner)
    )
    html = shape.members[member].documentation if member else shape.documentation
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


@dataclass(frozen=True)
class Prose:
    """A rule stated in the documentation of a botocore member (``owner`` is an operation or
    a shape); ``quote`` holds the words that state it."""

    service: str
    owner: str
    member: str | None
    quote: str

    def text(self) -> str:
        """The member's documentation, tags stripped."""
        return _documentation(self.service, self.owner, self.member)

    def __str__(self) -> str:
        where = f"{self.owner}.{self.member}" if self.member else self.owner
        return f"documented in botocore's {self.service} model at {where}"


@dataclass(frozen=True)
class Page:
    """A rule stated on an AWS documentation page (not in botocore)."""

    url: str
    detail: str = ""
    """What the page says, or where the facts come from when not from the page itself."""

    def __str__(self) -> str:
        return f"documented at {self.url}" + (f", {self.detail}" if self.detail else "")


Source = Prose | Page


@dataclass(frozen=True)
class Range:
    prop: str
    low: int
    high: int
    what: str
    source: Source
    note: str = ""

    def check(self, props: Mapping[str, Any], today: date) -> Iterator[str]:
        value = at_path(props, self.prop)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and not self.low <= value <= self.high:
            yield (
                f"{self.prop} {value:g} is outside {self.what} range, {self.low} to {self.high}"
                + (f" ({self.note})" if self.note else "")
            )


@dataclass(frozen=True)
class OneOf:
    prop: str
    values: tuple[Any, ...]
    what: str
    source: Source

    def check(self, props: Mapping[str, Any], today: date) -> Iterator[str]:
        value = at_path(props, self.prop)
        if value is not None and value not in self.values:
            allowed = ", ".join(map(str, self.values))
            yield f"{self.prop} {_shown(value)} is not one of {self.what} values ({allowed})"


@dataclass(frozen=True)
class Matches:
    prop: str
    pattern: re.Pattern[str]
    described: str
    what: str
    source: Source

    def check(self, props: Mapping[str, Any], today: date) -> Iterator[str]:
        value = at_path(props, self.prop)
        if isinstance(value, str) and not self.pattern.fullmatch(value):
            yield f"{self.prop} {value!r} is not a valid {self.what}: {self.described}"


@dataclass(frozen=True)
class Custom:
    problems: Callable[[Mapping[str, Any], date], Iterator[str]]
    source: Source

    def check(self, props: Mapping[str, Any], today: date) -> Iterator[str]:
        yield from self.problems(props, today)


Rule = Range | OneOf | Matches | Custom


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


LOG_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
_NEVER_EXPIRE = 0
"""pulumi-aws's ``retentionInDays: 0``: no retention policy (the log-retention policy objects)."""

_SQS_ATTRIBUTES = ("sqs", "CreateQueue", "Attributes")
_APIGATEWAY_PARAMETER_PAGE = Page(
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
    "rest-api-parameter-mapping-sources.html"
)
_LAMBDA_QUOTAS = Page("https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html")
_LAMBDA_RUNTIMES = Page(
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html", runtimes.SOURCE
)
_ENVIRONMENT_LIMIT = 4096
_TIMEOUT_LIMIT = 900
_MEMORY_LIMIT = 10_240
_MANAGED_INSTANCES = "capacityProviderConfig"
"""The input that puts a function on Lambda Managed Instances, where the model's higher
maxima (5,400 s, 32,768 MB) apply."""
_SSM_VALUE_LIMIT = {"Advanced": 8192}
_SSM_STANDARD_VALUE_LIMIT = 4096


def _sqs_range(prop: str, attribute: str, low: int, high: int, quote: str) -> Range:
    return Range(prop, low, high, f"SQS's {attribute}", Prose(*_SQS_ATTRIBUTES, quote))


def _runtime(props: Mapping[str, Any], today: date) -> Iterator[str]:
    runtime = props.get("runtime")
    problem = isinstance(runtime, str) and runtimes.create_block_problem(runtime, today)
    if problem:
        yield problem


def _environment_size(props: Mapping[str, Any], today: date) -> Iterator[str]:
    # How Lambda counts the 4 KB is unconfirmed; keys plus values in UTF-8 is a lower bound.
    variables = at_path(props, "environment.variables") or {}
    size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in variables.items())
    if size > _ENVIRONMENT_LIMIT:
        yield (
            f"environment.variables take {size} bytes, over the {_ENVIRONMENT_LIMIT} bytes Lambda "
            "allows for all of a function's variables together"
        )


def _outside_managed_instances(
    prop: str, limit: int, unit: str
) -> Callable[[Mapping[str, Any], date], Iterator[str]]:
    """A Lambda limit the model raises to the Lambda Managed Instances maximum."""

    def problems(props: Mapping[str, Any], today: date) -> Iterator[str]:
        value = props.get(prop)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and value > limit and not props.get(_MANAGED_INSTANCES):
            yield (
                f"{prop} {value:g} is above the {limit} {unit} Lambda allows outside Lambda "
                "Managed Instances (the model's higher maximum applies only there)"
            )

    return problems


def _lambda_integration_post(props: Mapping[str, Any], today: date) -> Iterator[str]:
    uri, method = str(props.get("uri") or ""), props.get("integrationHttpMethod")
    lambda_uri = props.get("type") in ("AWS", "AWS_PROXY") and ":lambda:path/" in uri
    if lambda_uri and method != "POST":
        yield f"integrationHttpMethod {method!r} invokes a Lambda function; Lambda needs POST"


def _integration_parameters(props: Mapping[str, Any], today: date) -> Iterator[str]:
    yield from request_parameters.integration_problems(props.get("requestParameters") or {})


def _method_parameters(props: Mapping[str, Any], today: date) -> Iterator[str]:
    yield from request_parameters.method_problems(props.get("requestParameters") or {})


def _ssm_value_size(props: Mapping[str, Any], today: date) -> Iterator[str]:
    value, tier = props.get("value"), props.get("tier") or "Standard"
    limit = _SSM_VALUE_LIMIT.get(tier, _SSM_STANDARD_VALUE_LIMIT)
    if isinstance(value, str) and len(value.encode()) > limit:
        yield f"value takes {len(value.encode())} bytes, over the {limit} a {tier} parameter holds"


def _alarm_period(props: Mapping[str, Any], today: date) -> Iterator[str]:
    period = props.get("period")
    if isinstance(period, int | float) and not (period in (10, 20, 30) or period % 60 == 0):
        yield f"period {period:g} is not 10, 20, 30 or a multiple of 60 seconds"


DOCUMENTED: Mapping[str, tuple[Rule, ...]] = {
    "aws:lambda/function:Function": (
        Custom(_runtime, _LAMBDA_RUNTIMES),
        Custom(_environment_size, _LAMBDA_QUOTAS),
        Custom(
            _outside_managed_instances("timeout", _TIMEOUT_LIMIT, "seconds"),
            Prose(
                "lambda",
                "CreateFunction",
                "Timeout",
                "the maximum allowed value is 900 seconds. For functions using Lambda Managed "
                "Instances",
            ),
        ),
        Custom(
            _outside_managed_instances("memorySize", _MEMORY_LIMIT, "MB"),
            Page(
                "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
                "function memory 128 MB to 10,240 MB",
            ),
        ),
    ),
    "aws:sqs/queue:Queue": (
        _sqs_range("delaySeconds", "DelaySeconds", 0, 900, "An integer from 0 to 900 seconds"),
        _sqs_range(
            "maxMessageSize",
            "MaximumMessageSize",
            1024,
            1_048_576,
            "An integer from 1,024 bytes (1 KiB) to 1,048,576 bytes (1 MiB)",
        ),
        _sqs_range(
            "messageRetentionSeconds",
            "MessageRetentionPeriod",
            60,
            1_209_600,
            "An integer from 60 seconds (1 minute) to 1,209,600 seconds (14 days)",
        ),
        _sqs_range(
            "receiveWaitTimeSeconds",
            "ReceiveMessageWaitTimeSeconds",
            0,
            20,
            "An integer from 0 to 20 (seconds)",
        ),
        _sqs_range(
            "visibilityTimeoutSeconds",
            "VisibilityTimeout",
            0,
            43_200,
            "An integer from 0 to 43,200 (12 hours)",
        ),
        _sqs_range(
            "kmsDataKeyReusePeriodSeconds",
            "KmsDataKeyReusePeriodSeconds",
            60,
            86_400,
            "between 60 seconds (1 minute) and 86,400 seconds (24 hours)",
        ),
        Matches(
            "name",
            re.compile(r"(?=.{1,80}$)[A-Za-z0-9_-]+(\.fifo)?"),
            "up to 80 letters, digits, - and _ (a FIFO queue's ending in .fifo)",
            "SQS queue name",
            Prose("sqs", "CreateQueue", "QueueName", "A queue name can have up to 80 characters"),
        ),
    ),
    "aws:sns/topic:Topic": (
        Matches(
            "name",
            re.compile(r"(?=.{1,256}$)[A-Za-z0-9_-]+(\.fifo)?"),
            "1 to 256 ASCII letters, digits, _ and - (a FIFO topic's ending in .fifo)",
            "SNS topic name",
            Prose(
                "sns",
                "CreateTopic",
                "Name",
                "Topic names must be made up of only uppercase and lowercase ASCII letters, "
                "numbers, underscores, and hyphens, and must be between 1 and 256 characters long",
            ),
        ),
    ),
    "aws:cloudwatch/logGroup:LogGroup": (
        OneOf(
            "retentionInDays",
            (_NEVER_EXPIRE, *LOG_RETENTION_DAYS),
            "CloudWatch Logs retention",
            Prose("logs", "PutRetentionPolicy", "retentionInDays", "Possible values are: 1, 3, 5"),
        ),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        Custom(
            _alarm_period,
            Prose(
                "cloudwatch",
                "PutMetricAlarm",
                "Period",
                "Valid values are 10, 20, 30, and any multiple of 60.",
            ),
        ),
        OneOf(
            "treatMissingData",
            ("breaching", "notBreaching", "ignore", "missing"),
            "CloudWatch TreatMissingData",
            Prose(
                "cloudwatch",
                "PutMetricAlarm",
                "TreatMissingData",
                "Valid Values: breaching | notBreaching | ignore | missing",
            ),
        ),
    ),
    "aws:appsync/resolver:Resolver": (
        OneOf(
            "runtime.runtimeVersion",
            ("1.0.0",),
            "AppSync runtime version",
            Prose(
                "appsync",
                "AppSyncRuntime",
                "runtimeVersion",
                "Currently, the only allowed version is 1.0.0",
            ),
        ),
    ),
    "aws:apigateway/method:Method": (
        OneOf(
            "authorization",
            ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS", "JWT"),
            "PutMethod's authorizationType",
            Prose("apigateway", "PutMethod", "authorizationType", "Valid values are NONE"),
        ),
        Custom(
            _method_parameters,
            Prose(
                "apigateway", "PutMethod", "requestParameters", "method.request.{location}.{name}"
            ),
        ),
    ),
    "aws:apigateway/integration:Integration": (
        OneOf(
            "passthroughBehavior",
            ("WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"),
            "PutIntegration's passthroughBehavior",
            Prose(
                "apigateway",
                "PutIntegration",
                "passthroughBehavior",
                "There are three valid values: WHEN_NO_MATCH, WHEN_NO_TEMPLATES, and NEVER.",
            ),
        ),
        Range(
            "timeoutMilliseconds",
            50,
            29_000,
            "PutIntegration's timeoutInMillis",
            Prose(
                "apigateway",
                "PutIntegration",
                "timeoutInMillis",
                "Custom timeout between 50 and 29,000 milliseconds",
            ),
            note="the default quota; Regional and private APIs may have it raised",
        ),
        Custom(
            _lambda_integration_post,
            Prose(
                "apigateway",
                "Integration",
                "httpMethod",
                "For Lambda integrations, you must set the integration method to POST",
            ),
        ),
        Custom(_integration_parameters, _APIGATEWAY_PARAMETER_PAGE),
    ),
    "aws:apigateway/stage:Stage": (
        Matches(
            "stageName",
            re.compile(r"[A-Za-z0-9_-]{1,128}"),
            "letters, digits, - and _, at most 128",
            "API Gateway stage name",
            Prose(
                "apigateway",
                "CreateStage",
                "stageName",
                "Stage names can only contain alphanumeric characters, hyphens, and underscores. "
                "Maximum length is 128 characters.",
            ),
        ),
    ),
    "aws:apigateway/methodSettings:MethodSettings": (
        OneOf(
            "settings.loggingLevel",
            ("OFF", "ERROR", "INFO"),
            "API Gateway method logging level",
            Prose(
                "apigateway",
                "MethodSetting",
                "loggingLevel",
                "Valid values are OFF, ERROR, and INFO.",
            ),
        ),
    ),
    "aws:apigateway/model:Model": (
        Matches(
            "name",
            re.compile(r"[A-Za-z0-9]+"),
            "letters and digits only",
            "API Gateway model name",
            Prose("apigateway", "CreateModel", "name", "Must be alphanumeric."),
        ),
    ),
    "aws:ssm/parameter:Parameter": (
        Matches(
            "name",
            re.compile(r"(?!/?(aws|ssm))[a-zA-Z0-9_.\-/]+", re.IGNORECASE),
            "only a-zA-Z0-9_.- and / (for hierarchies), not starting with aws or ssm",
            "SSM parameter name",
            Prose(
                "ssm",
                "PutParameter",
                "Name",
                "Parameter names can include only the following symbols and letters: a-zA-Z0-9_.-",
            ),
        ),
        Custom(
            _ssm_value_size,
            Prose(
                "ssm",
                "PutParameter",
                "Value",
                "Standard parameters have a value limit of 4 KB. Advanced parameters have a value "
                "limit of 8 KB.",
            ),
        ),
    ),
}
"""Resource type → the documented rules its inputs must follow."""
