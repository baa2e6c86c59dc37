"""The fields a selection set selects, merged as GraphQL's CollectFields merges them.

Fields are grouped by response name (the alias, else the name), and each fragment is spread
at most once per collection, as the GraphQL spec's CollectFields does. Walking a document
any other way costs what the document says, not what it selects: ``F1 { ...F0 ...F0 }``,
``F2 { ...F1 ...F1 }`` … forty fragments deep is 2^40 spreads of one field, and a walk that
followed each spread held the runtime's event loop for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

__all__ = ["collect_fields", "subfields"]


def collect_fields(
    selection_sets: Iterable[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> dict[str, list[FieldNode]]:
    """The fields of ``selection_sets`` by response name, in document order.

    Type conditions and ``@skip``/``@include`` are not evaluated: every field that could be
    selected is collected (what the checks on a document's size need).
    """
    collected: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()
    pending = [iter(s.selections) for s in reversed(list(selection_sets)) if s is not None]
    while pending:
        selection = next(pending[-1], None)
        if selection is None:
            pending.pop()
        elif isinstance(selection, FieldNode):
            name = selection.alias.value if selection.alias else selection.name.value
            collected.setdefault(name, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            pending.append(iter(selection.selection_set.selections))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in visited and name in fragments:
                visited.add(name)
                pending.append(iter(fragments[name].selection_set.selections))
    return collected


def subfields(
    nodes: Iterable[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> dict[str, list[FieldNode]]:
    """The merged sub-selection of one response name's field nodes."""
    return collect_fields((node.selection_set for node in nodes), fragments)
