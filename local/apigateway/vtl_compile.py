"""airspeed's templates evaluated faster: the parse tree turned into Python closures, once.

airspeed interprets its tree on every merge: each node is a method call through a generic
error wrapper, each reference a chain of calls with abstract-class ``isinstance`` checks. A
REST request renders two templates, and their evaluation was half the gateway's time in
process, on the event loop that also accepts events and drains them.

Here the nodes that mapping templates are mostly made of become closures that do what
airspeed's own methods do, step for step: text, references (``$a.b``, ``$!a``, ``${a}``,
``$util.f($x, 'y')``), ``#if``/``#elseif``/``#else`` with a condition of one value or one
binary operator, and ``#set`` of such a value. The lookups run in airspeed's order with its
fallbacks (item, then attribute, then its added Java-style methods), and an error is wrapped
at the node airspeed would wrap it at, so its message is the same. Every other node
(``#foreach``, macros, ``#stop``, alternate values, map and list literals, longer
expressions) is evaluated by airspeed itself. ``tests/local/apigateway/test_vtl_compile.py``
checks the two agree on generated templates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import airspeed
from airspeed import (
    ArrayIndex,
    BooleanLiteral,
    Expression,
    FallthroughHashText,
    FloatingPointLiteral,
    FormalReference,
    IfDirective,
    IntegerLiteral,
    LocalNamespace,
    NullLiteral,
    NullLoader,
    SetDirective,
    StoppableStream,
    StringLiteral,
    TemplateExecutionError,
    Text,
    Value,
    ValueList,
    _FunctionDefinition,
)

__all__ = ["compile_template"]

Merge = Callable[[Mapping[str, Any]], str]
Step = Callable[[StoppableStream, LocalNamespace, NullLoader], None]
"""A node's evaluation: writes to the stream."""
Calc = Callable[[Any, NullLoader, Any], Any]
"""A reference's value: ``(current object, loader, top namespace)``, as airspeed's ``calculate``."""
Arg = Callable[[Any, NullLoader], Any]
"""A value's: ``(namespace, loader)``."""

_ADDED_METHODS: dict[type, dict[str, Callable[..., Any]]] = airspeed.__additional_methods__
_ABSENT = object()
_CONSTANTS = (StringLiteral, IntegerLiteral, FloatingPointLiteral, BooleanLiteral, NullLiteral)
"""Literals whose value is fixed at parse time, matched by exact type: the subclass
``InterpolatedStringLiteral`` (``"…$x…"``) is rendered at each use, by airspeed."""


def compile_template(text: str) -> Merge:
    """Parse ``text`` (raising airspeed's ``TemplateSyntaxError``) and return its merge:
    ``merge(namespace)`` is ``airspeed.Template(text).merge(namespace)``, faster."""
    template = airspeed.Template(text)
    template.ensure_compiled()
    body = template.root_element
    evaluate = _evaluated_at(body, _block(body.block))

    def merge(namespace: Mapping[str, Any]) -> str:
        stream = StoppableStream()
        if not isinstance(namespace, LocalNamespace):
            namespace = LocalNamespace(namespace)
        evaluate(stream, namespace, NullLoader())
        return stream.getvalue()

    return merge


def _block(block: Any) -> Step:
    steps = [_step(child) for child in block.children]

    def run(stream: StoppableStream, namespace: LocalNamespace, loader: NullLoader) -> None:
        for step in steps:
            step(stream, namespace, loader)

    return steps[0] if len(steps) == 1 else run


def _step(node: Any) -> Step:
    kind = type(node)
    if kind is Text or kind is FallthroughHashText:
        text = node.text
        return lambda stream, namespace, loader: stream.write(text)
    if kind is FormalReference and node.alternate is None and node.expression is not None:
        return _reference(node)
    if kind is IfDirective:
        return _if(node)
    if kind is SetDirective:
        return _set(node)
    return node.evaluate  # airspeed's own


def _reference(node: FormalReference) -> Step:
    value_of = _variable(node.expression)
    silent, text = node.silent, node.my_text()

    def run(stream: StoppableStream, namespace: LocalNamespace, loader: NullLoader) -> None:
        value = value_of(namespace, loader, namespace)
        if value is None:
            value = "" if silent else text
        stream.write(str(value))

    return _evaluated_at(node, run)


def _if(node: IfDirective) -> Step:
    condition = _expression(node.condition.calculate)
    then = _block(node.block)
    elseifs = [(_expression(branch.calculate), _block(branch.block)) for branch in node.elseifs]
    otherwise = _block(node.else_block.block) if hasattr(node.else_block, "block") else None

    def run(stream: StoppableStream, namespace: LocalNamespace, loader: NullLoader) -> None:
        if condition(namespace, loader):
            then(stream, namespace, loader)
            return
        for test, branch in elseifs:
            if test(namespace, loader):
                branch(stream, namespace, loader)
                return
        if otherwise is not None:
            otherwise(stream, namespace, loader)

    return _evaluated_at(node, run)


def _set(node: SetDirective) -> Step:
    value_of = _expression(node.value.calculate)
    *path, last = node.terms

    def run(stream: StoppableStream, namespace: LocalNamespace, loader: NullLoader) -> None:
        value = value_of(namespace, loader)
        if not path:
            namespace.set_inherited(last, value)
            return
        current: Any = namespace
        for term in path:
            current = current[term]
        current[last] = value

    return _evaluated_at(node, run)


def _evaluated_at(node: Any, run: Step) -> Step:
    """``run`` with its errors wrapped at ``node``, as airspeed's ``_Element.evaluate`` wraps
    them (an error already wrapped, at a node inside, passes as it is)."""

    def evaluate(stream: StoppableStream, namespace: LocalNamespace, loader: NullLoader) -> None:
        try:
            run(stream, namespace, loader)
        except TemplateExecutionError:
            raise
        except Exception as error:
            raise TemplateExecutionError(node) from error

    return evaluate


def _expression(calculate: Arg) -> Arg:
    """An expression (``Expression.calculate``: an ``#if``'s condition, a ``#set``'s value):
    one value, or two and an operator; longer expressions (precedence) stay airspeed's."""
    expression = getattr(calculate, "__self__", None)  # a Condition keeps only the bound method
    if type(expression) is not Expression:
        return calculate
    terms = expression.expression
    if len(terms) == 1:
        return _argument(terms[0])
    if len(terms) != 3:
        return calculate
    left, operator, right = _argument(terms[0]), terms[1].apply_to, _argument(terms[2])

    def binary(namespace: Any, loader: NullLoader) -> Any:
        value2 = right(namespace, loader)  # airspeed calculates the right operand first
        return operator(left(namespace, loader), value2)

    return binary


def _variable(node: Any) -> Calc:
    """``VariableExpression.calculate``: a name or call, then what follows a dot."""
    part = _name_or_call(node.part)
    if node.subexpression is None:
        return part
    rest = _subexpression(node.subexpression)
    return lambda current, loader, top: rest(part(current, loader, top), loader, top)


def _subexpression(node: Any) -> Calc:
    if isinstance(node.expression, ArrayIndex):
        return node.calculate
    return _variable(node.expression)


def _name_or_call(node: Any) -> Calc:
    """``NameOrCall.calculate``; an indexed one (``$a.b[0]``) stays airspeed's."""
    if node.index is not None:
        return node.calculate
    name = node.name
    arguments = _arguments(node.parameters) if node.parameters is not None else None

    def calculate(current: Any, loader: NullLoader, top: Any) -> Any:
        result = None
        cls = current.__class__
        # try/except, not contextlib.suppress: this runs for every step of every reference
        if cls is LocalNamespace:  # its __getitem__, without raising for the parent's names
            result = dict.get(current, name, _ABSENT)
            if result is _ABSENT:
                try:
                    result = current.parent[name]
                except (KeyError, TypeError, AttributeError):
                    result = None
        elif _subscriptable(cls):
            try:  # noqa: SIM105
                result = current[name]
            except (KeyError, TypeError, AttributeError):
                pass
        if result is None and not isinstance(current, LocalNamespace):
            try:  # noqa: SIM105
                result = getattr(current, name)
            except AttributeError:
                pass
        if result is None:
            methods = _ADDED_METHODS.get(cls)
            if methods and name in methods:
                method = methods[name]
                result = lambda *args: method(current, *args)  # noqa: E731 (airspeed's own)
        if result is None:
            return None
        if _is_function_definition(result.__class__):  # a macro or #define
            values = arguments(top, loader) if arguments is not None else []
            stream = StoppableStream()
            result.execute_function(stream, top, values, loader)
            return stream.getvalue()
        if arguments is not None:
            return result(*arguments(top, loader))
        return result

    return calculate


def _arguments(parameters: Any) -> Callable[[Any, NullLoader], list[Any]]:
    """``ParameterList.calculate``: each value of the list, in order."""
    values = parameters.values
    if not isinstance(values, ValueList):  # airspeed's _EmptyValues: no arguments
        return lambda namespace, loader: []
    each = [_argument(value) for value in values.values]
    return lambda namespace, loader: [value(namespace, loader) for value in each]


def _argument(value: Any) -> Arg:
    """``Value.calculate``: a reference or a literal; anything else is airspeed's."""
    if type(value) is not Value:
        return value.calculate
    expression = value.expression
    kind = type(expression)
    if kind is FormalReference and expression.expression is not None:
        variable = _variable(expression.expression)
        return lambda namespace, loader: variable(namespace, loader, namespace)
    if kind in _CONSTANTS:
        constant = expression.calculate(None, None)
        return lambda namespace, loader: constant
    return value.calculate


@functools.cache
def _subscriptable(cls: type) -> bool:
    """Whether ``obj[name]`` can be anything but a TypeError for an instance of ``cls``."""
    return hasattr(cls, "__getitem__") or issubclass(cls, type)


@functools.cache
def _is_function_definition(cls: type) -> bool:
    return issubclass(cls, _FunctionDefinition)
