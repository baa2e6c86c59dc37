"""API Gateway's request-parameter mapping syntax for REST APIs, as regular expressions.

AWS documents it in botocore's apigateway model (``PutMethod.requestParameters``: keys are
``method.request.{location}.{name}``, "where location is querystring, path, or header";
``PutIntegration.requestParameters``: the value is such a method request parameter "or static
value that must be enclosed within single quotes") and in the API Gateway Developer Guide,
"Parameter mapping source reference for REST APIs"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html),
which adds the multi-value locations, ``method.request.body`` (optionally with a JSONPath),
``stageVariables.<name>``, ``context.<name>``, and says a name must match ``^[a-zA-Z0-9._$-]+$``.
An integration request parameter (the key) is ``integration.request.{path|querystring|header}``
(or a multi-value location) followed by the name the back end receives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "INTEGRATION_PARAMETER",
    "MAPPING_SOURCE",
    "METHOD_PARAMETER",
    "integration_problems",
    "method_problems",
]

_NAME = r"[a-zA-Z0-9._$-]+"
_LOCATIONS = r"(path|querystring|header|multivaluequerystring|multivalueheader)"

METHOD_PARAMETER = re.compile(rf"method\.request\.{_LOCATIONS}\.{_NAME}")
"""A method request parameter: ``method.request.header.InvocationType``."""
INTEGRATION_PARAMETER = re.compile(rf"integration\.request\.{_LOCATIONS}\.{_NAME}")
"""An integration request parameter: ``integration.request.header.X-Amz-Invocation-Type``."""
MAPPING_SOURCE = re.compile(
    rf"{METHOD_PARAMETER.pattern}|method\.request\.body(\..+)?"
    rf"|stageVariables\.{_NAME}|context\.{_NAME}|'[^']*'"
)
"""What an integration request parameter may be mapped from, a quoted static value included."""


def integration_problems(parameters: Mapping[str, Any]) -> Iterator[str]:
    """What in an integration's ``requestParameters`` breaks the mapping syntax."""
    for key, source in parameters.items():
        if not INTEGRATION_PARAMETER.fullmatch(key):
            yield (
                f"requestParameters key {key!r} is not integration.request.{{location}}.{{name}} "
                "(location path, querystring or header)"
            )
        if not isinstance(source, str) or not MAPPING_SOURCE.fullmatch(source):
            yield (
                f"requestParameters[{key!r}] = {source!r} is neither a method.request.* parameter, "
                "a stageVariables/context variable, nor a static value in single quotes"
            )


def method_problems(parameters: Mapping[str, Any]) -> Iterator[str]:
    """What in a method's ``requestParameters`` (name → required flag) breaks the syntax."""
    for key in parameters:
        if not METHOD_PARAMETER.fullmatch(key):
            yield (
                f"requestParameters key {key!r} is not method.request.{{location}}.{{name}} "
                "(location path, querystring or header)"
            )
