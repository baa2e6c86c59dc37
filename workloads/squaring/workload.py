"""Squaring a number: seed 004's sync-or-async API, as an ackflow workload."""

from __future__ import annotations

from workloads import (
    Function,
    GraphQLField,
    HttpRoute,
    Invocation,
    Workload,
    WorkloadSettings,
)


class SquaringSettings(WorkloadSettings):
    invocation: Invocation = Invocation.CLIENT
    """How ``GET /square/{number}`` invokes the worker: ``client`` lets the caller pick with
    an ``InvocationType`` header, as in seed 004."""


# Seed 004's answers, built by API Gateway around the worker's result.
_SEED_FIELDS = """"api_stage": "$context.stage",
  "api_request_id": "$context.requestId",
  "api_resource_path": "$context.resourcePath",
  "http_method": "$context.httpMethod",
  "source_ip": "$context.identity.sourceIp",
  "user-agent": "$util.escapeJavaScript($context.identity.userAgent)","""

_SYNC_ANSWER = (
    "{\n  "
    + _SEED_FIELDS
    + """
  "synchronous_invocation": "true",
  "number": $input.json('$.number'),
  "square_of_your_number_is": $input.json('$.square')
}"""
)

_ASYNC_ANSWER = (
    "{\n  "
    + _SEED_FIELDS
    + """
  "requestId": "$context.requestId",
  "status": "ACCEPTED",
  "asynchronous_invocation": "true",
  "message": "Event received. Check queue/logs for status"
}"""
)

WORKLOAD = Workload(
    name="squaring",
    summary="Squares a number, synchronously or asynchronously (seed 004).",
    settings=SquaringSettings,
    worker=Function(handler="handler.handler"),
    graphql=(
        GraphQLField(
            type_name="Query", field_name="square", invocation=Invocation.REQUEST_RESPONSE
        ),
        GraphQLField(type_name="Mutation", field_name="squareAsync", invocation=Invocation.EVENT),
    ),
    routes=(
        HttpRoute(
            method="GET",
            path="/square/{number}",
            invocation=lambda settings: settings.invocation,
            request_template="""{"number": "$util.escapeJavaScript($input.params('number'))"}""",
            response_template=_SYNC_ANSWER,
            accepted_template=_ASYNC_ANSWER,
        ),
        HttpRoute(
            method="POST",
            path="/square",
            invocation=Invocation.CLIENT,
            body_schema={
                "$schema": "http://json-schema.org/draft-04/schema#",
                "title": "SquareRequest",
                "type": "object",
                "properties": {"number": {"type": ["number", "string"]}},
                "required": ["number"],
                "additionalProperties": False,
            },
            request_template="""{"number": $input.json('$.number')}""",
        ),
    ),
)
