"""The local AppSync's execution: unit and pipeline APPSYNC_JS resolvers, their data sources,
the ctx they see, errors, the 30 s limit, field auth, and the subscription fan-out.

The Lambda data source runs against a recording stand-in for the Invoke API here; the real
Lambda service and async engine behind it are driven end to end in tests/e2e."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from components.schema import build_appsync_schema
from local.appsync.auth import Authenticator, Caller
from local.appsync.directives import field_access
from local.appsync.execution import Executor, GraphQLRequest
from local.appsync.model import (
    API_KEY,
    AWS_IAM,
    ApiKey,
    AuthProvider,
    DataSource,
    GraphQLApi,
    PipelineFunction,
    Resolver,
)
from local.appsync.resolvers import ResolverRunner
from local.appsync.scalars import install_appsync_scalars
from local.appsync.subscriptions import MAX_MESSAGE_BYTES, Subscription, SubscriptionHub
from local.iam.credentials import LocalCredentials
from local.iam.policies import RolePolicies
from local.lambda_.invocation import InvokeResponse

SDL = """
schema { query: Query mutation: Mutation subscription: Subscription }
type Query {
  profile(id: ID!): Profile
  piped(n: Int!): AWSJSON
  slow: String
  partial: String
  secret: String @aws_iam
}
type Profile { id: ID! name: String friends: [Profile] badge: String }
type Mutation {
  notify(room: ID!, severity: Int!, text: String, tags: [String]): Note
  kick(room: ID!): String
}
type Note { room: ID! severity: Int! text: String tags: [String] }
type Subscription {
  onNote(room: ID): Note @aws_subscribe(mutations: ["notify"])
  onUrgent(min: Int!): Note @aws_subscribe(mutations: ["notify"])
}
"""
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:worker"

NONE_ECHO = """
export function request(ctx) { return { payload: ctx.args }; }
export function response(ctx) { return ctx.result; }
"""
PROFILE = """
export function request(ctx) {
  return { operation: 'Invoke', payload: { id: ctx.args.id, ctx: {
    identity: ctx.identity, headers: ctx.request.headers, info: ctx.info, source: ctx.source } } };
}
export function response(ctx) { return { id: ctx.result.id, name: ctx.result.name }; }
"""
BADGE = """
export function request(ctx) { return { payload: 'badge of ' + ctx.source.name }; }
export function response(ctx) { return ctx.result; }
"""
PIPELINE = """
import { runtime } from '@aws-appsync/utils';
export function request(ctx) {
  ctx.stash.trail = ['before'];
  if (ctx.args.n < 0) { runtime.earlyReturn({ early: 'resolver' }); }
  return {};
}
export function response(ctx) {
  ctx.stash.trail.push('after');
  return { result: ctx.prev.result, trail: ctx.stash.trail };
}
"""
DOUBLE = """
import { runtime } from '@aws-appsync/utils';
export function request(ctx) {
  ctx.stash.trail.push('double');
  if (ctx.args.n === 0) { runtime.earlyReturn({ skipped: true }, { skipTo: 'END' }); }
  return { payload: { n: ctx.args.n * 2 } };
}
export function response(ctx) { return ctx.result; }
"""
ADD_ONE = """
export function request(ctx) {
  ctx.stash.trail.push('addOne');
  return { operation: 'Invoke', payload: { n: ctx.prev.result.n + 1 } };
}
export function response(ctx) { return ctx.result; }
"""
INVOKE = """
export function request(ctx) { return { operation: 'Invoke', payload: {} }; }
export function response(ctx) { return 'done'; }
"""
CLASSIFIED = """
export function request(ctx) { return { payload: 'classified' }; }
export function response(ctx) { return ctx.result; }
"""
PARTIAL = """
import { util } from '@aws-appsync/utils';
export function request(ctx) { return { payload: 'kept' }; }
export function response(ctx) {
  util.appendError('also this', 'Warning', { a: 1 });
  return ctx.result;
}
"""
ON_URGENT = """
import { util, extensions } from '@aws-appsync/utils';
export function request(ctx) { return { payload: null }; }
export function response(ctx) {
  extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter({
    severity: { ge: ctx.args.min },
    or: [{ tags: { containsAny: ['ops', 'sec'] } }, { text: { beginsWith: 'URGENT' } }],
  }));
  extensions.setSubscriptionInvalidationFilter(util.transform.toSubscriptionFilter({
    severity: { le: ctx.args.min },
  }));
  return null;
}
"""
KICK = """
import { extensions } from '@aws-appsync/utils';
export function request(ctx) { return { payload: 'kicked' }; }
export function response(ctx) {
  extensions.invalidateSubscriptions({ subscriptionField: 'onUrgent', payload: { severity: 5 } });
  return ctx.result;
}
"""


class RecordingInvoker:
    """The Invoke API as the resolvers see it: answers from ``handle``, every call recorded."""

    def __init__(self, handle=None, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, Any, str]] = []
        self._handle = handle or (lambda event: event)
        self._delay = delay

    async def invoke(
        self, function_name: str, payload: bytes, invocation_type: str = "RequestResponse"
    ):
        event = json.loads(payload)
        self.calls.append((function_name, event, invocation_type))
        await asyncio.sleep(self._delay)
        if invocation_type == "Event":
            return InvokeResponse(202, b"", "event-id")
        try:
            return InvokeResponse(200, json.dumps(self._handle(event)).encode(), "req-id")
        except ValueError as error:
            document = {"errorMessage": str(error), "errorType": "ValueError"}
            return InvokeResponse(200, json.dumps(document).encode(), "req-id", "Unhandled")


def make_api(**resolvers: Resolver) -> GraphQLApi:
    functions = {
        "double": PipelineFunction("double", "double", "none", DOUBLE),
        "addOne": PipelineFunction("addOne", "addOne", "worker", ADD_ONE),
    }
    return GraphQLApi(
        id="api1",
        name="test",
        arn="arn:aws:appsync:us-east-1:000000000000:apis/api1",
        region="us-east-1",
        sdl=SDL,
        schema=install_appsync_scalars(build_appsync_schema(SDL)),
        default_auth=AuthProvider(API_KEY),
        additional_auth=(AuthProvider(AWS_IAM),),
        api_keys=(ApiKey("da2-test", datetime.now(UTC) + timedelta(days=1)),),
        data_sources={
            "none": DataSource("none", "NONE"),
            "worker": DataSource("worker", "AWS_LAMBDA", FUNCTION_ARN),
        },
        resolvers={(r.type_name, r.field_name): r for r in resolvers.values()},
        functions=functions,
    )


def unit(type_name: str, field_name: str, code: str, source: str = "none") -> Resolver:
    return Resolver(type_name, field_name, "UNIT", code, data_source=source)


RESOLVERS = {
    "profile": unit("Query", "profile", PROFILE, "worker"),
    "badge": unit("Profile", "badge", BADGE),
    "piped": Resolver("Query", "piped", "PIPELINE", PIPELINE, functions=("double", "addOne")),
    "slow": unit("Query", "slow", INVOKE, "worker"),
    "partial": unit("Query", "partial", PARTIAL),
    "secret": unit("Query", "secret", CLASSIFIED),
    "notify": unit("Mutation", "notify", NONE_ECHO),
    "kick": unit("Mutation", "kick", KICK),
    "onUrgent": unit("Subscription", "onUrgent", ON_URGENT),
}
KEY_CALLER = Caller(API_KEY, None, headers={"x-api-key": "da2-test", "host": "localhost"})


class Inbox:
    """A subscriber's connection: what the hub sent it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def enqueue(self, message: str) -> None:
        self.messages.append(json.loads(message))


@pytest.fixture
def invoker() -> RecordingInvoker:
    def handle(event: dict) -> Any:
        if "n" in event:
            return {"n": event["n"]}
        if event.get("id") == "boom":
            raise ValueError("NotFoundError: no profile boom")
        return {"id": event["id"], "name": f"name-{event['id']}", "ctx": event["ctx"]}

    return RecordingInvoker(handle)


@contextmanager
def serving(
    invoker: RecordingInvoker,
    resolvers: dict[str, Resolver] = RESOLVERS,
    credentials: LocalCredentials | None = None,
    policies: RolePolicies | None = None,
    timeout_seconds: float = 5.0,
) -> Iterator[tuple[Executor, SubscriptionHub]]:
    """An executor and hub for the test API, with ``resolvers`` in V8."""
    api = make_api(**resolvers)
    credentials = credentials or LocalCredentials("000000000000", b"seed")
    authenticator = Authenticator(api, credentials, policies or RolePolicies({}))
    runner = ResolverRunner(api, invoker)
    hub = SubscriptionHub(api)
    try:
        yield Executor(api, authenticator, runner, hub, timeout_seconds=timeout_seconds), hub
    finally:
        runner.close()


@pytest.fixture
def parts(invoker) -> Iterator[tuple[Executor, SubscriptionHub]]:
    with serving(invoker) as served:
        yield served


def run(executor: Executor, query: str, caller: Caller = KEY_CALLER, **variables: Any) -> dict:
    return asyncio.run(executor.execute(GraphQLRequest(query, variables), caller))


def test_a_lambda_resolver_sees_appsyncs_ctx(parts, invoker):
    executor, _ = parts
    answer = run(
        executor,
        "query Q($id: ID!) { profile(id: $id) { id ...named friends { id } } } "
        "fragment named on Profile { name }",
        id="p1",
    )

    assert answer == {"data": {"profile": {"id": "p1", "name": "name-p1", "friends": None}}}
    ((function, event, invocation),) = invoker.calls
    assert (function, invocation) == (FUNCTION_ARN, "RequestResponse")
    ctx = event["ctx"]
    assert ctx["identity"] is None  # API-key callers have no identity
    assert ctx["headers"]["x-api-key"] == "da2-test"
    assert ctx["source"] is None
    assert ctx["info"]["fieldName"] == "profile"
    assert ctx["info"]["parentTypeName"] == "Query"
    assert ctx["info"]["variables"] == {"id": "p1"}
    assert ctx["info"]["selectionSetList"] == ["id", "name", "friends", "friends/id"]


def test_a_nested_resolver_gets_its_parent_as_source(parts):
    executor, _ = parts
    answer = run(executor, 'query { profile(id: "p2") { badge } }')

    assert answer == {"data": {"profile": {"badge": "badge of name-p2"}}}


def test_a_function_error_reaches_the_response_as_lambda_unhandled(invoker):
    error_code = """
    import { util } from '@aws-appsync/utils';
    export function request(ctx) { return { operation: 'Invoke', payload: { id: ctx.args.id } }; }
    export function response(ctx) { util.error(ctx.error.message, ctx.error.type); }
    """
    resolvers = {**RESOLVERS, "profile": unit("Query", "profile", error_code, "worker")}
    with serving(invoker, resolvers) as (executor, _):
        answer = run(executor, 'query { profile(id: "boom") { id } }')

    assert answer["data"] == {"profile": None}
    (error,) = answer["errors"]
    assert error["errorType"] == "Lambda:Unhandled"
    assert error["message"] == "NotFoundError: no profile boom"
    assert error["path"] == ["profile"]


def test_an_event_invocation_is_queued_and_its_result_is_null(invoker):
    ack = """
    export function request(ctx) {
      return { operation: 'Invoke', invocationType: 'Event', payload: { id: ctx.args.id } };
    }
    export function response(ctx) { return { id: 'ack', name: String(ctx.result) }; }
    """
    with serving(invoker, {**RESOLVERS, "profile": unit("Query", "profile", ack, "worker")}) as (
        executor,
        _,
    ):
        answer = run(executor, 'query { profile(id: "p3") { id name } }')

    assert answer == {"data": {"profile": {"id": "ack", "name": "null"}}}
    assert invoker.calls == [(FUNCTION_ARN, {"id": "p3"}, "Event")]


def test_a_pipeline_runs_its_functions_in_order_sharing_the_stash(parts, invoker):
    executor, _ = parts
    answer = run(executor, "query { piped(n: 5) }")

    assert json.loads(answer["data"]["piped"]) == {
        "result": {"n": 11},
        "trail": ["before", "double", "addOne", "after"],
    }
    assert invoker.calls == [(FUNCTION_ARN, {"n": 11}, "RequestResponse")]


def test_early_return_in_a_pipelines_request_skips_every_function(parts, invoker):
    executor, _ = parts
    answer = run(executor, "query { piped(n: -1) }")

    assert json.loads(answer["data"]["piped"]) == {
        "result": {"early": "resolver"},
        "trail": ["before", "after"],
    }
    assert invoker.calls == []


def test_early_return_to_the_end_skips_the_remaining_functions(parts, invoker):
    executor, _ = parts
    answer = run(executor, "query { piped(n: 0) }")

    assert json.loads(answer["data"]["piped"])["result"] == {"skipped": True}
    assert invoker.calls == []


def test_appended_errors_join_the_answer_beside_the_data(parts):
    executor, _ = parts
    answer = run(executor, "query { partial }")

    assert answer["data"] == {"partial": "kept"}
    (error,) = answer["errors"]
    assert (error["message"], error["errorType"], error["data"]) == (
        "also this",
        "Warning",
        {"a": 1},
    )
    assert error["path"] == ["partial"]


def test_a_request_over_its_time_limit_gets_appsyncs_timeout_error():
    with serving(RecordingInvoker(delay=2.0), timeout_seconds=0.2) as (executor, _):
        answer = run(executor, "query { slow }")

    assert answer["data"] is None
    assert answer["errors"][0]["errorType"] == "ExecutionTimeout"
    assert answer["errors"][0]["message"] == "Execution timed out."


def test_a_field_for_another_auth_mode_is_unauthorized_for_this_caller(parts):
    executor, _ = parts
    answer = run(executor, "query { secret partial }")

    assert answer["data"] == {"secret": None, "partial": "kept"}
    unauthorized = [e for e in answer["errors"] if e["errorType"] == "Unauthorized"]
    assert unauthorized[0]["message"] == "Not Authorized to access secret on type Query"


def test_iam_callers_need_appsync_graphql_on_the_field_in_their_roles_policies(invoker):
    api = make_api(**RESOLVERS)
    credentials = LocalCredentials("000000000000", b"seed")
    credentials.add_functions(
        [
            ("allowed", "arn:aws:iam::000000000000:role/allowed"),
            ("denied", "arn:aws:iam::000000000000:role/denied"),
        ]
    )
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "appsync:GraphQL",
                "Resource": f"{api.arn}/types/Query/fields/secret",
            }
        ],
    }
    policies = RolePolicies({"arn:aws:iam::000000000000:role/allowed": [json.dumps(grant)]})
    with serving(invoker, credentials=credentials, policies=policies) as (executor, _):
        answers = {
            name: run(
                executor,
                "query { secret }",
                Caller(AWS_IAM, {}, principal=credentials.for_function(name)),
            )
            for name in ("allowed", "denied")
        }

    assert "errors" not in answers["allowed"]
    assert (
        answers["denied"]["errors"][0]["message"] == "Not Authorized to access secret on type Query"
    )


def subscribe(executor: Executor, hub: SubscriptionHub, query: str, **variables: Any) -> Inbox:
    inbox = Inbox()
    checked = asyncio.run(executor.subscribe(GraphQLRequest(query, variables), KEY_CALLER))
    hub.add(Subscription(str(len(inbox.messages) + hub.count()), checked, inbox))
    return inbox


NOTIFY = """mutation N($room: ID!, $severity: Int!, $text: String, $tags: [String]) {
  notify(room: $room, severity: $severity, text: $text, tags: $tags) { room severity text tags }
}"""


def test_subscribers_get_a_mutations_result_when_their_arguments_match(parts):
    executor, hub = parts
    kitchen = subscribe(executor, hub, 'subscription { onNote(room: "kitchen") { room text } }')
    everyone = subscribe(executor, hub, "subscription { onNote { room } }")

    run(executor, NOTIFY, room="kitchen", severity=1, text="hi")
    run(executor, NOTIFY, room="hall", severity=1, text="yo")

    assert [m["payload"]["data"] for m in kitchen.messages] == [
        {"onNote": {"room": "kitchen", "text": "hi"}}
    ]
    assert [m["payload"]["data"]["onNote"]["room"] for m in everyone.messages] == [
        "kitchen",
        "hall",
    ]


def test_a_field_selected_twice_is_one_subscription_and_one_publication(parts):
    executor, hub = parts
    inbox = subscribe(
        executor, hub, 'subscription { onNote(room: "r") { room } onNote(room: "r") { text } }'
    )

    run(
        executor,
        'mutation { notify(room: "r", severity: 1, text: "once") { room text } '
        '...Again } fragment Again on Mutation { notify(room: "r", severity: 1, text: "once") '
        "{ room } }",
    )

    assert [m["payload"]["data"] for m in inbox.messages] == [
        {"onNote": {"room": "r", "text": "once"}}
    ]


def test_a_field_the_mutation_did_not_select_reaches_subscribers_as_null(parts):
    executor, hub = parts
    inbox = subscribe(executor, hub, "subscription { onNote { room text } }")

    run(executor, 'mutation { notify(room: "r", severity: 1, text: "secret") { room } }')

    assert inbox.messages[0]["payload"]["data"] == {"onNote": {"room": "r", "text": None}}


@pytest.mark.parametrize(
    ("severity", "tags", "text", "delivered"),
    [
        (9, ["ops"], "disk", True),  # severity ≥ 5 and a tag in the list
        (9, ["dev"], "URGENT: disk", True),  # severity ≥ 5 and the text alternative
        (9, ["dev"], "disk", False),  # neither alternative
        (2, ["ops"], "URGENT", False),  # below the minimum: the shared condition fails
    ],
)
def test_the_subscription_resolvers_enhanced_filter_decides_delivery(
    parts, severity, tags, text, delivered
):
    executor, hub = parts
    inbox = subscribe(executor, hub, "subscription { onUrgent(min: 5) { severity } }")

    run(executor, NOTIFY, room="r", severity=severity, text=text, tags=tags)

    assert bool(inbox.messages) is delivered


def test_invalidation_ends_the_subscriptions_its_filter_matches(parts):
    executor, hub = parts
    strict = subscribe(executor, hub, "subscription { onUrgent(min: 7) { severity } }")
    lenient = subscribe(executor, hub, "subscription { onUrgent(min: 3) { severity } }")

    run(executor, 'mutation { kick(room: "r") }')  # invalidates where severity 5 ≤ min

    assert [m["type"] for m in strict.messages] == ["complete"]
    assert lenient.messages == []
    assert hub.count() == 1


def test_a_message_over_240_kb_is_dropped_and_counted(parts):
    executor, hub = parts
    inbox = subscribe(executor, hub, "subscription { onNote { text } }")

    run(executor, NOTIFY, room="r", severity=1, text="x" * MAX_MESSAGE_BYTES)
    run(executor, NOTIFY, room="r", severity=1, text="x" * (MAX_MESSAGE_BYTES - 100))

    assert len(inbox.messages) == 1
    assert hub.dropped == 1


def test_field_access_follows_field_then_type_then_the_default_mode():
    schema = build_appsync_schema("""
    type Query { plain: T guarded: T @aws_iam both: T @aws_api_key @aws_iam }
    type T @aws_iam { a: String b: String @aws_cognito_user_pools(cognito_groups: ["admins"]) }
    """)
    access = field_access(schema, API_KEY)

    assert access[("Query", "plain")].modes == {API_KEY}
    assert access[("Query", "guarded")].modes == {AWS_IAM}
    assert access[("Query", "both")].modes == {API_KEY, AWS_IAM}
    assert access[("T", "a")].modes == {AWS_IAM}
    rule = access[("T", "b")]
    assert rule.cognito_groups == {"admins"}
    assert rule.allows(Caller("AMAZON_COGNITO_USER_POOLS", {}, groups=("admins",)))
    assert not rule.allows(Caller("AMAZON_COGNITO_USER_POOLS", {}, groups=("users",)))
