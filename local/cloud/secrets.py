"""Stack secrets for local runs: from the environment, the stack file, or generated and kept.

A cloud stack must hold its secrets (``pulumi config set --secret``). Locally, each secret an
enabled workload declares comes from an environment variable named after it
(``slackSigningSecret`` → ``SLACK_SIGNING_SECRET``), else from the stack file when it holds a
plain value, else it is generated and kept in the stack's state folder so that it stays the
same from one ``ackflow up`` to the next.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.cloud.state import write_private
from stack.config import NAMESPACE
from workloads import Workload

__all__ = ["env_name", "local_secrets", "snake_case"]


def snake_case(key: str) -> str:
    """``slackSigningSecret`` → ``slack_signing_secret``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def env_name(key: str) -> str:
    return snake_case(key).upper()


def local_secrets(
    config: Mapping[str, Any], available: Mapping[str, Workload], store: Path | None = None
) -> dict[str, str]:
    """``ackflow:<key>`` → the local value of each secret the enabled workloads declare."""
    enabled = config.get(f"{NAMESPACE}:workloads") or {}
    if isinstance(enabled, str):
        enabled = json.loads(enabled)
    kept = json.loads(store.read_text()) if store and store.is_file() else {}
    found = {}
    for name in enabled:
        for secret in available[name].secrets if name in available else ():
            full_key = f"{NAMESPACE}:{secret.key}"
            value = os.environ.get(env_name(secret.key)) or config.get(full_key)
            if isinstance(value, str) and value:
                found[full_key] = value
            else:
                found[full_key] = kept[secret.key] = kept.get(secret.key) or secrets.token_hex(16)
    if store is not None and kept:
        write_private(store, json.dumps(kept, indent=2) + "\n")
    return found
