"""API Gateway's mapping-template variables, rendered by airspeed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.apigateway import vtl
from local.apigateway.vtl import MappingTemplateError, RequestParams, render


def _render(template: str, body: str = "", **kwargs):
    kwargs.setdefault("params", RequestParams())
    kwargs.setdefault("context", {})
    return render(template, body=body, **kwargs)


def test_input_json_returns_json_text_while_input_path_returns_the_object() -> None:
    body = '{"a": {"b": [1, 2]}, "s": "x", "t": true}'
    template = (
        "$input.json('$.s')|$input.path('$.s')|$input.json('$.a')|$input.path('$.a').b.size()"
        "|$input.path('$.a.b[1]')|$input.json('$.t')|$input.path('$.t')|$input.json('$')"
    )
    text, _ = _render(template, body)
    assert text == '"x"|x|{"b":[1,2]}|2|2|true|true|{"a":{"b":[1,2]},"s":"x","t":true}'


def test_input_path_objects_print_as_api_gateway_prints_them() -> None:
    text, _ = _render("$input.path('$')|$input.path('$.l')", '{"a": 1, "b": "x", "l": [1, "y"]}')
    assert text == '{a=1, b=x, l=[1,"y"]}|[1,"y"]'


def test_empty_body_reads_as_empty_object_and_missing_paths_render_empty() -> None:
    text, _ = _render("[$input.json('$')][$input.json('$.nope')][$input.path('$.nope')]", "")
    assert text == "[{}][][]"


def test_input_body_is_the_raw_payload() -> None:
    text, _ = _render("$input.body", '{"a" : 1}')
    assert text == '{"a" : 1}'


def test_numbers_keep_every_digit_through_input_json() -> None:
    big = "1" + "0" * 5000
    body = f'{{"n": {big}, "d": 1.000000000000000000002000000000000000000001}}'
    text, _ = _render("$input.json('$.n') $input.json('$.d')", body)
    assert text == f"{big} 1.000000000000000000002000000000000000000001"


def test_input_params_searches_path_then_querystring_then_header() -> None:
    params = RequestParams(
        path={"x": "p"},
        querystring={"x": "q", "y": "q"},
        header={"X": "h", "Y": "h", "Z": "h"},
    )
    template = (
        "$input.params('x') $input.params('y') $input.params('z') [$input.params('none')] "
        "$input.params().querystring.y "
        "#foreach($k in $input.params().header.keySet())$k#if($foreach.hasNext),#end#end"
    )
    text, _ = _render(template, params=params)
    assert text == "p q h [] q X,Y,Z"


def test_escape_javascript_follows_commons_lang_as_aws_documents() -> None:
    value = "He said \"hi\"\n'ok' \\ / é 😀\x01"
    text, _ = _render(
        "$util.escapeJavaScript($input.params('v'))", params=RequestParams(path={"v": value})
    )
    assert text == "He said \\\"hi\\\"\\n\\'ok\\' \\\\ \\/ \\u00E9 \\uD83D\\uDE00\\u0001"


def _escape_each(text: str) -> str:
    """commons-lang's ``escapeJavaScript`` as written, one UTF-16 unit at a time."""
    out = []
    units = text.encode("utf-16-be", errors="surrogatepass")
    for index in range(0, len(units), 2):
        unit = int.from_bytes(units[index : index + 2], "big")
        char = chr(unit)
        if char in vtl._SIMPLE_ESCAPES:
            out.append(vtl._SIMPLE_ESCAPES[char])
        elif unit < 0x20 or unit > 0x7F:
            out.append(f"\\u{unit:04X}")
        else:
            out.append(char)
    return "".join(out)


@given(st.text())
def test_escape_javascript_agrees_unit_by_unit(text: str) -> None:
    assert vtl._escape_javascript(text) == _escape_each(text)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_escape_javascript_of_printable_ascii_agrees_unit_by_unit(text: str) -> None:
    assert vtl._escape_javascript(text) == _escape_each(text)


@given(st.text(alphabet=st.characters(codec=None, categories=["Cs", "Co", "Lo", "So"])))
def test_escape_javascript_of_surrogates_and_other_planes_agrees_unit_by_unit(text: str) -> None:
    assert vtl._escape_javascript(text) == _escape_each(text)


def test_util_url_base64_and_parse_json() -> None:
    template = (
        "$util.urlEncode('a b&c=d~*')|$util.urlDecode('a+b%26')|$util.base64Encode('hi')"
        "|$util.base64Decode('aGk=')|$util.parseJson('{\"a\": [1, {\"b\": true}]}').a.get(1).b"
    )
    text, _ = _render(template)
    assert text == "a+b%26c%3Dd%7E*|a b&|aGk=|hi|true"


def test_response_override_status_and_header_are_read_back() -> None:
    template = (
        "#set($context.responseOverride.status = 202)\n"
        '#set($context.responseOverride.header.Location = "/there")\n'
        '#set($context.requestOverride.header.Custom = "yes")\n'
        "{}"
    )
    text, overrides = _render(template)
    assert text == "{}"
    assert overrides.status == 202
    assert overrides.response_headers == {"Location": "/there"}
    assert overrides.request_headers == {"Custom": "yes"}


@pytest.mark.parametrize("status", ["'202'", "700", "true"])
def test_a_status_override_that_is_not_an_http_status_is_ignored(status: str) -> None:
    _, overrides = _render(f"#set($context.responseOverride.status = {status})")
    assert overrides.status is None


def test_overrides_do_not_leak_between_renders() -> None:
    context = {"stage": "api"}
    _render("#set($context.responseOverride.status = 500)", context=context)
    _, overrides = _render("$context.stage", context=context)
    assert overrides.status is None
    assert "responseOverride" not in context


def test_context_values_that_are_absent_render_empty() -> None:
    context = {"identity": {"caller": None, "sourceIp": "192.0.2.1"}, "stage": "api"}
    text, _ = _render(
        "[$context.identity.caller][$context.identity.sourceIp][$context.stage]", context=context
    )
    assert text == "[][192.0.2.1][api]"


def test_stage_variables_are_readable() -> None:
    text, _ = _render("$stageVariables.alias", stage_variables={"alias": "live"})
    assert text == "live"


@pytest.mark.parametrize(
    ("template", "body"),
    [
        ("#if($x", "{}"),
        ("$input.json('$..deep')", "{}"),
        ("$input.json('$.a')", "not json"),
    ],
)
def test_unusable_templates_and_payloads_raise_mapping_template_error(
    template: str, body: str
) -> None:
    with pytest.raises(MappingTemplateError):
        _render(template, body)
