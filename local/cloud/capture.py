"""Capture: run the real Pulumi program under the fake cloud and keep what it declares."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import runpy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.stack import run_pulumi_func

from local.cloud.fake_cloud import LocalCloud, RecordedResource, RecordingMonitor

__all__ = [
    "PROJECT_ROOT",
    "Capture",
    "CaptureError",
    "capture",
    "encrypted_keys",
    "evaluate",
    "read_stack_file",
    "stack_file",
    "stack_name",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "ackflow"


class CaptureError(Exception):
    """The program could not be evaluated (bad config, a failing component, a missing file)."""


@dataclass
class Capture:
    """Every resource a stack declares, with its inputs and synthesized outputs."""

    stack: str
    region: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    unmodelled: set[str] = field(default_factory=set)
    secret_outputs: set[str] = field(default_factory=set)
    """Outputs the program marked secret: shown masked, never printed."""
    local_secrets: dict[str, str] = field(default_factory=dict)
    """Secret config keys the stack's config lacks → where this run's local value came from
    (``a placeholder``, or the environment variable named after the key)."""

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def top_level(self) -> list[RecordedResource]:
        """Resources whose parent is the stack itself."""
        return [r for r in self.resources if _urn_type(r.parent) == "pulumi:pulumi:Stack"]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def named(self, type_token: str, name: str) -> RecordedResource:
        matches = [r for r in self.of_type(type_token) if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources of type {type_token} named {name!r}")
        return matches[0]


def stack_file(stack: str, project_dir: Path = PROJECT_ROOT) -> Path:
    """``Pulumi.<stack>.yaml`` of the project, which must exist."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.split(".")[1] for p in project_dir.glob("Pulumi.*.yaml"))
        raise CaptureError(f"no stack file {path.name}; stacks here: {', '.join(known)}")
    return path


def stack_name(path: Path) -> str:
    """``Pulumi.<stack>.yaml`` → ``<stack>``; any other file name is its stem."""
    name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    return name or path.stem


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``config:`` map of a stack file (secure values left out)."""
    return {key: value for key, value in _config_map(path).items() if not _is_secure(value)}


def encrypted_keys(path: Path) -> set[str]:
    """The keys a stack file holds encrypted (``secure:``), which only Pulumi can read."""
    return {key for key, value in _config_map(path).items() if _is_secure(value)}


def _config_map(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise CaptureError(f"no stack file {path}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise CaptureError(f"{path} is not valid YAML: {error}") from None
    config = (document.get("config") if isinstance(document, Mapping) else None) or {}
    if not isinstance(config, Mapping):
        raise CaptureError(f"{path}: `config:` must be a map of settings, got {config!r:.60}")
    return config


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"}


def capture(
    stack: str,
    config: Mapping[str, Any] | None = None,
    project_dir: Path = PROJECT_ROOT,
    *,
    secrets: Mapping[str, str] | None = None,
) -> Capture:
    """Evaluate ``__main__.py`` for ``stack`` (config from its stack file unless given).

    ``secrets``: the local value of each secret the enabled workloads declare (``ackflow up``
    keeps them in the state folder); placeholders when not given. The ones the config lacks
    reach the program as secrets, as ``pulumi config set --secret`` would have made them, and
    are listed in :attr:`Capture.local_secrets`.
    """
    from local.cloud.secrets import env_name, local_secrets
    from stack.program import available_workloads

    if config is None:
        config = read_stack_file(stack_file(stack, project_dir))
    if secrets is None:
        secrets = local_secrets(config, available_workloads())
    lacking = {
        key: f"{env_name(key.partition(':')[2])} from the environment"
        if os.environ.get(env_name(key.partition(":")[2])) == value
        else "a placeholder"
        for key, value in secrets.items()
        if key not in config
    }
    main = project_dir / "__main__.py"
    result = evaluate(
        lambda: runpy.run_path(str(main), run_name="__main__"),
        stack,
        {**config, **secrets},
        secret_keys=lacking,
    )
    result.local_secrets = lacking
    return result


def evaluate(
    program: Callable[[], object],
    stack: str,
    config: Mapping[str, Any],
    *,
    secret_keys: Iterable[str] = (),
) -> Capture:
    """Run ``program`` under the fake cloud and return what it declared.

    Runs in a fresh context and event loop, so evaluations never share Pulumi's global state.
    ``secret_keys`` are the config keys the program sees as secrets.
    """
    return contextvars.Context().run(_evaluate, program, stack, dict(config), list(secret_keys))


def _evaluate(
    program: Callable[[], object], stack: str, config: dict[str, Any], secret_keys: list[str]
) -> Capture:
    from stack.program import BUNDLER_ENV

    region = str(config.get("aws:region", "us-east-1"))
    cloud = LocalCloud(region=region)
    monitor = RecordingMonitor(cloud)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    previous_bundler = os.environ.get(BUNDLER_ENV)
    os.environ[BUNDLER_ENV] = "source"
    try:
        pulumi.runtime.set_all_config(
            {key: _config_value(value) for key, value in config.items()}, secret_keys
        )
        pulumi.runtime.set_mocks(
            cloud,
            project=PROJECT,
            stack=stack,
            preview=False,
            monitor=monitor,
            logger=logging.getLogger("ackflow.capture"),
        )
        loop.run_until_complete(run_pulumi_func(program))
        outputs, secret_outputs = loop.run_until_complete(_stack_outputs())
    except pulumi.RunError as error:
        raise CaptureError(str(error)) from None
    finally:
        _restore(BUNDLER_ENV, previous_bundler)
        loop.close()
        asyncio.set_event_loop(None)
    if monitor.duplicate_urns:
        raise CaptureError(f"duplicate resource URNs: {', '.join(monitor.duplicate_urns)}")
    return Capture(stack, region, cloud.resources, outputs, set(cloud.unmodelled), secret_outputs)


async def _stack_outputs() -> tuple[dict[str, Any], set[str]]:
    root = pulumi.runtime.settings.get_root_resource()
    outputs = {
        name: pulumi.Output.from_input(value)
        for name, value in (getattr(root, "outputs", {}) or {}).items()
    }
    values = {name: await output.future() for name, output in outputs.items()}
    secrets = {name for name, output in outputs.items() if await output.is_secret()}
    return values, secrets


def _urn_type(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type chain>::<name>`` → the last type of the chain."""
    parts = urn.split("::")
    return parts[2].rpartition("$")[2] if len(parts) == 4 else ""


def _config_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
