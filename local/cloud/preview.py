"""The offline plan: what a stack declares, grouped by component, with its key settings."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from local.cloud.capture import Capture
from local.cloud.fake_cloud import RecordedResource

__all__ = ["plan_tree", "print_plan", "summarize"]


def _function(i: dict[str, Any]) -> list[str]:
    env = sorted((i.get("environment") or {}).get("variables") or {})
    return [
        f"handler {i.get('handler')}  {i.get('runtime')}  {', '.join(i.get('architectures', []))}",
        f"memory {_int(i.get('memorySize'))} MB, timeout {_int(i.get('timeout'))} s",
        *_present("reserved concurrency", _int(i.get("reservedConcurrentExecutions"))),
        *_present("dead-letter queue", (i.get("deadLetterConfig") or {}).get("targetArn")),
        *_present("tracing", (i.get("tracingConfig") or {}).get("mode")),
        *_present("environment", ", ".join(env)),
    ]


def _invoke_config(i: dict[str, Any]) -> list[str]:
    destinations = i.get("destinationConfig") or {}
    return [
        f"retries {_int(i.get('maximumRetryAttempts'))}, "
        f"max event age {_int(i.get('maximumEventAgeInSeconds'))} s",
        f"on success → {(destinations.get('onSuccess') or {}).get('destination', 'nothing')}",
        f"on failure → {(destinations.get('onFailure') or {}).get('destination', 'nothing')}",
    ]


def _policy(i: dict[str, Any]) -> list[str]:
    lines = []
    for statement in json.loads(i.get("policy") or "{}").get("Statement", []):
        actions, resources = statement.get("Action"), statement.get("Resource")
        lines.append(f"allow {_join(actions)} on {_join(resources)}")
    return lines


def _queue(i: dict[str, Any]) -> list[str]:
    days = _int(i.get("messageRetentionSeconds", 345600)) // 86400
    encrypted = "SQS-managed encryption" if i.get("sqsManagedSseEnabled") else "unencrypted"
    return [f"kept {days} days, {encrypted}"]


def _graphql_api(i: dict[str, Any]) -> list[str]:
    extra = [p.get("authenticationType") for p in i.get("additionalAuthenticationProviders") or []]
    logs = (i.get("logConfig") or {}).get("fieldLogLevel", "off")
    return [
        f"auth {i.get('authenticationType')}" + (f" + {', '.join(extra)}" if extra else ""),
        f"field logs {logs}, X-Ray {'on' if i.get('xrayEnabled') else 'off'}",
    ]


def _resolver(i: dict[str, Any]) -> list[str]:
    code = i.get("code") or ""
    invocation = next((kind for kind in ("Event", "RequestResponse") if f"'{kind}'" in code), None)
    runtime = (i.get("runtime") or {}).get("name")
    return [
        f"{i.get('type')}.{i.get('field')}  {runtime}"
        + (f"  invokes {invocation}" if invocation else "")
    ]


def _integration(i: dict[str, Any]) -> list[str]:
    invocation = (i.get("requestParameters") or {}).get(
        "integration.request.header.X-Amz-Invocation-Type"
    )
    return [f"{i.get('type')}" + (f", X-Amz-Invocation-Type ← {invocation}" if invocation else "")]


_SUMMARIES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "aws:appsync/graphQLApi:GraphQLApi": _graphql_api,
    "aws:appsync/resolver:Resolver": _resolver,
    "aws:appsync/dataSource:DataSource": lambda i: [f"{i.get('type')} data source {i.get('name')}"],
    "aws:apigateway/method:Method": lambda i: [
        f"{i.get('httpMethod')}, authorization {i.get('authorization')}"
    ],
    "aws:apigateway/integration:Integration": _integration,
    "aws:apigateway/integrationResponse:IntegrationResponse": lambda i: [
        f"{i.get('statusCode')} when {i.get('selectionPattern') or 'no error'}"
    ],
    "aws:apigateway/stage:Stage": lambda i: [f"stage {i.get('stageName')}, access logs on"],
    "aws:apigateway/methodSettings:MethodSettings": lambda i: [
        f"throttling burst {_int((i.get('settings') or {}).get('throttlingBurstLimit'))}, "
        f"rate {_int((i.get('settings') or {}).get('throttlingRateLimit'))}/s"
    ],
    "aws:lambda/permission:Permission": lambda i: [
        f"{i.get('principal')} may invoke {i.get('function')} from {i.get('sourceArn')}"
    ],
    "aws:lambda/function:Function": _function,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _invoke_config,
    "aws:iam/rolePolicy:RolePolicy": _policy,
    "aws:sqs/queue:Queue": _queue,
    "aws:cloudwatch/logGroup:LogGroup": lambda i: [f"kept {_int(i.get('retentionInDays'))} days"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda i: [
        f"{i.get('namespace')} {i.get('metricName')} ≥ {_int(i.get('threshold'))}"
    ],
}


def summarize(resource: RecordedResource) -> list[str]:
    """The settings worth showing for one resource."""
    summary = _SUMMARIES.get(resource.type)
    return summary(resource.inputs) if summary else []


def plan_tree(capture: Capture) -> Tree:
    """A tree of the stack: components first, each with its children and their settings."""
    tree = Tree(f"[bold]stack {capture.stack}[/] ({capture.region}, fake cloud)")
    for resource in capture.top_level():
        _add(tree, resource, capture)
    if capture.outputs:
        outputs = tree.add("[bold]outputs[/]")
        for name, value in capture.outputs.items():
            shown = "(secret)" if name in capture.secret_outputs else escape(str(value))
            outputs.add(f"{name} = {shown}")
    return tree


def print_plan(
    capture: Capture, console: Console | None = None, encrypted: Collection[str] = ()
) -> None:
    """Print the plan, then what it could not know: secrets (``encrypted``: the keys the stack
    file holds encrypted) and resource types the fake cloud does not model."""
    console = console or Console()
    console.print(plan_tree(capture))
    count = sum(not r.is_component for r in capture.resources)
    console.print(
        f"{count} resources in {sum(r.is_component for r in capture.resources)} components"
    )
    for key, source in sorted(capture.local_secrets.items()):
        if key in encrypted:
            console.print(
                f"[yellow]{key} is encrypted in stack {capture.stack}'s file, which only Pulumi "
                f"can read: this preview used {source}.[/]"
            )
        else:
            console.print(
                f"[yellow]{key} is missing from stack {capture.stack}'s config: this preview "
                f"used {source}. Set it with: pulumi config set --secret {key} <value>[/]"
            )
    if capture.unmodelled:
        console.print(
            f"[yellow]not modelled by the fake cloud:[/] {', '.join(sorted(capture.unmodelled))}"
        )


def _add(tree: Tree, resource: RecordedResource, capture: Capture) -> None:
    style = "bold cyan" if resource.is_component else "green"
    branch = tree.add(f"[{style}]{resource.type}[/] {resource.name}")
    for line in summarize(resource):
        branch.add(f"[dim]{line}[/]")
    for child in sorted(capture.children(resource), key=lambda r: (r.type, r.name)):
        _add(branch, child, capture)


def _present(label: str, value: Any) -> list[str]:
    return [] if value is None or value == "" else [f"{label} {value}"]


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _join(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)
