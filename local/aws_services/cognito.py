"""Stand-in user pools: moto's cognito-idp pools for the pool ids a stack's APIs trust.

A stack names an existing user pool by id (``cognitoUserPoolId``), and moto makes up its own
ids, so each configured pool gets a moto pool named after it (found again by that name when
``ackflow up`` adopts the services of a previous run) with one app client whose flows allow
signing in with a password. The local AppSync trusts that pool's tokens in place of the
configured one's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["StandInPool", "stand_in_pools"]

NAME_PREFIX = "stand-in-for-"
CLIENT_NAME = "ackflow-local"


@dataclass(frozen=True)
class StandInPool:
    configured_id: str
    local_id: str
    client_id: str


def stand_in_pools(cognito: Any, configured_ids: Iterable[str]) -> list[StandInPool]:
    """A moto pool and app client for each configured pool id (``cognito`` a boto3 client)."""
    existing = {
        pool["Name"]: pool["Id"] for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]
    }
    pools = []
    for configured in dict.fromkeys(configured_ids):
        name = f"{NAME_PREFIX}{configured}"
        local_id = existing.get(name) or cognito.create_user_pool(PoolName=name)["UserPool"]["Id"]
        clients = cognito.list_user_pool_clients(UserPoolId=local_id, MaxResults=60)
        client_id = (
            next(
                (
                    c["ClientId"]
                    for c in clients["UserPoolClients"]
                    if c["ClientName"] == CLIENT_NAME
                ),
                None,
            )
            or cognito.create_user_pool_client(
                UserPoolId=local_id,
                ClientName=CLIENT_NAME,
                ExplicitAuthFlows=[
                    "ALLOW_USER_PASSWORD_AUTH",
                    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                    "ALLOW_REFRESH_TOKEN_AUTH",
                ],
            )["UserPoolClient"]["ClientId"]
        )
        pools.append(StandInPool(configured, local_id, client_id))
    return pools
