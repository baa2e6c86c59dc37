"""The AWS_PROXY edge: a function's proxy result turned into an HTTP answer."""

from __future__ import annotations

import base64
import json

import pytest

from local.apigateway.lambda_proxy import parse_proxy_response


def result(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_full_result_gives_its_status_headers_and_body():
    status, headers, body = parse_proxy_response(
        result(statusCode=201, headers={"Content-Type": "application/json"}, body='{"ok": true}')
    )
    assert (status, headers, body) == (201, [("Content-Type", "application/json")], b'{"ok": true}')


def test_every_field_is_optional_and_an_empty_result_is_an_empty_200():
    assert parse_proxy_response(b"") == (200, [], b"")
    assert parse_proxy_response(result()) == (200, [], b"")


def test_multi_value_headers_win_over_single_ones_of_the_same_name():
    _, headers, _ = parse_proxy_response(
        result(
            headers={"Set-Cookie": "a=1", "X-One": True},
            multiValueHeaders={"set-cookie": ["b=2", "c=3"]},
        )
    )
    assert headers == [("X-One", "true"), ("set-cookie", "b=2"), ("set-cookie", "c=3")]


def test_a_base64_body_is_decoded():
    encoded = base64.b64encode(b"\x00\xffbinary").decode()
    _, _, body = parse_proxy_response(result(body=encoded, isBase64Encoded=True))
    assert body == b"\x00\xffbinary"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[1, 2]", "not an object"),
        (result(statusCode=200, extra=1), "unexpected fields"),
        (result(statusCode="two hundred"), "is not a number"),
        (result(statusCode=True), "is not a number"),
        (result(statusCode=700), "out of range"),
        (result(body={"not": "a string"}), "body must be a string"),
        (result(multiValueHeaders={"X": "not a list"}), "must be lists"),
        (result(body="%%%", isBase64Encoded=True), "not base64"),
    ],
)
def test_a_malformed_result_is_refused_with_the_reason(payload: bytes, reason: str):
    with pytest.raises(ValueError, match=reason):
        parse_proxy_response(payload)
