"""The destination interface: a target that binds itself to a worker."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pulumi


class DestinationKind(StrEnum):
    """The slot a destination fills on a worker."""

    SUCCESS = "success"
    FAILURE = "failure"
    DEAD_LETTER = "dlq"


@dataclass(frozen=True)
class DestinationBinding:
    """What binding a destination gives the worker."""

    arn: pulumi.Output[str]
    """Goes into the invoke config (or the function's dead-letter config)."""
    statement: dict[str, Any]
    """The one IAM statement the worker's role needs on exactly that ARN."""
    queue_url: pulumi.Output[str] | None = None
    """Set when the destination is an SQS queue."""


class Destination(ABC):
    """A target for a worker's async invocation records.

    Subclasses only store their target in ``__init__`` and do all wiring in :meth:`bind`.
    """

    supports: ClassVar[frozenset[DestinationKind]] = frozenset(
        {DestinationKind.SUCCESS, DestinationKind.FAILURE}
    )

    def bind(self, scope: pulumi.Resource, name: str, kind: DestinationKind) -> DestinationBinding:
        """Bind to the worker ``scope`` (named ``name``) in the slot ``kind``."""
        if kind not in self.supports:
            allowed = ", ".join(sorted(k.value for k in self.supports))
            raise ValueError(
                f"{type(self).__name__} cannot be a {kind.value} target (only {allowed})"
            )
        return self._bind(scope, name, kind)

    @abstractmethod
    def _bind(
        self, scope: pulumi.Resource, name: str, kind: DestinationKind
    ) -> DestinationBinding: ...
