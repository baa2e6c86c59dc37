"""The fake cloud: one Pulumi ``Mocks`` that synthesizes outputs and records every resource.

Outputs come from a table keyed by resource type (ARNs in a local account, ids, names,
invoke ARNs, URLs, queue URLs). Every other type echoes its inputs and gets an id; which
types had no factory is kept in ``unmodelled`` so nothing is hidden.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

__all__ = ["ACCOUNT_ID", "LocalCloud", "RecordedResource", "RecordingMonitor"]

ACCOUNT_ID = "000000000000"


@dataclass
class RecordedResource:
    """A resource the program declared, with its resolved inputs and synthesized outputs."""

    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    urn: str = ""
    parent: str = ""
    component_outputs: dict[str, Any] = field(default_factory=dict)
    secret_inputs: set[str] = field(default_factory=set)
    """Inputs the program marked secret; ``inputs`` holds their plain values (local use)."""

    @property
    def is_component(self) -> bool:
        return self.type.startswith("ackflow:")


@dataclass(frozen=True)
class _Scope:
    region: str
    account: str
    name: str
    inputs: dict[str, Any]

    @property
    def physical(self) -> str:
        """The given name, or a stable stand-in for Pulumi's random auto-name suffix."""
        given = self.inputs.get("name")
        if given:
            return given
        return f"{self.name}-{hashlib.sha256(self.name.encode()).hexdigest()[:7]}"

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"


def _function(s: _Scope) -> dict[str, Any]:
    arn = s.arn("lambda", f"function:{s.physical}")
    return {
        "name": s.physical,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "version": "$LATEST",
        "invokeArn": (
            f"arn:aws:apigateway:{s.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
    }


def _queue(s: _Scope) -> dict[str, Any]:
    return {
        "name": s.physical,
        "arn": s.arn("sqs", s.physical),
        "url": f"https://sqs.{s.region}.amazonaws.com/{s.account}/{s.physical}",
    }


def _graphql_api(s: _Scope) -> dict[str, Any]:
    api_id = _short_id(s.name, 26)
    host = f"{api_id}.appsync-api.{s.region}.amazonaws.com"
    realtime = f"{api_id}.appsync-realtime-api.{s.region}.amazonaws.com"
    return {
        "arn": s.arn("appsync", f"apis/{api_id}"),
        "uris": {"GRAPHQL": f"https://{host}/graphql", "REALTIME": f"wss://{realtime}/graphql"},
        "_id": api_id,
    }


def _rest_api(s: _Scope) -> dict[str, Any]:
    api_id = _short_id(s.name, 10)
    return {
        "_id": api_id,
        "rootResourceId": _short_id(f"{s.name}/", 10),
        "arn": f"arn:aws:apigateway:{s.region}::/restapis/{api_id}",
        "executionArn": s.arn("execute-api", api_id),
    }


def _stage(s: _Scope) -> dict[str, Any]:
    api_id, stage = s.inputs.get("restApi", ""), s.inputs.get("stageName", "")
    return {
        "invokeUrl": f"https://{api_id}.execute-api.{s.region}.amazonaws.com/{stage}",
        "executionArn": s.arn("execute-api", f"{api_id}/{stage}"),
        "arn": f"arn:aws:apigateway:{s.region}::/restapis/{api_id}/stages/{stage}",
    }


_OUTPUTS: dict[str, Callable[[_Scope], dict[str, Any]]] = {
    "aws:lambda/function:Function": _function,
    "aws:iam/role:Role": lambda s: {
        "name": s.physical,
        "arn": s.arn("iam", f"role/{s.physical}", False),
    },
    "aws:iam/rolePolicy:RolePolicy": lambda s: {"name": s.physical},
    "aws:cloudwatch/logGroup:LogGroup": lambda s: {
        "name": s.physical,
        "arn": s.arn("logs", f"log-group:{s.physical}"),
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda s: {
        "name": s.physical,
        "arn": s.arn("cloudwatch", f"alarm:{s.physical}"),
    },
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": lambda s: {},
    "aws:lambda/permission:Permission": lambda s: {},
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": lambda s: {"name": s.physical, "arn": s.arn("sns", s.physical)},
    "aws:cloudwatch/eventBus:EventBus": lambda s: {
        "name": s.physical,
        "arn": s.arn("events", f"event-bus/{s.physical}"),
    },
    "aws:s3/bucket:Bucket": lambda s: {
        "bucket": s.inputs.get("bucket") or s.physical,
        "arn": f"arn:aws:s3:::{s.physical}",
    },
    "aws:dynamodb/table:Table": lambda s: {
        "name": s.physical,
        "arn": s.arn("dynamodb", f"table/{s.physical}"),
    },
    "aws:ssm/parameter:Parameter": lambda s: {
        "name": s.physical,
        "arn": s.arn("ssm", f"parameter/{s.physical.lstrip('/')}"),
    },
    "aws:secretsmanager/secret:Secret": lambda s: {
        "name": s.physical,
        "arn": s.arn("secretsmanager", f"secret:{s.physical}-AbCdEf"),
    },
    "aws:appsync/graphQLApi:GraphQLApi": _graphql_api,
    "aws:appsync/apiKey:ApiKey": lambda s: {"key": f"da2-{_short_id(s.name, 26)}"},
    "aws:appsync/dataSource:DataSource": lambda s: {
        "arn": s.arn("appsync", f"apis/{s.inputs.get('apiId')}/datasources/{s.inputs.get('name')}")
    },
    "aws:appsync/resolver:Resolver": lambda s: {
        "arn": s.arn(
            "appsync",
            f"apis/{s.inputs.get('apiId')}/types/{s.inputs.get('type')}"
            f"/resolvers/{s.inputs.get('field')}",
        )
    },
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:apigateway/resource:Resource": lambda s: {"_id": _short_id(f"resource/{s.name}", 6)},
    "aws:apigateway/method:Method": lambda s: {},
    "aws:apigateway/methodResponse:MethodResponse": lambda s: {},
    "aws:apigateway/integration:Integration": lambda s: {},
    "aws:apigateway/integrationResponse:IntegrationResponse": lambda s: {},
    "aws:apigateway/model:Model": lambda s: {"_id": _short_id(f"model/{s.name}", 6)},
    "aws:apigateway/requestValidator:RequestValidator": lambda s: {
        "_id": _short_id(f"validator/{s.name}", 6)
    },
    "aws:apigateway/deployment:Deployment": lambda s: {"_id": _short_id(f"deployment/{s.name}", 6)},
    "aws:apigateway/stage:Stage": _stage,
    "aws:apigateway/methodSettings:MethodSettings": lambda s: {},
}

_CALLS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda region, account: {
        "accountId": account,
        "arn": f"arn:aws:iam::{account}:user/ackflow-local",
        "userId": "AIDALOCALACKFLOW",
        "id": account,
    },
    "aws:index/getRegion:getRegion": lambda region, account: {
        "name": region,
        "region": region,
        "id": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    },
    "aws:index/getPartition:getPartition": lambda region, account: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
        "reverseDnsPrefix": "com.amazonaws",
    },
}


class LocalCloud(pulumi.runtime.Mocks):
    """A data-driven fake AWS account for Pulumi's mock runtime."""

    def __init__(self, region: str = "us-east-1", account_id: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id
        self.resources: list[RecordedResource] = []
        self.unmodelled: set[str] = set()
        self._lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = {key: _reveal(value) for key, value in args.inputs.items()}
        secret_inputs = {key for key, value in args.inputs.items() if _is_secret(value)}
        scope = _Scope(self.region, self.account_id, args.name, inputs)
        factory = _OUTPUTS.get(args.typ)
        synthesized = factory(scope) if factory else {}
        resource_id = synthesized.pop("_id", None) or scope.physical
        outputs = {**args.inputs, **synthesized}
        record = RecordedResource(args.typ, args.name, resource_id, inputs, outputs)
        record.secret_inputs = secret_inputs
        with self._lock:
            if factory is None and args.custom:
                self.unmodelled.add(args.typ)
            self.resources.append(record)
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        factory = _CALLS.get(args.token)
        if factory is None:
            raise NotImplementedError(f"the fake cloud has no answer for {args.token}")
        return factory(self.region, self.account_id)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]


class RecordingMonitor(MockMonitor):
    """A mock monitor that also records each resource's URN, parent and component outputs."""

    mocks: LocalCloud

    def __init__(self, cloud: LocalCloud) -> None:
        super().__init__(cloud)
        self.duplicate_urns: list[str] = []
        self._by_urn: dict[str, RecordedResource] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        with self.mocks._lock:
            record = next(
                r
                for r in reversed(self.mocks.resources)
                if r.type == request.type and r.name == request.name and not r.urn
            )
            record.urn, record.parent = response.urn, request.parent
            if response.urn in self._by_urn:
                self.duplicate_urns.append(response.urn)
            self._by_urn[response.urn] = record
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        record = self._by_urn.get(request.urn)
        if record is not None:
            record.component_outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def _reveal(value: Any) -> Any:
    """Pulumi's mocks deliver secret inputs wrapped; the local runtime needs the value."""
    if _is_secret(value):
        return _reveal(value["value"])
    if isinstance(value, dict):
        return {key: _reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_reveal(item) for item in value]
    return value


def _short_id(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]
