"""A testing kit for workload authors: your workload's resources, as the program declares them.

The real program (``__main__.py``) is evaluated with the stack config you give under
ackflow's fake cloud (the same one ``ackflow up`` and ``ackflow preview`` use), and your
workload's resources come back as plain frozen values to assert on. The pitfalls of Pulumi
mocks are handled here: each evaluation gets a fresh context and event loop (also when your
test runs inside one), runs with ``preview=False``, and a value the fake cloud left unknown
raises :class:`UnknownValueError` naming the resource and the value, instead of reading as
``None`` and letting an assertion pass that checks nothing.

Example
-------
A test file in the workload's own folder, so that a copied folder carries it::

    from local.cloud.testing import evaluate_workload, workload_name

    NAME = workload_name(__file__)  # the folder's name: a copy tests itself unchanged

    def test_the_retries_setting_reaches_the_invoke_config():
        resources = evaluate_workload(NAME, {"retries": 0})
        assert resources.invoke_config.retries == 0
        assert resources.worker.memory_mb == 128
        assert resources.worker.allows("sqs:SendMessage", resources.queues["success"].arn)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from local.apigateway.model import Method, rest_model
from local.cloud.capture import Capture, CaptureError, capture, read_stack_file, stack_name
from local.cloud.fake_cloud import RecordedResource
from local.cloud.functions import FUNCTION, INVOKE_CONFIG

__all__ = [
    "CaptureError",
    "DataSource",
    "InvokeConfig",
    "LambdaFunction",
    "Method",
    "Queue",
    "Resolver",
    "Table",
    "UnknownValueError",
    "WorkloadResources",
    "evaluate_stack",
    "evaluate_workload",
    "workload_name",
    "workload_resources",
]

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
QUEUE = "aws:sqs/queue:Queue"
TABLE = "aws:dynamodb/table:Table"
DATA_SOURCE = "aws:appsync/dataSource:DataSource"
RESOLVER = "aws:appsync/resolver:Resolver"
WORKER = "ackflow:index:AsyncWorker"
FRONT = "ackflow:index:FrontFunction"

DEFAULT_STACK = "test"
DEFAULT_REGION = "us-east-1"
# AWS's own defaults, for settings a program may leave out.
_AWS_MEMORY_MB, _AWS_TIMEOUT_SECONDS = 128, 3
_AWS_RETRIES, _AWS_MAX_EVENT_AGE_SECONDS = 2, 21600
_AWS_QUEUE_RETENTION_SECONDS = 345600
_INVOCATIONS = ("Event", "RequestResponse")

_T = TypeVar("_T")


class UnknownValueError(AssertionError):
    """A value the test reads was never given by the fake cloud (it would read as ``None``)."""


@dataclass(frozen=True, kw_only=True)
class LambdaFunction:
    """A Lambda function with its role's statements and its log group.

    Parameters
    ----------
    statements
        Every statement of every inline policy on the function's role, parsed from JSON.
    memory_mb, timeout_seconds
        As declared, or AWS's default when the program leaves them out.
    """

    name: str
    arn: str
    handler: str
    runtime: str
    architectures: tuple[str, ...]
    memory_mb: int
    timeout_seconds: int
    environment: Mapping[str, str]
    reserved_concurrency: int | None
    dead_letter_target: str | None
    tracing: bool
    log_group: str
    log_retention_days: int | None
    role_arn: str
    statements: tuple[Mapping[str, Any], ...]

    def allows(self, action: str, resource: str) -> bool:
        """Whether an Allow statement (and no Deny) grants ``action`` on ``resource``."""
        return _allows(self.statements, action, resource)


@dataclass(frozen=True, kw_only=True)
class InvokeConfig:
    """The worker's ``FunctionEventInvokeConfig``: how its asynchronous events are handled."""

    retries: int
    max_event_age_seconds: int
    on_success: str | None
    """The success destination's ARN, ``None`` when there is none."""
    on_failure: str | None


@dataclass(frozen=True, kw_only=True)
class Queue:
    name: str
    arn: str
    url: str
    retention_seconds: int
    sqs_managed_encryption: bool
    """SSE-SQS: encrypted at rest with keys SQS owns."""
    kms_key_id: str | None

    @property
    def encrypted(self) -> bool:
        """Encrypted at rest, with SQS's keys or a KMS key."""
        return self.sqs_managed_encryption or self.kms_key_id is not None


@dataclass(frozen=True, kw_only=True)
class Table:
    name: str
    arn: str
    hash_key: str
    ttl_attribute: str | None
    encrypted: bool
    billing_mode: str


@dataclass(frozen=True, kw_only=True)
class DataSource:
    """An AppSync Lambda data source and what its service role may do."""

    name: str
    type: str
    function_arn: str
    service_role_arn: str
    statements: tuple[Mapping[str, Any], ...]

    def allows(self, action: str, resource: str) -> bool:
        """Whether the service role is granted ``action`` on ``resource``."""
        return _allows(self.statements, action, resource)


@dataclass(frozen=True, kw_only=True)
class Resolver:
    """An AppSync resolver on one of the workload's data sources."""

    type_name: str
    field_name: str
    data_source: str
    runtime: str
    """``APPSYNC_JS 1.0.0``."""
    invocation: str | None
    """``Event`` or ``RequestResponse``: how its code invokes the function."""
    code: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class WorkloadResources:
    """What one workload's enabling declares, by role.

    Parameters
    ----------
    worker, front
        The workload's functions (``front`` is ``None`` when it declares none).
    queues
        ``success``, ``failure`` and ``dead_letter``: the queues its worker made for them.
    routes
        ``"GET /square/{number}"`` → the REST method invoking one of its functions, with its
        integration and integration responses (``local.apigateway.model.Method``).
    resolvers
        ``"Query.square"`` → the AppSync resolver on one of its data sources.
    resources
        Everything its worker and front components declare, for what the values above omit.
    """

    name: str
    worker: LambdaFunction
    front: LambdaFunction | None
    invoke_config: InvokeConfig
    queues: Mapping[str, Queue]
    tables: Mapping[str, Table]
    """By the table's resource name suffix (``idempotency``)."""
    routes: Mapping[str, Method]
    data_sources: tuple[DataSource, ...]
    resolvers: Mapping[str, Resolver]
    resources: tuple[RecordedResource, ...] = field(repr=False)


def workload_name(test_file: str | Path) -> str:
    """The workload a test file belongs to: the name of the folder holding it.

    Call it as ``workload_name(__file__)`` so that a copied workload's tests test the copy.
    """
    return Path(test_file).resolve().parent.name


def evaluate_stack(config: Mapping[str, Any] | Path, *, stack: str | None = None) -> Capture:
    """Evaluate the program for a stack config under the fake cloud.

    Parameters
    ----------
    config
        A stack file's ``config:`` map (``{"ackflow:workloads": {"squaring": {}}}``, region
        ``us-east-1`` unless ``aws:region`` says otherwise), or the path of a stack file.
        Secrets the config lacks get placeholders.
    stack
        The stack's name; by default the stack file's, else ``test``.

    Raises
    ------
    CaptureError
        The program refused the config (its message lists every problem), or failed.
    """
    if isinstance(config, Path):
        stack = stack or stack_name(config)
        config = read_stack_file(config)
    values = {"aws:region": DEFAULT_REGION, **config}
    return _off_any_running_loop(lambda: capture(stack or DEFAULT_STACK, values))


def evaluate_workload(
    name: str,
    settings: Mapping[str, Any] | None = None,
    *,
    api: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    stack: str = DEFAULT_STACK,
) -> WorkloadResources:
    """Evaluate a stack enabling only ``name`` and return that workload's resources.

    Parameters
    ----------
    settings
        Its ``ackflow:workloads.<name>`` settings, camelCase as in a stack file.
    api
        ``ackflow:api`` settings (``{"auth": "iam"}``).
    secrets
        Secret values by key (``{"slackSigningSecret": "..."}``); placeholders otherwise.
    """
    config: dict[str, Any] = {"aws:region": region, "ackflow:workloads": {name: settings or {}}}
    if api is not None:
        config["ackflow:api"] = dict(api)
    config |= {f"ackflow:{key}": value for key, value in (secrets or {}).items()}
    return workload_resources(evaluate_stack(config, stack=stack), name)


def workload_resources(stack: Capture, name: str) -> WorkloadResources:
    """The resources workload ``name`` declares in an evaluated stack.

    Raises
    ------
    KeyError
        The stack does not enable ``name``.
    UnknownValueError
        A value read here was left unknown by the fake cloud.
    """
    workers = [r for r in stack.of_type(WORKER) if r.name == f"{name}-worker"]
    if not workers:
        enabled = sorted(r.name.removesuffix("-worker") for r in stack.of_type(WORKER))
        raise KeyError(f"stack {stack.stack} does not enable {name!r}; it enables {enabled}")
    fronts = [r for r in stack.of_type(FRONT) if r.name == f"{name}-front"]
    worker_owned = _descendants(stack, workers[0])
    front_owned = _descendants(stack, fronts[0]) if fronts else []
    owned = [*worker_owned, *front_owned]
    worker = _function(stack, _one(worker_owned, FUNCTION, workers[0]))
    front = _function(stack, _one(front_owned, FUNCTION, fronts[0])) if fronts else None
    invoke_config = _invoke_config(_one(worker_owned, INVOKE_CONFIG, workers[0]))
    functions = [f for f in (worker, front) if f is not None]
    data_sources = tuple(
        _data_source(stack, r)
        for r in stack.of_type(DATA_SOURCE)
        if (r.inputs.get("lambdaConfig") or {}).get("functionArn") in {f.arn for f in functions}
    )
    return WorkloadResources(
        name=name,
        worker=worker,
        front=front,
        invoke_config=invoke_config,
        queues=_queues(worker_owned, worker, invoke_config),
        tables={
            r.name.removeprefix(f"{name}-worker-").removeprefix(f"{name}-front-"): _table(r)
            for r in owned
            if r.type == TABLE
        },
        routes=_routes(stack, {f.name for f in functions}),
        data_sources=data_sources,
        resolvers={
            f"{resolver.type_name}.{resolver.field_name}": resolver
            for resolver in (
                _resolver(r)
                for r in stack.of_type(RESOLVER)
                if r.inputs.get("dataSource") in {d.name for d in data_sources}
            )
        },
        resources=tuple(owned),
    )


# --- reading recorded resources, loudly --------------------------------------------------------


def _known(resource: RecordedResource, where: str, *path: str) -> Any:
    """``resource.inputs`` / ``.outputs`` at ``path``; raises when the value is not there."""
    value: Any = getattr(resource, where)
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
        if value is None:
            raise UnknownValueError(
                f"{resource.type} {resource.name}: {where[:-1]} {'.'.join(path)!r} is unknown "
                "(the fake cloud gave no value, so a Pulumi mock would read it as None)"
            )
    return value


def _optional(resource: RecordedResource, *path: str) -> Any:
    value: Any = resource.inputs
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _function(stack: Capture, resource: RecordedResource) -> LambdaFunction:
    name = _known(resource, "outputs", "name")
    role_arn = _known(resource, "inputs", "role")
    log_group_name = _optional(resource, "loggingConfig", "logGroup") or f"/aws/lambda/{name}"
    log_groups = [g for g in stack.of_type(LOG_GROUP) if g.outputs.get("name") == log_group_name]
    retention = _optional(log_groups[0], "retentionInDays") if log_groups else None
    return LambdaFunction(
        name=name,
        arn=_known(resource, "outputs", "arn"),
        handler=_known(resource, "inputs", "handler"),
        runtime=_known(resource, "inputs", "runtime"),
        architectures=tuple(_optional(resource, "architectures") or ("x86_64",)),
        memory_mb=int(_optional(resource, "memorySize") or _AWS_MEMORY_MB),
        timeout_seconds=int(_optional(resource, "timeout") or _AWS_TIMEOUT_SECONDS),
        environment=dict(_optional(resource, "environment", "variables") or {}),
        reserved_concurrency=_int_or_none(_optional(resource, "reservedConcurrentExecutions")),
        dead_letter_target=_optional(resource, "deadLetterConfig", "targetArn"),
        tracing=_optional(resource, "tracingConfig", "mode") == "Active",
        log_group=log_group_name,
        log_retention_days=_int_or_none(retention),
        role_arn=role_arn,
        statements=_role_statements(stack, role_arn),
    )


def _role_statements(stack: Capture, role_arn: str) -> tuple[Mapping[str, Any], ...]:
    roles = [r for r in stack.of_type(ROLE) if r.outputs.get("arn") == role_arn]
    if not roles:
        raise UnknownValueError(f"no role has the ARN {role_arn!r}")
    role = roles[0]
    names = {role.id, role.outputs.get("name")}
    return tuple(
        statement
        for policy in stack.of_type(ROLE_POLICY)
        if policy.inputs.get("role") in names
        for statement in json.loads(_known(policy, "inputs", "policy")).get("Statement", [])
    )


def _invoke_config(resource: RecordedResource) -> InvokeConfig:
    destinations = _optional(resource, "destinationConfig") or {}
    slots = {
        slot: _known(resource, "inputs", "destinationConfig", slot, "destination")
        if slot in destinations
        else None
        for slot in ("onSuccess", "onFailure")
    }
    return InvokeConfig(
        retries=int(_default(_optional(resource, "maximumRetryAttempts"), _AWS_RETRIES)),
        max_event_age_seconds=int(
            _default(_optional(resource, "maximumEventAgeInSeconds"), _AWS_MAX_EVENT_AGE_SECONDS)
        ),
        on_success=slots["onSuccess"],
        on_failure=slots["onFailure"],
    )


def _queues(
    owned: list[RecordedResource], worker: LambdaFunction, invoke_config: InvokeConfig
) -> dict[str, Queue]:
    by_arn = {_known(r, "outputs", "arn"): r for r in owned if r.type == QUEUE}
    slots = {
        "success": invoke_config.on_success,
        "failure": invoke_config.on_failure,
        "dead_letter": worker.dead_letter_target,
    }
    return {slot: _queue(by_arn[arn]) for slot, arn in slots.items() if arn in by_arn}


def _queue(resource: RecordedResource) -> Queue:
    return Queue(
        name=_known(resource, "outputs", "name"),
        arn=_known(resource, "outputs", "arn"),
        url=_known(resource, "outputs", "url"),
        retention_seconds=int(
            _optional(resource, "messageRetentionSeconds") or _AWS_QUEUE_RETENTION_SECONDS
        ),
        sqs_managed_encryption=bool(_optional(resource, "sqsManagedSseEnabled")),
        kms_key_id=_optional(resource, "kmsMasterKeyId") or None,
    )


def _table(resource: RecordedResource) -> Table:
    ttl = _optional(resource, "ttl") or {}
    return Table(
        name=_known(resource, "outputs", "name"),
        arn=_known(resource, "outputs", "arn"),
        hash_key=_known(resource, "inputs", "hashKey"),
        ttl_attribute=ttl.get("attributeName") if ttl.get("enabled") else None,
        encrypted=bool(_optional(resource, "serverSideEncryption", "enabled")),
        billing_mode=_optional(resource, "billingMode") or "PROVISIONED",
    )


def _routes(stack: Capture, function_names: set[str]) -> dict[str, Method]:
    return {
        f"{method.http_method} {resource.path}": method
        for api in rest_model(stack).apis
        for resource in api.resources
        for method in resource.methods.values()
        if method.integration is not None and method.integration.function_name in function_names
    }


def _data_source(stack: Capture, resource: RecordedResource) -> DataSource:
    role_arn = _known(resource, "inputs", "serviceRoleArn")
    return DataSource(
        name=_known(resource, "inputs", "name"),
        type=_known(resource, "inputs", "type"),
        function_arn=_known(resource, "inputs", "lambdaConfig", "functionArn"),
        service_role_arn=role_arn,
        statements=_role_statements(stack, role_arn),
    )


def _resolver(resource: RecordedResource) -> Resolver:
    code = _known(resource, "inputs", "code")
    runtime = _known(resource, "inputs", "runtime")
    return Resolver(
        type_name=_known(resource, "inputs", "type"),
        field_name=_known(resource, "inputs", "field"),
        data_source=_known(resource, "inputs", "dataSource"),
        runtime=f"{runtime.get('name')} {runtime.get('runtimeVersion')}",
        invocation=next((kind for kind in _INVOCATIONS if f"'{kind}'" in code), None),
        code=code,
    )


# --- helpers -------------------------------------------------------------------------------


def _descendants(stack: Capture, component: RecordedResource) -> list[RecordedResource]:
    found = []
    for child in stack.children(component):
        found += [child, *_descendants(stack, child)]
    return found


def _one(
    resources: list[RecordedResource], type_token: str, owner: RecordedResource
) -> RecordedResource:
    matches = [r for r in resources if r.type == type_token]
    if len(matches) != 1:
        raise UnknownValueError(f"{owner.name}: expected one {type_token}, found {len(matches)}")
    return matches[0]


def _allows(statements: tuple[Mapping[str, Any], ...], action: str, resource: str) -> bool:
    def matches(statement: Mapping[str, Any]) -> bool:
        return any(
            fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _list(statement["Action"])
        ) and any(fnmatch.fnmatchcase(resource, r) for r in _list(statement["Resource"]))

    relevant = [s for s in statements if "Action" in s and "Resource" in s and matches(s)]
    return any(s.get("Effect") == "Allow" for s in relevant) and not any(
        s.get("Effect") == "Deny" for s in relevant
    )


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _off_any_running_loop(evaluate: Callable[[], _T]) -> _T:
    """Run ``evaluate`` here, or in a thread when this one runs an event loop (an async test):
    Pulumi's mocks drive a loop of their own, which cannot run inside another."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return evaluate()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(evaluate).result()
