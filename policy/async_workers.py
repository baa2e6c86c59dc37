"""Advisory: every asynchronously invoked worker has a failure destination or a dead-letter queue.

An event that fails all its retries, or outlives its maximum age, is dropped by Lambda unless
the function has an on-failure destination (in its ``FunctionEventInvokeConfig``) or a
dead-letter queue (``deadLetterConfig`` on the function). A worker is a Lambda function with a
``FunctionEventInvokeConfig``, or one inside an ``ackflow:index:AsyncWorker`` component. Joining
the two resources needs the whole stack, so this is a stack policy.
"""

from __future__ import annotations

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from policy.props import at_path, resource_label

__all__ = ["ASYNC_WORKER", "FUNCTION", "INVOKE_CONFIG", "unprotected_workers", "validate"]

FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ASYNC_WORKER = "ackflow:index:AsyncWorker"


def unprotected_workers(resources: list[PolicyResource]) -> list[PolicyResource]:
    """The workers whose failed events would be dropped."""
    configs = {
        _function_name(str(r.props.get("functionName", ""))): r
        for r in resources
        if r.resource_type == INVOKE_CONFIG
    }
    unprotected = []
    for function in (r for r in resources if r.resource_type == FUNCTION):
        config = configs.get(str(function.props.get("name", "")))
        in_component = function.parent is not None and function.parent.resource_type == ASYNC_WORKER
        if config is None and not in_component:
            continue
        on_failure = config and at_path(config.props, "destinationConfig.onFailure.destination")
        if not on_failure and not at_path(function.props, "deadLetterConfig.targetArn"):
            unprotected.append(function)
    return unprotected


def _function_name(name_or_arn: str) -> str:
    """A function name from a name or an ARN (``arn:aws:lambda:…:function:<name>[:qualifier]``)."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[6] if len(parts) > 6 else name_or_arn
    return name_or_arn


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for function in unprotected_workers(args.resources):
        report_violation(
            f"{resource_label(function.resource_type, function.name)}: invoked asynchronously "
            "with neither an on-failure destination nor a dead-letter queue, so events that "
            "exhaust their retries are dropped; set onFailure (or dlq) for this worker",
            function.urn,
        )
