"""The catalogue of bad inputs: what is sent to each edge of `ackflow up`, and what AWS answers.

One frozen value per case: the edge, the input, the answer (an HTTP status or a WebSocket
message type, the error type, a gist of the message) and where AWS documents it, or
"unconfirmed" where the answer is our reading. tests/e2e/test_bad_input.py sends each case to
one running stack and checks, after each, that nothing was queued and the edge still serves.

A few inputs are hostile rather than malformed and AWS serves them (a `start` before
`connection_init`, a query string the route does not declare, a fragment bomb): their answer
is a success, recorded as such. Some reach a worker synchronously on AWS too (a path parameter
only the worker can judge): ``worker_runs`` says how many times; nothing of them is queued.
The Invoke API queues an `Event` whatever its payload, so the bedrock worker's bad events are
the opposite case: queued, each attempt fails at once with ``StreamRequestError`` (Lambda
still makes its two retries), the failure record says why, and nothing is streamed
(``queued=True``).

An expired API key cannot be held by a live stack (its key lives 1 to 365 days): the refusal
of one is in tests/local/appsync/test_auth.py.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["CASES", "Answer", "BadInput", "Edge"]

MB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


class Edge(Enum):
    REST = "REST API (API Gateway)"
    INVOKE = "Invoke API (Lambda)"
    GRAPHQL = "GraphQL over HTTP (AppSync)"
    REALTIME = "real-time WebSocket (AppSync)"
    SLACK = "Slack slash command"
    STREAM = "startStream (the streaming worker's front)"
    WORKER_EVENT = "Invoke API Event to the streaming worker"


@dataclass(frozen=True)
class Oversized:
    """A body of ``size`` filler bytes between ``prefix`` and ``suffix``, made when sent."""

    size: int
    prefix: bytes = b'{"number": "'
    suffix: bytes = b'"}'

    def render(self) -> bytes:
        return self.prefix + b"1" * self.size + self.suffix


Body = bytes | str | Oversized


# -- the inputs, one shape per edge ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Rest:
    method: str = "GET"
    path: str
    """Below the stage URL (``rest_url``), percent-encoded as sent."""
    stage: str | None = None
    """Another stage than the stack's."""
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""


@dataclass(frozen=True, kw_only=True)
class Invoke:
    function: str = "squaring"
    """A workload whose worker is invoked, or ``=<name>`` for a literal function name."""
    suffix: str = ""
    """Appended to the function's name in the path (``:nope``), percent-encoded as sent."""
    query: str = ""
    invocation_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b'{"number": "2"}'


class Auth(Enum):
    API_KEY = "the stack's API key"
    NONE = "no credentials"
    UNKNOWN_KEY = "an API key the API does not have"
    TOKEN = "an Authorization token for a mode the API does not configure"
    IAM_WRONG_SECRET = "SigV4 with a wrong secret key"
    IAM_STALE = "SigV4 dated 6 minutes ago"


@dataclass(frozen=True, kw_only=True)
class GraphQL:
    body: dict | Body
    """A GraphQL request (sent as JSON), or raw bytes."""
    auth: Auth = Auth.API_KEY
    headers: dict[str, str] = field(default_factory=dict)


class Header(Enum):
    KEY = "the API key, in the header query parameter"
    UNKNOWN_KEY = "an unknown API key, in the header query parameter"
    NOT_BASE64 = "a header that is not base64"
    NOT_JSON = "a header that is base64 but not JSON"
    NONE = "no header at all"


@dataclass(frozen=True, kw_only=True)
class Start:
    """A ``start`` message; its authorization is the stack's API key unless told otherwise."""

    id: str | None = "1"
    query: str = "subscription ($s: ID!) { onChunk(streamId: $s) { seq text } }"
    variables: dict = field(default_factory=lambda: {"s": "catalogue"})
    data: str | None = None
    """Sent as ``payload.data`` instead of the query and variables."""
    authorization: Header | None = Header.KEY


INIT = json.dumps({"type": "connection_init"})


@dataclass(frozen=True, kw_only=True)
class Socket:
    header: Header = Header.KEY
    subprotocols: tuple[str, ...] = ("graphql-ws",)
    frames: tuple[str | bytes | Start, ...] = (INIT,)
    answer_to: object = None
    """The id of the message whose answer is the case's (``None``: the first with no id)."""
    nth: int = 1
    """Which answer to that id (the second, for a duplicated start)."""


class Signature(Enum):
    VALID = "signed with the stack's signing secret"
    NONE = "no signature headers"
    WRONG = "a signature of zeros"
    STALE = "signed 301 s ago"


@dataclass(frozen=True, kw_only=True)
class Slack:
    fields: dict[str, str] | None = None
    """A slash command's form (merged into a valid one), or ``None`` to send ``raw``."""
    raw: str = ""
    signature: Signature = Signature.VALID
    method: str = "POST"


@dataclass(frozen=True, kw_only=True)
class StartStream:
    prompt: str = "Describe a lighthouse"
    stream_id: str | None = None
    """``None``: a fresh unguessable id."""
    max_tokens: int | None = None
    system: str | None = None


@dataclass(frozen=True, kw_only=True)
class WorkerEvent:
    payload: object
    """The event; a ``streamId`` of ``None`` is replaced by a fresh unguessable id, which the
    case subscribes to so that it sees any chunk."""


Request = Rest | Invoke | GraphQL | Socket | Slack | StartStream | WorkerEvent


# -- the answers ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What AWS answers: an HTTP status, or a WebSocket message type (or ``close`` and its code);
    the error type (``x-amzn-ErrorType``, or the first error's ``errorType``); a gist of the
    message (a substring of it)."""

    status: int | None = None
    message_type: str | None = None
    close_code: int | None = None
    error_type: str | None = None
    gist: str = ""


@dataclass(frozen=True, kw_only=True)
class BadInput:
    edge: Edge
    name: str
    request: Request
    answer: Answer
    source: str
    """Where AWS documents the answer, or "unconfirmed: ..." with our reading."""
    worker_runs: int = 0
    """Synchronous worker runs the input causes on AWS too (nothing queued)."""
    queued: bool = False
    """Accepted into the async queue (the Invoke API's Event): the answer is the failure record."""
    accepted: bool = False
    """Served as AWS serves it (hostile, not malformed): the answer is a success."""

    @property
    def id(self) -> str:
        return f"{self.edge.name.lower()}: {self.name}"


# -- the catalogue -------------------------------------------------------------------------------

_APIGW_VALIDATION = (
    "API Gateway developer guide, request validation: a body that fails the model is the "
    "BAD_REQUEST_BODY gateway response, 400 'Invalid request body'"
)
_APIGW_MISSING_TOKEN = (
    "API Gateway developer guide, gateway responses (MISSING_AUTHENTICATION_TOKEN, 403): an "
    "undeclared stage, resource or method"
)
_SELECTION_PATTERN = (
    "README (seed 004): the worker's NumberValidationError maps to 400 by selection pattern; "
    "API Gateway developer guide, handle Lambda errors"
)
_LAMBDA_REFUSAL = (
    "unconfirmed: Lambda refuses the invocation (Invoke API errors); what API Gateway then "
    "answers is not documented: we answer the caller's 4xx with Lambda's reason"
)
_INVOKE_ERRORS = "Lambda API reference, Invoke, Errors"
_NO_COMPRESSION = (
    "API Gateway developer guide, payload compression: a request body is decompressed only "
    "for an API with compression enabled (minimumCompressionSize); this one has none, so the "
    "body is read as sent"
)
_APPSYNC_VALIDATION = (
    "AppSync answers graphql-java's validation wording; AppSync's team documented HTTP 200 "
    "(2020), this runtime answers 400 as the GraphQL-over-HTTP spec asks (README)"
)
_APPSYNC_AUTH = "AppSync developer guide, authorization: UnauthorizedException, 401"
_SIGV4 = "IAM SigV4 signing errors (InvalidSignatureException, 403), as AWS services answer them"
_MALFORMED = "unconfirmed: AppSync's MalformedHttpRequestException wording, as clients report it"
_REALTIME = "AppSync developer guide, building a real-time WebSocket client"
_SLACK = (
    "Slack API docs, verifying requests from Slack (the front answers 401/400 itself and "
    "queues nothing)"
)
_SLACK_HELP = (
    "Slack API docs, slash commands: answer 200 with a message; a non-200 is shown to the "
    "user as an error. The front answers the help text and queues nothing"
)
_ARGUMENTS = (
    "README (Streaming): the startStream resolver checks the arguments before anything is "
    "queued; a resolver error is AppSync's HTTP 200 with errors[] (util.error)"
)
_STREAM_REQUEST = (
    "workloads/bedrock/worker.py: the worker re-checks the event and fails at once with "
    "StreamRequestError; Lambda's async invoke retries a function error (2 retries by "
    "default), then writes the failure record"
)

SQUARE = 'query { square(number: "3") { square } }'
DEEP = "{ " + 'square(number: "1") { square ' + "{ square " * 99 + "}" * 99 + " } }"
ALIASES = "{ " + " ".join(f'a{n}: square(number: "1") {{ square }}' for n in range(20_000)) + " }"
NESTED = "[" * 100_000 + "]" * 100_000
"""JSON nested deeper than JSON parsers recurse (Python's; Jackson's default is 1,000 levels)."""
BOMB = "{ ...F40 } fragment F0 on Query { __typename } " + " ".join(
    f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, 41)
)


def _rest(
    name: str, request: Rest, answer: Answer, source: str, runs: int = 0, accepted: bool = False
) -> BadInput:
    return BadInput(
        edge=Edge.REST,
        name=name,
        request=request,
        answer=answer,
        source=source,
        worker_runs=runs,
        accepted=accepted,
    )


def _post(body: Body, **headers: str) -> Rest:
    return Rest(method="POST", path="/square", headers={**JSON, **headers}, body=body)


REST_CASES = [
    _rest(
        "malformed JSON",
        _post(b'{"number": '),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "number is a list",
        _post(b'{"number": [12]}'),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "number is a boolean",
        _post(b'{"number": true}'),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "number is null",
        _post(b'{"number": null}'),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "an extra key",
        _post(b'{"number": 2, "extra": 1}'),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "no number",
        _post(b"{}"),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "a JSON array",
        _post(b'[{"number": 2}]'),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "JSON nested 100,000 levels deep",
        _post('{"number": ' + NESTED + "}"),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "a raw NUL byte in the body",
        _post(b'{"number": "1\x00"}'),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _APIGW_VALIDATION,
    ),
    _rest(
        "an escaped NUL in the number",
        _post(b'{"number": "1\\u0000"}'),
        Answer(status=400, gist="NumberValidationError: '1\\x00' is not a number"),
        _SELECTION_PATTERN,
        runs=1,
    ),
    _rest(
        "a text/plain body",
        Rest(method="POST", path="/square", headers={"Content-Type": "text/plain"}, body="2"),
        Answer(status=415, gist="Unsupported Media Type"),
        "API Gateway developer guide, passthroughBehavior NEVER: an unmapped content type is "
        "415 Unsupported Media Type",
    ),
    _rest(
        "a gzip-compressed body",
        _post(gzip.compress(b'{"number": 2}'), **{"Content-Encoding": "gzip"}),
        Answer(status=400, error_type="BadRequestException", gist="Invalid request body"),
        _NO_COMPRESSION,
    ),
    _rest(
        "a deflate header on a body that is not deflate",
        _post(b'{"number": 2}', **{"Content-Encoding": "deflate"}),
        Answer(status=200, gist='"square":4'),
        _NO_COMPRESSION + " (and served)",
        runs=1,
        accepted=True,
    ),
    _rest(
        "a body over 10 MB",
        _post(Oversized(10 * MB)),
        Answer(status=413, gist="Request Too Long"),
        "API Gateway quotas (10 MB payload) and gateway responses (REQUEST_TOO_LARGE, 413); "
        "the message's words are unconfirmed",
    ),
    _rest(
        "a body over Lambda's 6 MB",
        _post(Oversized(6 * MB)),
        Answer(status=413, gist="byte payload is too large for the RequestResponse invocation"),
        _LAMBDA_REFUSAL + " (API Gateway's execution log words it so)",
    ),
    _rest(
        "an Event body over Lambda's 1 MB",
        _post(Oversized(MB), InvocationType="Event"),
        Answer(status=413, gist="byte payload is too large for the Event invocation type"),
        _LAMBDA_REFUSAL,
    ),
    _rest(
        "a NUL byte in the path",
        Rest(path="/square/1%00"),
        Answer(status=400, gist="NumberValidationError: '1\\x00' is not a number"),
        _SELECTION_PATTERN,
        runs=1,
    ),
    _rest(
        "a NUL byte in an undeclared query string",
        Rest(path="/square/3?number=%00"),
        Answer(status=200, gist='"square_of_your_number_is": 9'),
        "API Gateway developer guide, method request: parameters the method does not declare "
        "are not mapped; the request is served",
        runs=1,
        accepted=True,
    ),
    _rest(
        "a quote in the path",
        Rest(path="/square/it's"),
        Answer(status=400, error_type="BadRequestException", gist="Could not parse request body"),
        _LAMBDA_REFUSAL + " ($util.escapeJavaScript writes ' as \\', which is not JSON)",
    ),
    _rest(
        "a quote in the path, asynchronously",
        Rest(path="/square/it's", headers={"InvocationType": "Event"}),
        Answer(status=400, error_type="BadRequestException", gist="Could not parse request body"),
        _LAMBDA_REFUSAL,
    ),
    _rest(
        "not a number, synchronously",
        Rest(path="/square/abc"),
        Answer(status=400, gist="NumberValidationError: 'abc' is not a number"),
        _SELECTION_PATTERN,
        runs=1,
    ),
    _rest(
        "an unknown route",
        Rest(path="/cube/3"),
        Answer(
            status=403,
            error_type="MissingAuthenticationTokenException",
            gist="Missing Authentication Token",
        ),
        _APIGW_MISSING_TOKEN,
    ),
    _rest(
        "an unknown stage",
        Rest(stage="prod", path="/square/3"),
        Answer(
            status=403,
            error_type="MissingAuthenticationTokenException",
            gist="Missing Authentication Token",
        ),
        _APIGW_MISSING_TOKEN,
    ),
    _rest(
        "DELETE on a GET route",
        Rest(method="DELETE", path="/square/3"),
        Answer(
            status=403,
            error_type="MissingAuthenticationTokenException",
            gist="Missing Authentication Token",
        ),
        _APIGW_MISSING_TOKEN,
    ),
    _rest(
        "PUT on a POST route",
        Rest(method="PUT", path="/square", headers=JSON, body=b'{"number": 2}'),
        Answer(
            status=403,
            error_type="MissingAuthenticationTokenException",
            gist="Missing Authentication Token",
        ),
        _APIGW_MISSING_TOKEN,
    ),
    _rest(
        "an unknown InvocationType",
        Rest(path="/square/3", headers={"InvocationType": "Bogus"}),
        Answer(
            status=400,
            error_type="BadRequestException",
            gist="Value 'Bogus' at 'invocationType' failed to satisfy constraint",
        ),
        _LAMBDA_REFUSAL,
    ),
    _rest(
        "a lower-case InvocationType",
        Rest(path="/square/3", headers={"InvocationType": "event"}),
        Answer(
            status=400,
            error_type="BadRequestException",
            gist="Value 'event' at 'invocationType' failed to satisfy constraint",
        ),
        _LAMBDA_REFUSAL + " (the enum is case-sensitive)",
    ),
]


def _invoke(name: str, request: Invoke, answer: Answer, source: str = _INVOKE_ERRORS) -> BadInput:
    return BadInput(edge=Edge.INVOKE, name=name, request=request, answer=answer, source=source)


INVOKE_CASES = [
    _invoke(
        "a payload that is not JSON",
        Invoke(body=b'{"number": '),
        Answer(
            status=400,
            error_type="InvalidRequestContentException",
            gist="Could not parse request body into json",
        ),
    ),
    _invoke(
        "an Event payload that is not JSON",
        Invoke(body=b"not json", invocation_type="Event"),
        Answer(
            status=400,
            error_type="InvalidRequestContentException",
            gist="Could not parse request body into json",
        ),
    ),
    _invoke(
        "a payload nested 100,000 levels deep",
        Invoke(body=NESTED),
        Answer(
            status=400,
            error_type="InvalidRequestContentException",
            gist="Could not parse request body into json",
        ),
    ),
    _invoke(
        "a gzip-compressed payload",
        Invoke(body=gzip.compress(b'{"number": "2"}'), headers={"Content-Encoding": "gzip"}),
        Answer(
            status=400,
            error_type="InvalidRequestContentException",
            gist="Could not parse request body into json",
        ),
        "unconfirmed: the Invoke API reads the payload as sent; AWS's SDKs never compress it",
    ),
    _invoke(
        "a payload over 6 MB",
        Invoke(body=Oversized(6 * MB)),
        Answer(
            status=413,
            error_type="RequestEntityTooLargeException",
            gist="Request must be smaller than 6291456 bytes",
        ),
        _INVOKE_ERRORS + " (RequestEntityTooLargeException, 413); Lambda quotas (6 MB sync)",
    ),
    _invoke(
        "an Event payload over 1 MB",
        Invoke(body=Oversized(MB), invocation_type="Event"),
        Answer(
            status=413,
            error_type="RequestEntityTooLargeException",
            gist="Request must be smaller than 1048576 bytes",
        ),
        _INVOKE_ERRORS + " (RequestEntityTooLargeException, 413); Lambda quotas (1 MB async)",
    ),
    _invoke(
        "an unknown function",
        Invoke(function="=ackflow-e2e-nope"),
        Answer(
            status=404,
            error_type="ResourceNotFoundException",
            gist="Function not found: arn:aws:lambda:us-east-1:000000000000:function:"
            "ackflow-e2e-nope",
        ),
    ),
    _invoke(
        "an Event to an unknown function",
        Invoke(function="=ackflow-e2e-nope", invocation_type="Event"),
        Answer(status=404, error_type="ResourceNotFoundException", gist="Function not found"),
    ),
    _invoke(
        "an unknown invocation type",
        Invoke(invocation_type="Async"),
        Answer(
            status=400,
            error_type="ValidationException",
            gist="Value 'Async' at 'invocationType' failed to satisfy constraint",
        ),
        "unconfirmed: botocore's enum for InvocationType; the error type and wording are how "
        "AWS words a constraint failure",
    ),
    _invoke(
        "an unknown qualifier in the name",
        Invoke(suffix=":nope"),
        Answer(
            status=404,
            error_type="ResourceNotFoundException",
            gist=":function:ackflow-e2e-squaring-worker:nope",
        ),
    ),
    _invoke(
        "an unknown Qualifier parameter",
        Invoke(query="Qualifier=nope"),
        Answer(
            status=404,
            error_type="ResourceNotFoundException",
            gist=":function:ackflow-e2e-squaring-worker:nope",
        ),
    ),
    _invoke(
        "a version that was never published",
        Invoke(suffix=":7"),
        Answer(status=404, error_type="ResourceNotFoundException", gist="squaring-worker:7"),
    ),
    _invoke(
        "a function name outside the pattern",
        Invoke(function="=ackflow e2e", invocation_type="Event"),
        Answer(
            status=400,
            error_type="ValidationException",
            gist="at 'functionName' failed to satisfy constraint",
        ),
        "botocore's Lambda model (Invoke FunctionName pattern); the wording is how AWS words "
        "a constraint failure (unconfirmed)",
    ),
]


def _graphql(
    name: str, request: GraphQL, answer: Answer, source: str, accepted: bool = False
) -> BadInput:
    return BadInput(
        edge=Edge.GRAPHQL,
        name=name,
        request=request,
        answer=answer,
        source=source,
        accepted=accepted,
    )


GRAPHQL_CASES = [
    _graphql(
        "a syntax error",
        GraphQL(body={"query": 'query { square(number: "1") { square } '}),
        Answer(status=400, error_type="InvalidSyntax", gist="Invalid Syntax : offending token"),
        _APPSYNC_VALIDATION,
    ),
    _graphql(
        "an unknown field",
        GraphQL(body={"query": "{ cube { number } }"}),
        Answer(
            status=400,
            error_type="ValidationError",
            gist="Validation error of type FieldUndefined: Field 'cube' in type 'Query'",
        ),
        _APPSYNC_VALIDATION,
    ),
    _graphql(
        "a wrong literal type",
        GraphQL(body={"query": "{ square(number: 12) { square } }"}),
        Answer(status=400, error_type="ValidationError", gist="Validation error of type WrongType"),
        _APPSYNC_VALIDATION,
    ),
    _graphql(
        "a wrong variable type",
        GraphQL(
            body={
                "query": "query ($n: String!) { square(number: $n) { square } }",
                "variables": {"n": 12},
            }
        ),
        Answer(status=400, error_type="ValidationError", gist="Variable 'n' has an invalid value"),
        _APPSYNC_VALIDATION,
    ),
    _graphql(
        "no credentials",
        GraphQL(body={"query": SQUARE}, auth=Auth.NONE),
        Answer(
            status=401,
            error_type="UnauthorizedException",
            gist="Missing authorization header",
        ),
        _APPSYNC_AUTH,
    ),
    _graphql(
        "an unknown API key",
        GraphQL(body={"query": SQUARE}, auth=Auth.UNKNOWN_KEY),
        Answer(
            status=401,
            error_type="UnauthorizedException",
            gist="You are not authorized to make this call.",
        ),
        _APPSYNC_AUTH,
    ),
    _graphql(
        "a token for a mode the API does not configure",
        GraphQL(body={"query": SQUARE}, auth=Auth.TOKEN),
        Answer(
            status=401,
            error_type="UnauthorizedException",
            gist="You are not authorized to make this call.",
        ),
        _APPSYNC_AUTH,
    ),
    _graphql(
        "SigV4 with a wrong secret",
        GraphQL(body={"query": SQUARE}, auth=Auth.IAM_WRONG_SECRET),
        Answer(
            status=403,
            error_type="InvalidSignatureException",
            gist="The request signature we calculated does not match",
        ),
        _SIGV4,
    ),
    _graphql(
        "SigV4 dated 6 minutes ago",
        GraphQL(body={"query": SQUARE}, auth=Auth.IAM_STALE),
        Answer(status=403, error_type="InvalidSignatureException", gist="Signature expired"),
        _SIGV4 + " (a signature is valid 5 minutes)",
    ),
    _graphql(
        "an IAM-only field with the API key",
        GraphQL(
            body={
                "query": 'mutation { publishChunk(streamId: "catalogue", seq: 0, done: true) '
                "{ streamId } }"
            }
        ),
        Answer(
            status=200,
            error_type="Unauthorized",
            gist="Not Authorized to access publishChunk on type Mutation",
        ),
        "AppSync developer guide, authorization: a field another mode guards is null with an "
        "Unauthorized error (HTTP 200); nothing is published",
    ),
    _graphql(
        "a subscription over HTTP",
        GraphQL(body={"query": 'subscription { onChunk(streamId: "a") { seq } }'}),
        Answer(status=400, error_type="OperationNotSupported", gist="Subscriptions are not"),
        "unconfirmed: AppSync serves subscriptions over the real-time endpoint only",
    ),
    _graphql(
        "100 nested levels",
        GraphQL(body={"query": DEEP}),
        Answer(
            status=400,
            error_type="ValidationError",
            gist="Validation error of type SubSelectionNotAllowed",
        ),
        _APPSYNC_VALIDATION + "; AppSync's queryDepthLimit is unset (no limit) on this API",
    ),
    _graphql(
        "20,000 aliases of a resolved field",
        GraphQL(body={"query": ALIASES}),
        Answer(
            status=400,
            error_type="ResolverCountLimitExceeded",
            gist="The query would invoke 20000 resolvers, over the limit of 10000.",
        ),
        "AppSync API reference, GraphqlApi.resolverCountLimit: 10,000 resolvers per request "
        "unless set; the error's words are unconfirmed",
    ),
    _graphql(
        "a fragment bomb (2^40 spreads of __typename)",
        GraphQL(body={"query": BOMB}),
        Answer(status=200, gist='{"data":{"__typename":"Query"}}'),
        "GraphQL spec, CollectFields: each fragment is spread once per selection set, so the "
        "document selects one field and is served",
        accepted=True,
    ),
    _graphql(
        "a request over 1 MB",
        GraphQL(body=Oversized(MB, b'{"query": "{ __typename }", "x": "', b'"}')),
        Answer(status=413, error_type="PayloadTooLargeException", gist="Request body is larger"),
        "unconfirmed: AppSync's request size limit is not documented",
    ),
    _graphql(
        "a body that is not JSON",
        GraphQL(body=b"query { square }"),
        Answer(
            status=400,
            error_type="MalformedHttpRequestException",
            gist="Invalid JSON payload in POST request.",
        ),
        _MALFORMED,
    ),
    _graphql(
        "variables nested 100,000 levels deep",
        GraphQL(body=f'{{"query": "{{ __typename }}", "variables": {{"a": {NESTED}}}}}'),
        Answer(
            status=400,
            error_type="MalformedHttpRequestException",
            gist="Invalid JSON payload in POST request.",
        ),
        _MALFORMED,
    ),
    _graphql(
        "a gzip-compressed body",
        GraphQL(
            body=gzip.compress(b'{"query": "{ __typename }"}'),
            headers={"Content-Encoding": "gzip"},
        ),
        Answer(
            status=400,
            error_type="MalformedHttpRequestException",
            gist="Invalid JSON payload in POST request.",
        ),
        "unconfirmed: AppSync documents compressing answers, not reading compressed requests",
    ),
    _graphql(
        "a gzip header on a body that is not gzip",
        GraphQL(body={"query": "{ __typename }"}, headers={"Content-Encoding": "gzip"}),
        Answer(status=200, gist='{"data":{"__typename":"Query"}}'),
        "unconfirmed: the body is read as sent, and served",
        accepted=True,
    ),
    _graphql(
        "an empty body",
        GraphQL(body=b""),
        Answer(
            status=400, error_type="MalformedHttpRequestException", gist="Request body is empty."
        ),
        _MALFORMED,
    ),
    _graphql(
        "a JSON array",
        GraphQL(body=b'[{"query": "{ __typename }"}]'),
        Answer(
            status=400,
            error_type="MalformedHttpRequestException",
            gist="Unable to parse GraphQL query.",
        ),
        _MALFORMED,
    ),
    _graphql(
        "a query that is not a string",
        GraphQL(body={"query": 12}),
        Answer(
            status=400,
            error_type="MalformedHttpRequestException",
            gist="Unable to parse GraphQL query.",
        ),
        _MALFORMED,
    ),
    _graphql(
        "variables that are not an object",
        GraphQL(body={"query": SQUARE, "variables": [1]}),
        Answer(
            status=400,
            error_type="MalformedHttpRequestException",
            gist="Unable to parse GraphQL query.",
        ),
        _MALFORMED,
    ),
    _graphql(
        "an unknown operationName",
        GraphQL(body={"query": f"query A {SQUARE[6:]}", "operationName": "B"}),
        Answer(status=400, error_type="BadRequestException", gist="Unknown operation named 'B'."),
        "unconfirmed: graphql-java's GetOperation wording",
    ),
]


def _socket(
    name: str, request: Socket, answer: Answer, source: str = _REALTIME, accepted: bool = False
) -> BadInput:
    return BadInput(
        edge=Edge.REALTIME,
        name=name,
        request=request,
        answer=answer,
        source=source,
        accepted=accepted,
    )


_UNAUTHORIZED = "UnauthorizedException"
_CONNECTION_ERROR = Answer(
    message_type="connection_error",
    error_type="com.amazonaws.deepdish.graphql.auth#UnauthorizedException",
    gist="You are not authorized to make this call.",
)

REALTIME_CASES = [
    _socket(
        "a subprotocol other than graphql-ws",
        Socket(subprotocols=("graphql-transport-ws",), frames=()),
        Answer(status=400, error_type="UnsupportedProtocol", gist="graphql-ws"),
        "unconfirmed: the real-time endpoint needs the graphql-ws subprotocol; the handshake "
        "is refused",
    ),
    _socket("a header that is not base64", Socket(header=Header.NOT_BASE64), _CONNECTION_ERROR),
    _socket("a header that is not JSON", Socket(header=Header.NOT_JSON), _CONNECTION_ERROR),
    _socket("no header", Socket(header=Header.NONE), _CONNECTION_ERROR),
    _socket("an unknown API key", Socket(header=Header.UNKNOWN_KEY), _CONNECTION_ERROR),
    _socket(
        "start before connection_init",
        Socket(frames=(Start(),), answer_to="1"),
        Answer(message_type="start_ack"),
        _REALTIME + ": connection_init is optional; the start is served",
        accepted=True,
    ),
    _socket(
        "a start without extensions.authorization",
        Socket(frames=(INIT, Start(authorization=None)), answer_to="1"),
        Answer(message_type="error", error_type=_UNAUTHORIZED, gist="not authorized"),
    ),
    _socket(
        "a start authorized by an unknown key",
        Socket(frames=(INIT, Start(authorization=Header.UNKNOWN_KEY)), answer_to="1"),
        Answer(message_type="error", error_type=_UNAUTHORIZED, gist="not authorized"),
    ),
    _socket(
        "data that is not JSON",
        Socket(frames=(INIT, Start(data="{not json")), answer_to="1"),
        Answer(
            message_type="error",
            error_type="MalformedHttpRequestException",
            gist="payload.data must be a JSON string",
        ),
        _REALTIME + " (data is a JSON string of {query, variables}); the error's words are "
        "unconfirmed",
    ),
    _socket(
        "stop for an unknown id",
        Socket(frames=(INIT, json.dumps({"type": "stop", "id": "nope"})), answer_to="nope"),
        Answer(message_type="error", error_type="UnknownOperationError", gist="nope"),
        "unconfirmed: an error with the stop's id",
    ),
    _socket(
        "stop for an id that is a list, beside a live subscription",
        Socket(frames=(INIT, Start(), json.dumps({"type": "stop", "id": [1]})), answer_to=[1]),
        Answer(message_type="error", error_type="UnknownOperationError", gist="[1]"),
        "unconfirmed: an error with the stop's id, as for any unknown id",
    ),
    _socket(
        "a duplicated start id",
        Socket(frames=(INIT, Start(), Start()), answer_to="1", nth=2),
        Answer(
            message_type="error",
            error_type="DuplicatedOperationError",
            gist="Duplicated operation with id 1",
        ),
        "AppSync's answer as its users report it (AWS re:Post: DuplicatedOperationError)",
    ),
    _socket(
        "a frame over 240 KB",
        Socket(frames=(INIT, json.dumps({"type": "start", "id": "1", "data": "x" * 250_000}))),
        Answer(message_type="close", close_code=1009),
        "AppSync quotas: 240 KB per message; RFC 6455: 1009, message too big",
    ),
    _socket(
        "a 101st subscription",
        Socket(
            frames=(INIT, *(Start(id=str(n), variables={"s": f"s{n}"}) for n in range(101))),
            answer_to="100",
        ),
        Answer(message_type="error", error_type="MaxSubscriptionsReachedError", gist="100"),
        "AppSync quotas: 100 subscriptions per connection; the error's name is unconfirmed",
    ),
    _socket(
        "a query sent as start",
        Socket(frames=(INIT, Start(query=SQUARE, variables={})), answer_to="1"),
        Answer(message_type="error", error_type="OperationNotSupported", gist="subscriptions"),
        "unconfirmed: the real-time endpoint serves subscriptions only",
    ),
    _socket(
        "a mutation sent as start",
        Socket(
            frames=(
                INIT,
                Start(query='mutation { squareAsync(number: "5") { requestId } }', variables={}),
            ),
            answer_to="1",
        ),
        Answer(message_type="error", error_type="OperationNotSupported", gist="subscriptions"),
        "unconfirmed: the real-time endpoint serves subscriptions only (the mutation never runs)",
    ),
    _socket(
        "an unknown message type",
        Socket(frames=(INIT, json.dumps({"type": "subscribe", "id": "1"})), answer_to="1"),
        Answer(
            message_type="error",
            error_type="UnsupportedOperation",
            gist="not supported through the realtime channel",
        ),
        "AppSync's answer as its users report it ('unknown not supported through the realtime "
        "channel')",
    ),
    _socket(
        "a binary frame",
        Socket(frames=(INIT, b"\x00\x01binary")),
        Answer(
            message_type="error",
            error_type="UnsupportedOperation",
            gist="not supported through the realtime channel",
        ),
        "unconfirmed: the protocol is JSON text frames",
    ),
    _socket(
        "a frame that is not JSON",
        Socket(frames=(INIT, "not json")),
        Answer(message_type="error", error_type="MalformedMessage", gist="not a JSON object"),
        "unconfirmed: the protocol is JSON text frames",
    ),
    _socket(
        "a frame nested 100,000 levels deep",
        Socket(frames=(INIT, NESTED)),
        Answer(message_type="error", error_type="MalformedMessage", gist="not a JSON object"),
        "unconfirmed: the protocol is JSON text frames",
    ),
    _socket(
        "data nested 100,000 levels deep",
        Socket(frames=(INIT, Start(data=NESTED)), answer_to="1"),
        Answer(
            message_type="error",
            error_type="MalformedHttpRequestException",
            gist="payload.data must be a JSON string",
        ),
        "unconfirmed: data is a JSON string of {query, variables}",
    ),
    _socket(
        "a start without an id",
        Socket(frames=(INIT, Start(id=None))),
        Answer(message_type="error", error_type="MissingIdError", gist="needs an id"),
        "unconfirmed: a start names its subscription by id",
    ),
    _socket(
        "a subscription missing its argument",
        Socket(
            frames=(INIT, Start(query="subscription { onChunk { seq } }", variables={})),
            answer_to="1",
        ),
        Answer(
            message_type="error",
            error_type="ValidationError",
            gist="Missing field argument streamId",
        ),
        _APPSYNC_VALIDATION,
    ),
]


def _slack(name: str, request: Slack, answer: Answer, source: str = _SLACK) -> BadInput:
    return BadInput(
        edge=Edge.SLACK,
        name=name,
        request=request,
        answer=answer,
        source=source,
        accepted=answer.status == 200,  # Slack's contract: a 200 whose text the user sees
    )


SLACK_CASES = [
    _slack(
        "no signature",
        Slack(fields={}, signature=Signature.NONE),
        Answer(status=401, gist="missing signature"),
    ),
    _slack(
        "a wrong signature",
        Slack(fields={}, signature=Signature.WRONG),
        Answer(status=401, gist="invalid signature"),
    ),
    _slack(
        "a timestamp over 5 minutes old",
        Slack(fields={}, signature=Signature.STALE),
        Answer(status=401, gist="stale request"),
    ),
    _slack(
        "a body that is not a form",
        Slack(raw="%%%not a form"),
        Answer(status=400, gist="body is not form-encoded"),
    ),
    _slack(
        "a form without the command's fields",
        Slack(raw="command=%2Fsquare&text=12"),
        Answer(status=400, gist="missing fields: response_url, trigger_id, user_id"),
    ),
    _slack(
        "an unknown command",
        Slack(fields={"command": "/cube"}),
        Answer(status=200, gist="I don't know `/cube`"),
        _SLACK_HELP,
    ),
    _slack(
        "/square with no text",
        Slack(fields={"text": ""}),
        Answer(status=200, gist="`/square` needs a number"),
        _SLACK_HELP,
    ),
    _slack(
        "GET on the command URL",
        Slack(fields={}, method="GET"),
        Answer(
            status=403,
            error_type="MissingAuthenticationTokenException",
            gist="Missing Authentication Token",
        ),
        _APIGW_MISSING_TOKEN,
    ),
]


def _stream(name: str, request: StartStream, gist: str, status: int = 200) -> BadInput:
    error_type = "ArgumentValidationError" if status == 200 else "ValidationError"
    return BadInput(
        edge=Edge.STREAM,
        name=name,
        request=request,
        answer=Answer(status=status, error_type=error_type, gist=gist),
        source=_ARGUMENTS if status == 200 else _APPSYNC_VALIDATION,
    )


STREAM_CASES = [
    _stream("a blank prompt", StartStream(prompt=" \n\t "), "prompt must match"),
    _stream(
        "a prompt over 20,000 characters",
        StartStream(prompt="x" * 20_001),
        "prompt must be at most 20000 characters",
    ),
    _stream("a guessable streamId", StartStream(stream_id="stream-1"), "streamId must match"),
    _stream(
        "maxTokens over the stack's limit",
        StartStream(max_tokens=1025),
        "maxTokens must be at most 1024",
    ),
    _stream(
        "maxTokens beyond a 32-bit Int",
        StartStream(max_tokens=2**31),
        "Int cannot represent non 32-bit signed integer value",
        status=400,
    ),
    _stream(
        "a system prompt over 4,000 characters",
        StartStream(system="s" * 4001),
        "system must be at most 4000 characters",
    ),
]


def _worker(name: str, payload: object, gist: str) -> BadInput:
    return BadInput(
        edge=Edge.WORKER_EVENT,
        name=name,
        request=WorkerEvent(payload=payload),
        answer=Answer(status=202, error_type="StreamRequestError", gist=gist),
        source=_STREAM_REQUEST,
        queued=True,
    )


WORKER_EVENT_CASES = [
    _worker("an event that is not an object", "just a string", "the event is not an object"),
    _worker(
        "a blank prompt",
        {"prompt": "   ", "streamId": None, "requestId": "catalogue-blank"},
        "prompt is empty",
    ),
    _worker(
        "a guessable streamId",
        {"prompt": "Hello", "streamId": "s-1", "requestId": "catalogue-guessable"},
        "streamId must match",
    ),
    _worker(
        "maxTokens over the stack's limit",
        {"prompt": "Hello", "streamId": None, "requestId": "catalogue-tokens", "maxTokens": 5000},
        "maxTokens must be 1 to 1024",
    ),
]

CASES: list[BadInput] = [
    *REST_CASES,
    *INVOKE_CASES,
    *GRAPHQL_CASES,
    *REALTIME_CASES,
    *SLACK_CASES,
    *STREAM_CASES,
    *WORKER_EVENT_CASES,
]
