"""The local account's credentials: the user's pair, and one pair per function for its role.

On AWS a function signs with temporary credentials of its execution role; here each function
gets its own access key, so a service that checks signatures (the local AppSync) knows which
role is calling and can apply that role's policies. The user's pair (written to
``endpoints.json``) stands for an administrator of the account. Secret keys derive from a seed
the caller keeps (``ackflow up`` keeps one per state folder), so they stay the same from one
run to the next.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalCredentials", "Principal", "load_seed"]


@dataclass(frozen=True)
class Principal:
    """Who signs with an access key: the local user, or a function through its role."""

    access_key: str
    secret_key: str
    arn: str
    """The caller's ARN as AppSync reports it (``userArn``)."""
    account_id: str
    user_id: str
    """AppSync's ``username``: the user's unique id, or ``<role id>:<session name>``."""
    role_arn: str | None = None
    """The role whose policies apply; None for the user, who may do anything."""


class LocalCredentials:
    """Access key → :class:`Principal`, for one run of the local account."""

    def __init__(self, account_id: str, seed: bytes, user_name: str = "ackflow-local") -> None:
        self.account_id = account_id
        self._seed = seed
        self._by_key: dict[str, Principal] = {}
        self._by_name: dict[str, Principal] = {}
        self.user = self._add("user", arn=f"arn:aws:iam::{account_id}:user/{user_name}")

    def add_functions(self, roles: Iterable[tuple[str, str]]) -> None:
        """One pair per ``(function name, role ARN)``, as Lambda gives each function its role's."""
        for function_name, role_arn in roles:
            role_name = role_arn.rpartition("/")[2]
            arn = f"arn:aws:sts::{self.account_id}:assumed-role/{role_name}/{function_name}"
            name = f"function:{function_name}"
            self._add(name, arn=arn, role_arn=role_arn, session=function_name)

    def for_function(self, function_name: str) -> Principal:
        return self._by_name[f"function:{function_name}"]

    def lookup(self, access_key: str) -> Principal | None:
        return self._by_key.get(access_key)

    def _add(
        self, name: str, *, arn: str, role_arn: str | None = None, session: str = ""
    ) -> Principal:
        digest = hashlib.sha256(f"{self.account_id}/{name}".encode()).hexdigest()[:16].upper()
        user_id = f"AIDA{digest}" if role_arn is None else f"AROA{digest}:{session}"
        principal = Principal(
            access_key=("AKIA" if role_arn is None else "ASIA") + digest,
            secret_key=hmac.new(self._seed, name.encode(), hashlib.sha256).hexdigest()[:40],
            arn=arn,
            account_id=self.account_id,
            user_id=user_id,
            role_arn=role_arn,
        )
        self._by_key[principal.access_key] = principal
        self._by_name[name] = principal
        return principal


def load_seed(path: Path) -> bytes:
    """The seed kept at ``path`` (made on first use, readable by its owner only)."""
    if path.is_file():
        return path.read_bytes()
    seed = os.urandom(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(seed)
    return seed
