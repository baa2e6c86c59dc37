"""Stack config (``ackflow:api``, ``ackflow:workloads``), validated before any resource is made.

Every problem is reported at once, each naming the full key, the bad value and what is
allowed; unknown keys and workloads get the nearest known name as a suggestion.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.schema import SchemaError, merge_schema
from workloads import Workload, WorkloadSettings, check_log_retention

__all__ = ["ApiSettings", "ConfigError", "StackConfig", "parse_stack_config"]

NAMESPACE = "ackflow"
KNOWN_KEYS = ("api", "workloads")


class ConfigError(Exception):
    """The stack's config is invalid; ``problems`` holds one line per fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "Invalid stack config:\n" + "\n".join(f"  - {problem}" for problem in problems)
        )


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Throttling(_Model):
    burst_limit: StrictInt = Field(100, ge=0, le=5000)
    rate_limit: float = Field(50.0, ge=0, le=10000)


class ApiSettings(_Model):
    """``ackflow:api``: the fronts shared by every workload."""

    auth: Literal["apiKey", "iam", "cognito"] = "apiKey"
    api_key_days: StrictInt = Field(30, ge=1, le=365)
    cognito_user_pool_id: str | None = Field(None, pattern=r"^[\w-]+_[0-9a-zA-Z]+$")
    stage_name: str = Field("api", pattern=r"^[a-zA-Z0-9_]{1,128}$")
    throttling: Throttling = Throttling()
    field_log_level: Literal["NONE", "ERROR", "INFO", "DEBUG", "ALL"] = "ERROR"
    xray: StrictBool = False
    log_retention_days: StrictInt = 14

    _retention = field_validator("log_retention_days")(check_log_retention)

    @model_validator(mode="after")
    def _cognito_needs_pool(self) -> ApiSettings:
        if self.auth == "cognito" and not self.cognito_user_pool_id:
            raise ValueError("auth 'cognito' needs cognitoUserPoolId (e.g. us-east-1_AbC123)")
        return self


@dataclass(frozen=True)
class StackConfig:
    api: ApiSettings
    workloads: dict[str, WorkloadSettings]
    secrets: dict[str, str] = field(default_factory=dict)
    """The secrets the enabled workloads declare, by config key (``slackSigningSecret``)."""


def read_pulumi_config() -> dict[str, Any]:
    """Every ``ackflow:*`` key the Pulumi runtime holds, object values decoded."""
    from pulumi.runtime import config as runtime_config

    keys = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw = {}
    for full_key, value in keys.items():
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE:
            raw[key] = _decode(value)
    return raw


def parse_stack_config(raw: Mapping[str, Any], available: Mapping[str, Workload]) -> StackConfig:
    """Validate the ``ackflow:`` keys against the models; raise ConfigError listing every fault."""
    problems: list[str] = []
    secret_keys = {s.key for w in available.values() for s in w.secrets}
    known = (*KNOWN_KEYS, *sorted(secret_keys))
    for key in raw:
        if key not in known:
            problems.append(_unknown(f"{NAMESPACE}:{key}", key, known))

    api = _validate(ApiSettings, raw.get("api") or {}, f"{NAMESPACE}:api", problems)

    workloads: dict[str, WorkloadSettings] = {}
    selected = raw.get("workloads") or {}
    if not isinstance(selected, Mapping):
        problems.append(
            f"{NAMESPACE}:workloads: expected a map of workload name to settings, got {selected!r}"
        )
        selected = {}
    for name, settings in selected.items():
        prefix = f"{NAMESPACE}:workloads.{name}"
        if name not in available:
            problems.append(
                _unknown(prefix, name, tuple(available), what="workload", listing="available")
            )
            continue
        model = available[name].settings
        validated = _validate(model, settings or {}, prefix, problems)
        if validated is not None:
            workloads[name] = validated
    problems.extend(_conflicts({name: available[name] for name in workloads}))
    secrets = {}
    for name in workloads:
        for secret in available[name].secrets:
            value = raw.get(secret.key)
            if isinstance(value, str) and value:
                secrets[secret.key] = value
            else:
                problems.append(
                    f"{NAMESPACE}:{secret.key}: required by workload {name}: {secret.description}."
                    f" Set it with: pulumi config set --secret {NAMESPACE}:{secret.key} <value>"
                )
    if problems:
        raise ConfigError(problems)
    assert api is not None
    return StackConfig(api=api, workloads=workloads, secrets=secrets)


def _conflicts(enabled: Mapping[str, Workload]) -> list[str]:
    """What two enabled workloads both claim: a REST route, or a GraphQL type or field."""
    problems = []
    owners: dict[tuple[str, str], str] = {}
    for name, workload in enabled.items():
        for route in workload.routes:
            # /a/{x} and /a/{y} are one API Gateway resource.
            key = (route.method, re.sub(r"\{[^}]*?(\+?)\}", r"{\1}", route.path.rstrip("/")))
            if key in owners:
                problems.append(
                    f"{NAMESPACE}:workloads: {owners[key]} and {name} both declare "
                    f"{route.method} {route.path}; enable one of them, or change one's route"
                )
            owners.setdefault(key, name)
    fragments = {name: w.schema_fragment for name, w in enabled.items() if w.schema_fragment}
    if len(fragments) > 1:
        try:
            merge_schema(fragments, "apiKey")
        except SchemaError as error:
            problems.append(
                f"{NAMESPACE}:workloads: {error}; enable one of them, or rename it in one"
            )
    return problems


def _validate(model: type[BaseModel], value: Any, prefix: str, problems: list[str]) -> Any:
    if not isinstance(value, Mapping):
        problems.append(f"{prefix}: expected a map of settings, got {value!r}")
        return None
    try:
        return model.model_validate(value)
    except ValidationError as error:
        problems.extend(_describe(model, error, prefix))
        return None


def _describe(model: type[BaseModel], error: ValidationError, prefix: str) -> list[str]:
    lines = []
    for detail in error.errors():
        path = [str(part) for part in detail["loc"]]
        key = ".".join([prefix, *path])
        if detail["type"] == "extra_forbidden":
            owner = _model_at(model, path[:-1])
            lines.append(_unknown(key, path[-1], _aliases(owner)))
            continue
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "missing":
            lines.append(f"{key}: required but not set")
        elif not path:
            lines.append(f"{prefix}: {message}")
        elif detail["type"] == "value_error" and message.startswith(repr(detail["input"])):
            lines.append(f"{key}: {message}")
        else:
            lines.append(f"{key}: {detail['input']!r} is not allowed: {message}")
    return lines


def _unknown(
    key: str, name: str, known: tuple[str, ...], what: str = "key", listing: str = "allowed"
) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    suggestion = f" Did you mean {near[0]!r}?" if near else ""
    return f"{key}: unknown {what} {name!r}.{suggestion} {listing.capitalize()}: {', '.join(known)}"


def _model_at(model: type[BaseModel], path: list[str]) -> type[BaseModel]:
    for part in path:
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return model


def _aliases(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(field.alias or name for name, field in model.model_fields.items())


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
