"""The workload contract and plugin discovery.

A workload is a folder under ``workloads/`` holding a ``workload.py`` that defines one
``WORKLOAD = Workload(...)`` value, its handler modules, an optional ``schema.graphql``
fragment and a ``requirements.txt``. Nothing here creates Pulumi resources: the stack
builder reads these declarations and hands them to the components.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from graphql import GraphQLError, ObjectTypeExtensionNode, get_named_type, parse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator
from pydantic.alias_generators import to_camel

from components import limits
from components.destinations import DestinationKind, destination_for_arn
from components.graphql_front import ACK_TYPE
from components.schema import SchemaError, build_appsync_schema, merge_schema

__all__ = [
    "WORKLOADS_ROOT",
    "ArgumentRule",
    "Function",
    "GraphQLField",
    "HttpRoute",
    "Invocation",
    "Secret",
    "StackContext",
    "Table",
    "Workload",
    "WorkloadError",
    "WorkloadSettings",
    "check_log_retention",
    "discover",
]

WORKLOADS_ROOT = Path(__file__).parent
_NAME = re.compile(r"^[a-z][a-zA-Z0-9]*$")


class WorkloadError(Exception):
    """A workload folder that breaks the contract."""


class Invocation(StrEnum):
    """How a front invokes the function behind an operation."""

    EVENT = "event"
    """Always asynchronous: the front answers with an acknowledgement."""
    REQUEST_RESPONSE = "request_response"
    """Synchronous: the front answers with the function's result."""
    CLIENT = "client"
    """REST only: the caller picks with an ``InvocationType`` header (default RequestResponse)."""


def check_log_retention(days: int | None) -> int | None:
    """A pydantic validator: CloudWatch takes only some retention periods."""
    if days is not None and days not in limits.LOG_RETENTION_DAYS:
        raise ValueError(f"CloudWatch keeps logs for one of {limits.LOG_RETENTION_DAYS} days")
    return days


class WorkloadSettings(BaseModel):
    """Settings every workload inherits; a workload subclasses this to add its own.

    ``None`` means "not set in the stack": the workload's own default applies, then the
    AsyncWorker default (AWS's own where AWS has one).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    retries: StrictInt | None = Field(None, ge=limits.RETRIES[0], le=limits.RETRIES[1])
    max_event_age_seconds: StrictInt | None = Field(
        None, ge=limits.MAX_EVENT_AGE_SECONDS[0], le=limits.MAX_EVENT_AGE_SECONDS[1]
    )
    memory_mb: StrictInt | None = Field(None, ge=limits.MEMORY_MB[0], le=limits.MEMORY_MB[1])
    timeout_seconds: StrictInt | None = Field(
        None, ge=limits.TIMEOUT_SECONDS[0], le=limits.TIMEOUT_SECONDS[1]
    )
    architecture: Literal["arm64", "x86_64"] | None = None
    log_retention_days: StrictInt | None = None
    on_success: str | None = None
    """``queue`` (a new encrypted SQS queue, the default), ``none``, or the ARN of an SQS
    queue, SNS topic, EventBridge bus or Lambda function."""
    on_failure: str | None = None
    """As ``on_success``; an S3 bucket ARN is allowed here too."""
    dlq: StrictBool | str | None = None
    """``true`` for a new SQS dead-letter queue, or the ARN of an SQS queue or SNS topic."""
    reserved_concurrency: StrictInt | None = Field(None, ge=0)
    tracing: StrictBool | None = None
    """Active X-Ray tracing."""
    failure_alarm: StrictBool | None = None
    """A CloudWatch alarm on the first record that reaches the failure destination."""

    _retention = field_validator("log_retention_days")(check_log_retention)

    @field_validator("on_success", "on_failure", "dlq")
    @classmethod
    def _destination_is_supported(cls, value: str | bool | None, info: Any) -> str | bool | None:
        kind = _SLOTS[info.field_name]
        words = ("queue", "none") if kind is not DestinationKind.DEAD_LETTER else ()
        if isinstance(value, str) and value not in words:
            try:
                destination_for_arn(value, kind)
            except ValueError as error:
                hint = ", ".join(map(repr, words)) if words else "true, false"
                raise ValueError(f"{error}; or one of {hint}") from None
        return value


_SLOTS = {
    "on_success": DestinationKind.SUCCESS,
    "on_failure": DestinationKind.FAILURE,
    "dlq": DestinationKind.DEAD_LETTER,
}


@dataclass(frozen=True, kw_only=True)
class StackContext:
    """What a workload may know about the stack when it declares IAM statements."""

    project: str
    stack: str
    region: str
    account_id: str


@dataclass(frozen=True, kw_only=True)
class Function:
    """A Lambda function of a workload.

    ``defaults`` overrides AsyncWorker defaults for this function (keys are AsyncWorkerArgs
    field names, e.g. ``timeout_seconds``); the stack's settings override both.
    """

    handler: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    environment: Callable[[Any], Mapping[str, str]] = lambda _settings: {}
    includes: tuple[str, ...] = ()
    """Other workloads whose folders ship beside this code, importable as packages
    (``from squaring.handler import parse_number``)."""


@dataclass(frozen=True, kw_only=True)
class Table:
    """A DynamoDB table the worker owns; its name reaches the worker as ``env``."""

    name: str
    env: str
    hash_key: str = "id"
    ttl_attribute: str | None = "expiration"


@dataclass(frozen=True, kw_only=True)
class Secret:
    """A stack secret the front reads at run time: ``pulumi config set --secret ackflow:<key>``.

    The program keeps it in SSM Parameter Store (SecureString); ``env`` names the parameter.
    """

    key: str
    env: str
    description: str


@dataclass(frozen=True, kw_only=True)
class ArgumentRule:
    """What an asynchronous field's resolver checks of one argument before anything is queued
    (a GraphQL ``ArgumentValidationError`` otherwise). ``pattern`` must match the whole value."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    def as_resolver_rule(self) -> dict[str, Any]:
        names = {"min_length": "minLength", "max_length": "maxLength"}
        return {
            names.get(name, name): value for name, value in vars(self).items() if value is not None
        }


@dataclass(frozen=True, kw_only=True)
class GraphQLField:
    """A field of the workload's ``schema.graphql`` fragment and how its resolver invokes."""

    type_name: Literal["Query", "Mutation"]
    field_name: str
    invocation: Literal[Invocation.EVENT, Invocation.REQUEST_RESPONSE]
    function: Literal["worker", "front"] = "worker"
    arguments: Callable[[Any], Mapping[str, ArgumentRule]] = lambda _settings: {}
    """The argument rules of an ``EVENT`` field, from the workload's settings."""


@dataclass(frozen=True, kw_only=True)
class HttpRoute:
    """A REST route: ``path`` may hold ``{param}`` segments."""

    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    invocation: Invocation | Callable[[Any], Invocation]
    function: Literal["worker", "front"] = "worker"
    body_schema: Mapping[str, Any] | None = None
    """JSON schema (draft 4, as API Gateway models take) the request body must satisfy."""
    request_template: str | None = None
    """VTL turning the request into the function's event (non-proxy routes)."""
    response_template: str | None = None
    """VTL shaping a synchronous 200 answer from the function's result."""
    accepted_template: str | None = None
    """VTL shaping the 202 answer of an asynchronous call."""
    endpoint: str | None = None
    """A name for the route's URL in the local runtime's ``endpoints.json``."""

    def invocation_for(self, settings: Any) -> Invocation:
        return self.invocation(settings) if callable(self.invocation) else self.invocation


@dataclass(frozen=True, kw_only=True)
class Workload:
    """One workload plugin: what it is, what it runs, and what it exposes."""

    name: str
    summary: str
    worker: Function
    settings: type[WorkloadSettings] = WorkloadSettings
    front: Function | None = None
    graphql: tuple[GraphQLField, ...] = ()
    routes: tuple[HttpRoute, ...] = ()
    iam_statements: Callable[[Any, StackContext], list[dict[str, Any]]] = (
        lambda _settings, _context: []
    )
    streams: bool = False
    """Whether the worker publishes chunks to the shared subscription channel."""
    tables: tuple[Table, ...] = ()
    secrets: tuple[Secret, ...] = ()
    directory: Path = Path()

    @property
    def schema_fragment(self) -> str:
        path = self.directory / "schema.graphql"
        return path.read_text() if path.is_file() else ""

    def functions(self) -> dict[str, Function]:
        return {"worker": self.worker} | ({"front": self.front} if self.front else {})


def discover(*roots: Path) -> dict[str, Workload]:
    """Find every workload folder under ``roots`` (by default ``workloads/``).

    A folder holding ``workload.py`` is a plugin; one that defines no valid ``WORKLOAD``,
    or whose name another root already uses, raises :class:`WorkloadError` naming the
    folder and the fault.
    """
    found: dict[str, Workload] = {}
    for root in roots or (WORKLOADS_ROOT,):
        if not root.is_dir():
            raise WorkloadError(f"{root}: not a folder, so it holds no workloads")
        for folder in sorted(p for p in root.iterdir() if (p / "workload.py").is_file()):
            if folder.name in found:
                raise WorkloadError(
                    f"{folder}: a workload named {folder.name!r} is already in "
                    f"{found[folder.name].directory.parent}"
                )
            found[folder.name] = _load(folder)
    return found


def _load(folder: Path) -> Workload:
    shown = f"workloads/{folder.name}" if folder.parent == WORKLOADS_ROOT else str(folder)

    def fail(why: str) -> WorkloadError:
        return WorkloadError(f"{shown}: {why}")

    if not _NAME.match(folder.name):
        raise fail("folder names must be camelCase letters and digits (they are config keys)")
    spec = importlib.util.spec_from_file_location(
        f"ackflow_workload_{folder.name}", folder / "workload.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through it
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise fail(f"workload.py failed to import: {type(error).__name__}: {error}") from error

    declared = getattr(module, "WORKLOAD", None)
    if not isinstance(declared, Workload):
        raise fail(f"workload.py must define WORKLOAD = Workload(...), found {declared!r:.60}")
    if declared.name != folder.name:
        raise fail(f"WORKLOAD.name is {declared.name!r}, but the folder is {folder.name!r}")
    if not (
        isinstance(declared.settings, type) and issubclass(declared.settings, WorkloadSettings)
    ):
        raise fail("WORKLOAD.settings must subclass workloads.WorkloadSettings")
    for role, function in declared.functions().items():
        module_name = function.handler.rpartition(".")[0]
        if not (folder / f"{module_name.replace('.', '/')}.py").is_file():
            raise fail(f"the {role}'s handler {function.handler!r} names no module in the folder")
    for route in declared.routes:
        if route.function == "front" and declared.front is None:
            raise fail(f"route {route.method} {route.path} targets a front, but none is declared")
    for role, function in declared.functions().items():
        for included in function.includes:
            if not (folder.parent / included / "workload.py").is_file():
                raise fail(f"the {role} includes {included!r}, which is not a workload folder")
    if declared.secrets and declared.front is None:
        raise fail("it declares secrets, but only a front function reads them and it has none")
    if declared.graphql and not (folder / "schema.graphql").is_file():
        raise fail("it declares GraphQL fields but has no schema.graphql")
    loaded = replace(declared, directory=folder)
    if loaded.schema_fragment:
        fault = _graphql_fault(loaded)
        if fault:
            raise fail(fault)
    return loaded


_RESOLVED_ROOTS = ("Query", "Mutation")


def _graphql_fault(workload: Workload) -> str | None:
    """What is wrong between ``schema.graphql`` and the ``GraphQLField`` values, if anything.

    The fragment must merge into the base schema on its own; each GraphQLField must name a
    Query or Mutation field the fragment adds (an Event one returning the acknowledgement);
    and each field it adds there needs a GraphQLField, or AppSync would answer it with null.
    """
    try:
        merged = merge_schema({workload.name: workload.schema_fragment}, "apiKey")
        added = {
            (definition.name.value, node.name.value)
            for definition in parse(workload.schema_fragment).definitions
            if isinstance(definition, ObjectTypeExtensionNode)
            and definition.name.value in _RESOLVED_ROOTS
            for node in definition.fields or ()
        }
    except (SchemaError, GraphQLError) as error:
        return f"schema.graphql: {error}"
    schema = build_appsync_schema(merged)
    declared = {(f.type_name, f.field_name): f for f in workload.graphql}
    for key, operation in declared.items():
        where = f"GraphQLField {'.'.join(key)}"
        if key not in added:
            adds = ", ".join(".".join(k) for k in sorted(added)) or "no Query or Mutation field"
            return f"{where} is not a field its schema.graphql adds (it adds {adds})"
        returned = get_named_type(schema.get_type(key[0]).fields[key[1]].type).name
        if operation.invocation == Invocation.EVENT and returned != ACK_TYPE:
            return f"{where} is invoked with event, so it must return {ACK_TYPE}, not {returned}"
    unresolved = sorted(".".join(key) for key in added - declared.keys())
    if unresolved:
        return (
            f"schema.graphql adds {', '.join(unresolved)}, but no GraphQLField resolves it "
            "(AppSync would always answer null)"
        )
    return None
