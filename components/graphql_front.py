"""The AppSync side of AsyncResolverApi: API, schema, Lambda and NONE data sources, resolvers."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
from graphql import GraphQLObjectType, get_named_type

from components import limits
from components.iam import assume_role_policy, logs_statement, policy_document
from components.schema import PUBLISH_FIELD, SUBSCRIBE_FIELD, build_appsync_schema, merge_schema

if TYPE_CHECKING:
    from components.api_args import ApiTarget, AsyncResolverApiArgs, GraphQLOperation

__all__ = [
    "GRAPHQL_URL_PARAMETER_ENV",
    "RESOLVERS_DIR",
    "GraphQLFront",
    "api_key_expiry",
    "graphql_url_parameter",
    "resolver_code",
]

RESOLVERS_DIR = Path(__file__).parent / "resolvers"
APPSYNC_SERVICE = "appsync.amazonaws.com"
ACK_TYPE = "Accepted"
API_KEY_DAYS = (1, 365)
"""AppSync's bounds for an API key's expiry, in days from now."""

_AUTHENTICATION_TYPE = {
    "apiKey": "API_KEY",
    "iam": "AWS_IAM",
    "cognito": "AMAZON_COGNITO_USER_POOLS",
}
_RESOLVER_FILE = {"Event": "invoke_async.js", "RequestResponse": "invoke_sync.js"}
RULES_PLACEHOLDER = "const RULES = {};"
_RUNTIME = {"name": "APPSYNC_JS", "runtime_version": "1.0.0"}
_NONE_SOURCE = "stream_channel"


GRAPHQL_URL_PARAMETER_ENV = "GRAPHQL_URL_PARAMETER"
"""The environment variable naming, for a streaming worker, the SSM parameter holding the URL."""


def graphql_url_parameter(project: str, stack: str) -> str:
    """The SSM parameter that holds a stack's GraphQL URL, for the workers that stream."""
    return f"/{project}/{stack}/graphql-url"


def resolver_code(file_name: str) -> str:
    """The APPSYNC_JS source of ``components/resolvers/<file_name>``."""
    return (RESOLVERS_DIR / file_name).read_text()


def api_key_expiry(days: int, today: date) -> str:
    """The key's expiry: midnight UTC ``days + 1`` days after ``today`` (at most 365 days).

    AppSync takes whole hours between 1 and 365 days ahead. Deriving the expiry from the date,
    not the clock, keeps it stable for a whole day, so ``pulumi up`` shows no diff on a rerun;
    a deploy on a later day moves it forward (an in-place update, same key value).
    """
    midnight = datetime.combine(today, time(), tzinfo=UTC)
    return (midnight + timedelta(days=min(days + 1, API_KEY_DAYS[1]))).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


class GraphQLFront:
    """Builds the AppSync API of an AsyncResolverApi under ``parent``.

    Per target a GraphQL operation uses: a service role that may invoke only that function
    and an ``AWS_LAMBDA`` data source. Per operation: an APPSYNC_JS resolver (``Event`` answers
    an ack, ``RequestResponse`` the result). The stream channel: ``publishChunk`` and
    ``onChunk`` on a NONE data source, and for each streaming target a grant of
    ``appsync:GraphQL`` on the ``publishChunk`` field alone.
    """

    api: aws.appsync.GraphQLApi
    graphql_url: pulumi.Output[str]
    realtime_url: pulumi.Output[str]
    api_key: pulumi.Output[str] | None

    def __init__(self, parent: pulumi.Resource, name: str, args: AsyncResolverApiArgs) -> None:
        schema = merge_schema(args.schema_fragments, args.auth)
        _check(args, schema)
        child = pulumi.ResourceOptions(parent=parent)

        log_role = aws.iam.Role(
            f"{name}-logs", assume_role_policy=assume_role_policy(APPSYNC_SERVICE), opts=child
        )
        self.api = aws.appsync.GraphQLApi(
            name,
            name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            schema=schema,
            xray_enabled=args.xray,
            log_config={
                "cloudwatch_logs_role_arn": log_role.arn,
                "field_log_level": args.field_log_level,
            },
            **_authentication(args),
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=self.api.id.apply(lambda api_id: f"/aws/appsync/apis/{api_id}"),
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-logs",
            role=log_role.id,
            policy=policy_document([logs_statement(log_group.arn)]),
            opts=child,
        )

        self.api_key = None
        if args.auth == "apiKey":
            # No ignore_changes on `expires`: a deploy on a later day extends the key (in place,
            # same value), so a stack deployed at least every api_key_days keeps a live key.
            key = aws.appsync.ApiKey(
                name,
                api_id=self.api.id,
                expires=api_key_expiry(args.api_key_days, datetime.now(UTC).date()),
                opts=child,
            )
            self.api_key = pulumi.Output.secret(key.key)

        sources = {
            key: self._lambda_source(name, args.target(key), child)
            for key in dict.fromkeys(op.target for op in args.graphql)
        }
        for op in args.graphql:
            self._resolver(name, op.type_name, op.field_name, sources[op.target], _code(op), child)

        none_source = aws.appsync.DataSource(
            f"{name}-none", api_id=self.api.id, name=_NONE_SOURCE, type="NONE", opts=child
        )
        publish, subscribe = resolver_code("publish.js"), resolver_code("subscribe.js")
        self._resolver(name, "Mutation", PUBLISH_FIELD, none_source, publish, child)
        self._resolver(name, "Subscription", SUBSCRIBE_FIELD, none_source, subscribe, child)

        # ``uris`` is only known once AppSync made the API (a preview or a bare mock lacks it).
        self.graphql_url = self.api.uris.apply(lambda uris: (uris or {}).get("GRAPHQL"))
        self.realtime_url = self.api.uris.apply(lambda uris: (uris or {}).get("REALTIME"))
        if args.streaming_targets:
            self._publishers(name, args, child)

    def _publishers(
        self, name: str, args: AsyncResolverApiArgs, opts: pulumi.ResourceOptions
    ) -> None:
        """What a streaming worker needs to publish: the API's URL in an SSM parameter of a
        known name (the worker is made before the API, so no environment variable can hold the
        URL), and a grant on that parameter and the ``publishChunk`` field alone."""
        parameter = aws.ssm.Parameter(
            f"{name}-url",
            name=graphql_url_parameter(pulumi.get_project(), pulumi.get_stack()),
            type="String",
            value=self.graphql_url,
            description="The GraphQL URL streaming workers publish their chunks to",
            opts=opts,
        )
        publish_arn = self.api.arn.apply(lambda arn: f"{arn}/types/Mutation/fields/{PUBLISH_FIELD}")
        grants = [
            {"Effect": "Allow", "Action": "appsync:GraphQL", "Resource": publish_arn},
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": parameter.arn},
        ]
        for key in args.streaming_targets:
            aws.iam.RolePolicy(
                f"{name}-publish-{key}",
                role=args.target(key).role_name,
                policy=policy_document(grants),
                opts=opts,
            )

    def _lambda_source(
        self, name: str, target: ApiTarget, opts: pulumi.ResourceOptions
    ) -> aws.appsync.DataSource:
        """A data source for one function, through a role that may invoke only that function."""
        resource = f"{name}-invoke-{target.key}"
        role = aws.iam.Role(
            resource, assume_role_policy=assume_role_policy(APPSYNC_SERVICE), opts=opts
        )
        invoke = {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": target.function_arn,
        }
        policy = aws.iam.RolePolicy(
            resource, role=role.id, policy=policy_document([invoke]), opts=opts
        )
        return aws.appsync.DataSource(
            resource,
            api_id=self.api.id,
            name=_source_name(target.key),
            type="AWS_LAMBDA",
            service_role_arn=role.arn,
            lambda_config={"function_arn": target.function_arn},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy])),
        )

    def _resolver(
        self,
        name: str,
        type_name: str,
        field_name: str,
        source: aws.appsync.DataSource,
        code: str,
        opts: pulumi.ResourceOptions,
    ) -> aws.appsync.Resolver:
        return aws.appsync.Resolver(
            f"{name}-{type_name}-{field_name}",
            api_id=self.api.id,
            type=type_name,
            field=field_name,
            kind="UNIT",
            data_source=source.name,
            runtime=_RUNTIME,
            code=code,
            opts=opts,
        )


def _authentication(args: AsyncResolverApiArgs) -> dict[str, Any]:
    """The default mode from ``args.auth``; IAM (the workers' publishChunk) as an extra one."""
    settings: dict[str, Any] = {"authentication_type": _AUTHENTICATION_TYPE[args.auth]}
    if args.auth != "iam":
        settings["additional_authentication_providers"] = [{"authentication_type": "AWS_IAM"}]
    if args.auth == "cognito":
        settings["user_pool_config"] = {
            "default_action": "ALLOW",
            "user_pool_id": args.cognito_user_pool_id,
            "aws_region": aws.get_region_output().region,
        }
    return settings


def _code(op: GraphQLOperation) -> str:
    """The operation's resolver; an Event one carries its argument rules in ``RULES``."""
    code = resolver_code(_RESOLVER_FILE[op.invocation])
    if op.invocation != "Event":
        return code
    if RULES_PLACEHOLDER not in code:
        raise ValueError(f"{_RESOLVER_FILE['Event']} lost its `{RULES_PLACEHOLDER}` line")
    rules = json.dumps(op.argument_rules, sort_keys=True, separators=(",", ": "))
    return code.replace(RULES_PLACEHOLDER, f"const RULES = {rules};", 1)


def _source_name(key: str) -> str:
    """AppSync data source names are letters, digits and underscores."""
    return "invoke_" + re.sub(r"\W", "_", key, flags=re.ASCII)


def _check(args: AsyncResolverApiArgs, sdl: str) -> None:
    """Reject settings AppSync would refuse, or operations the schema does not carry."""
    if args.auth == "apiKey" and not API_KEY_DAYS[0] <= args.api_key_days <= API_KEY_DAYS[1]:
        raise ValueError(
            f"api_key_days must be between {API_KEY_DAYS[0]} and {API_KEY_DAYS[1]}, "
            f"got {args.api_key_days!r}"
        )
    if args.auth == "cognito" and not args.cognito_user_pool_id:
        raise ValueError("auth 'cognito' needs cognito_user_pool_id")
    if args.log_retention_days not in limits.LOG_RETENTION_DAYS:
        raise ValueError(
            f"log_retention_days must be one of {limits.LOG_RETENTION_DAYS}, "
            f"got {args.log_retention_days!r}"
        )
    schema = build_appsync_schema(sdl)
    for op in args.graphql:
        root = schema.get_type(op.type_name)
        field = root.fields.get(op.field_name) if isinstance(root, GraphQLObjectType) else None
        where = f"workload {op.workload!r}: {op.type_name}.{op.field_name}"
        if field is None:
            raise ValueError(f"{where} is an operation but not a field of its schema fragment")
        if op.invocation == "Event" and get_named_type(field.type).name != ACK_TYPE:
            raise ValueError(f"{where} is invoked with Event, so it must return {ACK_TYPE}")
        args.target(op.target)
    names = [_source_name(key) for key in dict.fromkeys(op.target for op in args.graphql)]
    if len(set(names)) != len(names):
        raise ValueError(f"targets map to the same AppSync data source name: {sorted(names)}")
    for key in args.streaming_targets:
        if args.target(key).role_name is None:
            raise ValueError(f"streaming target {key!r} has no role_name to grant publishing to")
