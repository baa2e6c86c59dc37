"""Run the pack's policies on captured stacks, handing them what Pulumi's analyzer hands them.

pulumi-policy's analyzer receives each resource's properties as a protobuf ``Struct`` (secrets
wrapped in Pulumi's secret signature, archives in theirs), turns them into Python values with
``deserialize_properties`` (which unwraps secrets) and wraps them in ``unknown_checking_proxy``.
The adapter takes the fake cloud's records through the same steps: inputs for resource
policies (Pulumi analyzes a resource's inputs), outputs for stack policies (it analyzes the
stack's final outputs), and the stack's outputs as the root ``pulumi:pulumi:Stack`` resource.
Resource dependencies are not recorded by the fake cloud, so ``PolicyResource.dependencies``
is empty; parents are set.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties, serialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from local.cloud.capture import Capture
from local.cloud.fake_cloud import RecordedResource

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    urn: str


def analyzer_props(values: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> Any:
    """``values`` as the analyzer hands them to a policy (over the wire and back)."""
    secret = set(secret_keys)
    marked = {key: Secret(value) if key in secret else value for key, value in values.items()}
    struct = struct_pb2.Struct()
    struct.update(serialize_properties(marked))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def resource_args(
    type_token: str, name: str, inputs: Mapping[str, Any], urn: str = ""
) -> ResourceValidationArgs:
    """The arguments a resource policy gets for one resource with these inputs."""
    urn = urn or f"urn:pulumi:dev::ackflow::{type_token}::{name}"
    return ResourceValidationArgs(
        type_token, analyzer_props(inputs), urn, name, _options(None), None, None, None
    )


def root_urn(stack: Capture) -> str:
    return next(r.parent for r in stack.top_level())


def run(
    policy: Policy,
    stack: Capture,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> list[Violation]:
    """Every violation ``policy`` reports on ``stack``."""
    found: list[Violation] = []
    if isinstance(policy, ResourceValidationPolicy):
        for record in stack.resources:
            args = ResourceValidationArgs(
                record.type,
                analyzer_props(record.inputs, record.secret_inputs),
                record.urn,
                record.name,
                _options(record.parent),
                None,
                config,
                tags,
            )
            _validate(policy, args, found, default_urn=record.urn)
    else:
        _validate(policy, StackValidationArgs(_stack_resources(stack), config, tags), found, "")
    return found


def _validate(policy: Policy, args: Any, found: list[Violation], default_urn: str) -> None:
    def report(message: str, urn: str | None = None) -> None:
        found.append(Violation(policy.name, message, urn or default_urn))

    result = policy.validate(args, report)  # type: ignore[attr-defined]
    if isawaitable(result):
        asyncio.run(result)  # type: ignore[arg-type]


def _stack_resources(stack: Capture) -> list[PolicyResource]:
    root = PolicyResource(
        STACK_TYPE,
        analyzer_props(stack.outputs, stack.secret_outputs),
        root_urn(stack),
        root_urn(stack).rsplit("::", 1)[-1],
        _options(None),
        None,
        None,
        [],
        {},
    )
    by_urn = {root.urn: root}
    for record in stack.resources:
        by_urn[record.urn] = PolicyResource(
            record.type,
            analyzer_props(record.outputs),
            record.urn,
            record.name,
            _options(record.parent),
            None,
            None,
            [],
            {},
        )
    for record in stack.resources:
        by_urn[record.urn].parent = by_urn.get(record.parent)
    return list(by_urn.values())


def _options(parent: str | None) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent or None,
    )


# Building stacks that break a policy, from a captured one.


def named(stack: Capture, type_token: str, name: str) -> RecordedResource:
    return stack.named(type_token, name)


def changed(record: RecordedResource, **values: Any) -> RecordedResource:
    """``record`` with some inputs (and the outputs echoing them) replaced; None removes one."""
    inputs = {**record.inputs, **values}
    outputs = {**record.outputs, **values}
    for key, value in values.items():
        if value is None:
            inputs.pop(key)
            outputs.pop(key, None)
    return dataclasses.replace(record, inputs=inputs, outputs=outputs)


def replacing(stack: Capture, *records: RecordedResource) -> Capture:
    """``stack`` with the resources of the same URN as ``records`` replaced by them."""
    new = {r.urn: r for r in records}
    return dataclasses.replace(stack, resources=[new.get(r.urn, r) for r in stack.resources])


def adding(stack: Capture, *records: RecordedResource) -> Capture:
    return dataclasses.replace(stack, resources=[*stack.resources, *records])


def resource(
    stack: Capture,
    type_token: str,
    name: str,
    inputs: Mapping[str, Any],
    parent: str | None = None,
    secret: Iterable[str] = (),
) -> RecordedResource:
    """A new resource of ``stack`` (under ``parent``, else the stack) with these inputs."""
    root = root_urn(stack)
    parent = parent or root
    head = "::".join(root.split("::")[:2])  # urn:pulumi:<stack>::<project>
    chain = type_token if parent == root else f"{parent.split('::')[2]}${type_token}"
    urn = f"{head}::{chain}::{name}"
    record = RecordedResource(type_token, name, name, dict(inputs), dict(inputs), urn, parent)
    record.secret_inputs = set(secret)
    return record


def with_outputs(stack: Capture, secret: Iterable[str] = (), **outputs: Any) -> Capture:
    return dataclasses.replace(
        stack,
        outputs={**stack.outputs, **outputs},
        secret_outputs=stack.secret_outputs | set(secret),
    )


def policy_named(name: str) -> Policy:
    from policy.policies import POLICIES

    return next(p for p in POLICIES if p.name == name)
