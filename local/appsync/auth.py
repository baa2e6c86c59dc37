"""Who is calling: AppSync's authorization modes, from a request's headers to a :class:`Caller`.

The mode is read from the headers' shape, as AppSync does: a SigV4 ``Authorization`` is IAM
(even beside an ``x-api-key``), an ``x-api-key`` is an API key, any other ``Authorization`` is a
token (Cognito user pools here). A mode the API does not configure, a missing header, an
unknown or expired key, a bad signature or token: the request is refused before any GraphQL
runs, with AppSync's status and error. Which fields a caller may then use is
:mod:`local.appsync.directives`' business.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from local.appsync.errors import (
    MISSING_AUTHORIZATION,
    NOT_AUTHORIZED,
    UNAUTHORIZED_EXCEPTION,
    AppSyncRequestError,
)
from local.appsync.model import API_KEY, AWS_IAM, COGNITO, AuthProvider, GraphQLApi
from local.iam.credentials import LocalCredentials, Principal
from local.iam.policies import RolePolicies
from local.iam.sigv4 import SignatureError, SignedRequest, is_sigv4, verify_sigv4

__all__ = ["Authenticator", "Caller", "CognitoPools"]

SERVICE = "appsync"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its mode, AppSync's ``ctx.identity``, and what IAM needs."""

    mode: str
    identity: dict[str, Any] | None
    principal: Principal | None = None
    groups: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    """The request's headers, lower-cased, for ``ctx.request.headers``."""


@dataclass(frozen=True)
class CognitoPools:
    """Where the user pools live locally: moto's cognito-idp, and the pool standing in for each
    pool id the stack configures (moto makes its own ids)."""

    endpoint_url: str
    local_pool_ids: Mapping[str, str]

    def local_id(self, configured: str) -> str:
        return self.local_pool_ids.get(configured, configured)


class Authenticator:
    """Authenticates requests to one API: its modes, keys, the local credentials and pools."""

    def __init__(
        self,
        api: GraphQLApi,
        credentials: LocalCredentials,
        policies: RolePolicies,
        cognito: CognitoPools | None = None,
        clock: Any = None,
    ) -> None:
        self.api = api
        self.credentials = credentials
        self.policies = policies
        self._cognito = cognito
        self._clock = clock or (lambda: datetime.now(UTC))
        self._key_sets: dict[str, KeySet] = {}

    async def authenticate(self, signed: SignedRequest, source_ip: str) -> Caller:
        """The caller of a request whose headers and body are ``signed``."""
        headers = {name.lower(): value for name, value in signed.headers.items()}
        authorization = headers.get("authorization")
        if is_sigv4(authorization):
            mode = AWS_IAM
        elif "x-api-key" in headers:
            mode = API_KEY
        elif authorization:
            mode = COGNITO
        else:
            raise AppSyncRequestError(401, UNAUTHORIZED_EXCEPTION, MISSING_AUTHORIZATION)
        provider = self.api.provider(mode)
        if provider is None:
            raise AppSyncRequestError(401, UNAUTHORIZED_EXCEPTION, NOT_AUTHORIZED)
        if mode == API_KEY:
            self._check_api_key(headers["x-api-key"])
            return Caller(API_KEY, None, headers=headers)
        if mode == AWS_IAM:
            return self._iam_caller(signed, headers, source_ip)
        return await self._cognito_caller(provider, authorization or "", headers, source_ip)

    def allows_iam(self, caller: Caller, type_name: str, field_name: str) -> bool:
        """Whether an IAM caller's policies allow ``appsync:GraphQL`` on the field.

        AppSync evaluates IAM on the top-level fields of an operation (an assumption for nested
        fields: none of the project's policies scope them)."""
        principal = caller.principal
        if caller.mode != AWS_IAM or principal is None or principal.role_arn is None:
            return True  # the local user stands for an administrator of the account
        resource = self.api.field_arn(type_name, field_name)
        return self.policies.allows(principal.role_arn, "appsync:GraphQL", resource)

    def _check_api_key(self, value: str) -> None:
        key = next((k for k in self.api.api_keys if k.key == value), None)
        if key is None or key.expires <= self._clock():
            raise AppSyncRequestError(401, UNAUTHORIZED_EXCEPTION, NOT_AUTHORIZED)

    def _iam_caller(
        self, signed: SignedRequest, headers: Mapping[str, str], source_ip: str
    ) -> Caller:
        try:
            principal = verify_sigv4(
                signed, self.credentials, service=SERVICE, region=self.api.region, now=self._clock()
            )
        except SignatureError as error:
            raise AppSyncRequestError(error.status, error.error_type, error.message) from None
        identity = {
            "accountId": principal.account_id,
            "cognitoIdentityAuthProvider": None,
            "cognitoIdentityAuthType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "sourceIp": [source_ip],
            "userArn": principal.arn,
            "username": principal.user_id,
        }
        return Caller(AWS_IAM, identity, principal=principal, headers=headers)

    async def _cognito_caller(
        self, provider: AuthProvider, token: str, headers: Mapping[str, str], source_ip: str
    ) -> Caller:
        claims = await self._verified_claims(provider, token.removeprefix("Bearer ").strip())
        groups = tuple(claims.get("cognito:groups") or ())
        identity = {
            "claims": claims,
            "defaultAuthStrategy": "ALLOW",
            "groups": list(groups) or None,
            "issuer": claims.get("iss"),
            "sourceIp": [source_ip],
            "sub": claims.get("sub"),
            "username": claims.get("cognito:username") or claims.get("username"),
        }
        return Caller(COGNITO, identity, groups=groups, headers=headers)

    async def _verified_claims(self, provider: AuthProvider, token: str) -> dict[str, Any]:
        refused = AppSyncRequestError(401, UNAUTHORIZED_EXCEPTION, NOT_AUTHORIZED)
        if self._cognito is None or not provider.user_pool_id:
            raise refused
        pool = self._cognito.local_id(provider.user_pool_id)
        issuer = f"https://cognito-idp.{provider.user_pool_region}.amazonaws.com/{pool}"
        try:
            decoded = jwt.decode(token, await self._key_set(pool), algorithms=["RS256"])
            registry = jwt.JWTClaimsRegistry(
                now=int(self._clock().timestamp()),
                exp={"essential": True},
                iss={"essential": True, "value": issuer},
                token_use={"essential": True, "values": ["id", "access"]},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError):
            raise refused from None
        return dict(decoded.claims)

    async def _key_set(self, pool: str) -> KeySet:
        if pool not in self._key_sets:
            assert self._cognito is not None
            url = f"{self._cognito.endpoint_url}/{pool}/.well-known/jwks.json"
            document = await asyncio.to_thread(_read_json, url)
            self._key_sets[pool] = KeySet.import_key_set(document)
        return self._key_sets[pool]


def _read_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())
