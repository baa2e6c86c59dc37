"""Stack secrets for local runs: from the environment, or generated once and kept.

A cloud stack must hold its secrets (``pulumi config set --secret``); locally, a secret the
stack file lacks comes from an environment variable named after it (``slackSigningSecret`` →
``SLACK_SIGNING_SECRET``), or is generated and kept in the stack's state folder so that it
stays the same from one ``ackflow up`` to the next.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
    """``ackflow:<key>`` → value for each secret the enabled workloads need and config lacks."""
    enabled = config.get(f"{NAMESPACE}:workloads") or {}
    if isinstance(enabled, str):
        enabled = json.loads(enabled)
    kept = json.loads(store.read_text()) if store and store.is_file() else {}
    found = {}
    for name in enabled:
        for secret in available[name].secrets if name in available else ():
            full_key = f"{NAMESPACE}:{secret.key}"
            if full_key in config:
                continue
            value = os.environ.get(env_name(secret.key)) or kept.get(secret.key)
            found[full_key] = kept[secret.key] = value or secrets.token_hex(16)
    if store is not None and found:
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(kept, indent=2) + "\n")
        store.chmod(0o600)
    return found
