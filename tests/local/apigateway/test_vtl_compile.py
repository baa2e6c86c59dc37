"""The compiled templates answer as airspeed does, for any template made of VTL's parts
(hypothesis): the same text, or the same error with the same message."""

from __future__ import annotations

from typing import Any

import airspeed
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.apigateway.vtl import _JavaMap, _Util
from local.apigateway.vtl_compile import compile_template


class Helper:
    """Methods a template calls: on an object (attribute lookup), not a map."""

    label = "helper"

    def twice(self, value: Any) -> Any:
        return value * 2

    def join(self, *values: Any) -> str:
        return "-".join(str(v) for v in values)

    def fail(self) -> None:
        raise ValueError("failed on purpose")

    def nothing(self) -> None:
        return None


def _namespace() -> dict[str, Any]:
    return {
        "a": "x",
        "s": "str",
        "n": 2,
        "zero": 0,
        "flag": True,
        "none": None,
        "m": {"k": "v", "x": {"y": 1}, "l": [1, 2]},
        "l": ["p", "q"],
        "jm": _JavaMap(k="v", inner=_JavaMap(z="deep")),
        "u": Helper(),
        "util": _Util(),
        "cls": list,
    }


REFERENCES = [
    "$a", "$!a", "${a}", "$!{a}", "$n", "$flag", "$none", "$!none", "$missing", "$!missing",
    "$m", "$m.k", "$m.x.y", "$m.missing", "$m.missing.deeper", "$m.l", "$m.l.size()",
    "$m.k.length()", "$l.size()", "$l.get(0)", "$l.get(5)", "$l[0]", "$l[1].length()",
    "$m.keySet()", "$m.isEmpty()", "$jm", "$jm.k", "$jm.inner.z", "$jm.size()",
    "$jm.containsKey('k')", "$jm.get('inner')", "$u.label", "$u.twice($a)", "$u.twice('y')",
    "$u.twice(3)", "$u.twice($n)", "$u.join($a, 1, true)", "$u.join()", "$u.join(\"in$a\")",
    "$u.join($m.k, $missing)", "$u.fail()", "$u.nothing()", "$!u.nothing()", "$u.nope()",
    "$u.twice($u.twice($a))", "${a|'alt'}", "${missing|'alt'}", "$util.escapeJavaScript($a)",
    "$util.urlEncode('a b')", "$cls.x", "$s.startsWith('st')", "$a.b.c", "$n.x",
    "$u.twice(1.5)", "$u.join(null)", "$u.twice(false)",
]  # fmt: skip
TEXTS = ["{", "}", " ", "\n", '"k": ', ",", "#", "$", "\\$a", "# x", "##note\n", "x#", "(", ")"]
CONDITIONS = [
    "$a", "!$a", "$missing", "$none", "$flag", "true", "false", "$a == 'x'", "$a != 'x'",
    "$n > 1", "$n == 2", "$n + 1 == 3", "$n / $zero == 1", "$a && $n", "$a || $missing",
    "$u.twice($a) == 'xx'", "$m.k == $jm.k", "$l.size() > 1", "$n gt 1", "$n == 2 && $a == 'x'",
    "$m.missing == $none", "($n > 1)", "$u.fail()", "$n < $a",
]  # fmt: skip
OTHERS = [
    "#set($v = $n + 1)$v", "#set($m.k = 'w')$m.k", "#foreach($i in $l)[$i]#end", "#stop",
    "#macro(mm $p)<$p>#end#mm('z')", "#define($d)D$a#end$d", "#evaluate('$a')", "## comment\n",
    "#* block *#", "#{if}(true)t#{end}", "#set($v = $missing)$v", "#set($v = $n > 1)$v",
    "#set($m.x.y = $u.twice($a))$m.x.y", "#set($none.k = 1)", "#set($missing.k = 1)",
    "#set($a = \"in$a\")$a", "#set($l = $l.size())$l", "#set($v = $u.fail())",
    "#set($jm.inner.z = $n == 2 && $a == 'x')$jm.inner", "#set( $v = 'spaced' )$v",
    "#macro(ms $p)#set($a = $p)#set($q = $p)#end#ms('r')$a$q",
    "#foreach($i in $l)#set($a = $i)#end$a",
]  # fmt: skip


def _blocks(depth: int = 2) -> st.SearchStrategy[str]:
    leaf = st.sampled_from(REFERENCES) | st.sampled_from(TEXTS) | st.sampled_from(OTHERS)
    if depth == 0:
        return st.lists(leaf, max_size=4).map("".join)
    inner = _blocks(depth - 1)
    condition = st.sampled_from(CONDITIONS)
    if_block = st.builds(
        lambda c, then, elseifs, otherwise: (
            f"#if({c}){then}"
            + "".join(f"#elseif({c2}){b}" for c2, b in elseifs)
            + (f"#else{otherwise}" if otherwise is not None else "")
            + "#end"
        ),
        condition,
        inner,
        st.lists(st.tuples(condition, inner), max_size=2),
        st.none() | inner,
    )
    return st.lists(leaf | if_block, max_size=6).map("".join)


def _outcome(merge: Any) -> tuple[str, str]:
    try:
        return "text", merge()
    except airspeed.TemplateError as error:
        return type(error).__name__, str(error)


def _compiled(template: str) -> Any:
    return lambda: compile_template(template)(_namespace())


def _airspeed(template: str) -> Any:
    return lambda: airspeed.Template(template).merge(_namespace())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_blocks())
def test_compiled_templates_answer_as_airspeed_does(template: str) -> None:
    assert _outcome(_compiled(template)) == _outcome(_airspeed(template))


@pytest.mark.parametrize("template", REFERENCES + CONDITIONS + OTHERS)
def test_each_part_alone_answers_as_airspeed_does(template: str) -> None:
    for text in (template, f"#if({template})yes#else no#end"):
        assert _outcome(_compiled(text)) == _outcome(_airspeed(text))


def test_an_error_names_the_reference_that_failed_as_airspeed_does() -> None:
    kind, message = _outcome(_compiled("ok $u.fail() after"))
    assert kind == "TemplateExecutionError"
    assert "$u.fail()" in message and "failed on purpose" in message
