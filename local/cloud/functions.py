"""The local runtime's view of a captured stack: functions with their async settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.cloud.capture import Capture

__all__ = ["LocalFunction", "functions_from_capture"]

FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"

# AWS's defaults where the program leaves a setting out.
_DEFAULT_TIMEOUT = 3
_DEFAULT_MEMORY = 128
_DEFAULT_RETRIES = 2
_DEFAULT_MAX_EVENT_AGE = 21600


@dataclass(frozen=True, kw_only=True)
class LocalFunction:
    """A declared Lambda function, as the local Lambda service and async engine run it."""

    name: str
    arn: str
    handler: str
    code_dir: Path
    runtime: str = "python3.13"
    timeout_seconds: int = _DEFAULT_TIMEOUT
    memory_mb: int = _DEFAULT_MEMORY
    environment: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    retries: int = _DEFAULT_RETRIES
    max_event_age_seconds: int = _DEFAULT_MAX_EVENT_AGE
    on_success: str | None = None
    """The success destination's ARN."""
    on_failure: str | None = None
    dead_letter: str | None = None
    log_group: str = ""
    role_arn: str = ""
    """The execution role whose credentials the function signs with."""


def functions_from_capture(capture: Capture) -> dict[str, LocalFunction]:
    """Every captured Lambda function by name, joined with its event invoke config."""
    configs = {r.inputs.get("functionName"): r.inputs for r in capture.of_type(INVOKE_CONFIG)}
    functions = {}
    for resource in capture.of_type(FUNCTION):
        inputs, outputs = resource.inputs, resource.outputs
        name = outputs["name"]
        invoke = configs.get(name, {})
        destinations = invoke.get("destinationConfig") or {}
        functions[name] = LocalFunction(
            name=name,
            arn=outputs["arn"],
            handler=inputs["handler"],
            code_dir=Path(_archive_path(inputs.get("code"), name)),
            runtime=inputs.get("runtime", "python3.13"),
            timeout_seconds=int(inputs.get("timeout", _DEFAULT_TIMEOUT)),
            memory_mb=int(inputs.get("memorySize", _DEFAULT_MEMORY)),
            environment=dict((inputs.get("environment") or {}).get("variables") or {}),
            reserved_concurrency=_optional_int(inputs.get("reservedConcurrentExecutions")),
            retries=int(invoke.get("maximumRetryAttempts", _DEFAULT_RETRIES)),
            max_event_age_seconds=int(
                invoke.get("maximumEventAgeInSeconds", _DEFAULT_MAX_EVENT_AGE)
            ),
            on_success=(destinations.get("onSuccess") or {}).get("destination"),
            on_failure=(destinations.get("onFailure") or {}).get("destination"),
            dead_letter=(inputs.get("deadLetterConfig") or {}).get("targetArn"),
            log_group=(inputs.get("loggingConfig") or {}).get("logGroup", f"/aws/lambda/{name}"),
            role_arn=str(inputs.get("role") or ""),
        )
    return functions


def _archive_path(code: Any, name: str) -> str:
    path = getattr(code, "path", None)
    if not path:
        raise ValueError(f"function {name}: its code is not a folder archive the runtime can run")
    return path


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
