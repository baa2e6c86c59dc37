"""Parsing and validating documents as AppSync reports them, and the limits that bound the
work a document may ask for (depth, resolver count), whatever its shape."""

from __future__ import annotations

import pytest
from graphql import parse

from components.schema import build_appsync_schema
from local.appsync.scalars import install_appsync_scalars
from local.appsync.selections import collect_fields
from local.appsync.validation import DocumentError, parse_document

SDL = """
schema { query: Query }
type Query { square(number: String!): Square  me: Person }
type Square { number: String square: String }
type Person { name: String friend: Person }
"""
SCHEMA = install_appsync_scalars(build_appsync_schema(SDL))
RESOLVED = {("Query", "square"), ("Query", "me"), ("Person", "friend")}


def check(query: str, **limits: int) -> None:
    parse_document(SCHEMA, query, has_resolver=lambda t, f: (t, f) in RESOLVED, **limits)


def refusal(query: str, **limits: int) -> list[str]:
    with pytest.raises(DocumentError) as refused:
        check(query, **limits)
    return [error["message"] for error in refused.value.errors]


def fragment_bomb(levels: int, on: str = "Query", leaf: str = 'square(number: "1") { square }'):
    """``F<n>`` spreads ``F<n-1>`` twice: 2^levels spreads of one field, which GraphQL merges
    into one selection."""
    fragments = [f"fragment F0 on {on} {{ {leaf} }}"] + [
        f"fragment F{n} on {on} {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)
    ]
    return f"{{ ...F{levels} }} " + " ".join(fragments)


def test_errors_of_several_rules_are_all_reported_grouped_by_rule():
    messages = refusal('{ square { square } nope square(number: "1") { square } }')

    assert messages == [
        "Validation error of type FieldUndefined: Field 'nope' in type 'Query' is undefined "
        "@ 'nope'",
        "Validation error of type MissingFieldArgument: Missing field argument number @ 'square'",
        "Validation error of type FieldsConflict: Fields 'square' conflict because they have "
        "differing arguments. Use different aliases on the fields to fetch both if this was "
        "intentional @ 'square'",
    ]


def test_a_flood_of_errors_stops_at_100_and_says_so():
    messages = refusal("{ " + " ".join(f"a{n}: nope" for n in range(500)) + " }")

    assert len(messages) == 101
    assert messages[-1].endswith("error limit reached. Validation aborted")


def test_each_alias_of_a_resolved_field_counts_against_the_resolver_limit():
    aliases = " ".join(f'a{n}: square(number: "1") {{ square }}' for n in range(11))

    check("{ " + aliases + " }", resolver_count_limit=11)
    assert refusal("{ " + aliases + " }", resolver_count_limit=10) == [
        "The query would invoke 11 resolvers, over the limit of 10."
    ]


def test_fields_merged_by_response_name_invoke_their_resolver_once():
    # 4,096 spreads of one field are one selection: one resolver call, as GraphQL executes it.
    check(fragment_bomb(12), resolver_count_limit=1)


@pytest.mark.timeout(60)
def test_a_fragment_bomb_is_checked_without_following_every_spread():
    # 2^40 spreads: a walk that followed each one would never end.
    check(fragment_bomb(40), resolver_count_limit=1, depth_limit=2)
    with pytest.raises(DocumentError):
        check(fragment_bomb(40, leaf="nope"))


def test_depth_counts_nested_fields_through_fragments():
    nested = "{ me { friend { ...Deeper } } } fragment Deeper on Person { friend { name } }"

    check(nested, depth_limit=4)
    assert refusal(nested, depth_limit=3) == [
        "Query depth 4 exceeds the maximum allowed depth of 3."
    ]


def test_collect_fields_merges_by_response_name_spreading_each_fragment_once():
    document = (
        '{ a: square(number: "1") { number } ...F ...F '
        '... on Query { a: square(number: "1") { square } } } '
        'fragment F on Query { b: square(number: "2") { square } }'
    )
    parsed = parse(document)
    operation, fragment = parsed.definitions
    selected = collect_fields([operation.selection_set], {"F": fragment})

    assert list(selected) == ["a", "b"]
    assert len(selected["a"]) == 2 and len(selected["b"]) == 1


def test_fragments_nested_deeper_than_python_recurses_are_refused_not_a_crash():
    chain = " ".join(f"fragment F{n} on Person {{ friend {{ ...F{n + 1} }} }}" for n in range(3000))
    query = f"{{ me {{ ...F0 }} }} {chain} fragment F3000 on Person {{ name }}"

    assert refusal(query, depth_limit=10) == [
        "Validation error of type ValidationError: Validation aborted"
    ]
