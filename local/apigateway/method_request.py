"""API Gateway's method request stage: who may call, and the request validator.

An ``AWS_IAM`` method needs a signature (present, not verified locally); then, as the method's
validator asks, the required parameters must be present and the body must match the model
(JSON schema draft 4) declared for its content type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jsonschema

from local.apigateway.failures import (
    bad_request,
    internal_server_error,
    missing_authentication_token,
)
from local.apigateway.request import EXECUTION_LOG as LOG
from local.apigateway.vtl import loads

if TYPE_CHECKING:
    from local.apigateway.request import RoutedRequest

__all__ = ["check_method_request"]


def check_method_request(call: RoutedRequest) -> None:
    """Raise the gateway response for a request the method refuses: 403, then 400."""
    _authorize(call)
    _validate(call)


def _authorize(call: RoutedRequest) -> None:
    # The signature itself is not verified locally; an unsigned request is refused as on AWS.
    if call.route.method.authorization == "AWS_IAM" and not call.incoming.header("Authorization"):
        raise missing_authentication_token()


def _validate(call: RoutedRequest) -> None:
    """The method request's validator: required parameters, then the body against its model."""
    method = call.route.method
    if method.validate_parameters:
        missing = [
            p.name
            for p in method.parameters
            if p.required and not call.parameter(p.location, p.name)
        ]
        if missing:
            LOG.info("(%s) Request validation failed: missing %s", call.request_id, missing)
            raise bad_request(f"Missing required request parameters: [{', '.join(missing)}]")
    if not method.validate_body:
        return
    content_type = call.incoming.content_type
    schema = method.request_models.get(content_type) or method.request_models.get("$default")
    if schema is None:  # AWS validates only a content type that has a model
        return
    body = call.incoming.body
    try:
        document = loads(body) if body.strip() else {}
        errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(document)]
    except ValueError as error:
        errors = [f"not JSON: {error}"]
    except jsonschema.SchemaError as error:
        LOG.error("(%s) the request model is not a valid schema: %s", call.request_id, error)
        raise internal_server_error() from None
    if errors:
        LOG.info(
            "(%s) Request body does not match model schema for content type %s: %s",
            call.request_id,
            content_type,
            errors,
        )
        raise bad_request("Invalid request body")
