"""AppSync API keys expire within AppSync's window: 1 to 365 days ahead.

``expires`` on ``aws:appsync/apiKey:ApiKey`` is an RFC3339 time. AppSync answers a key outside
the window with ``ApiKeyValidityOutOfBoundsException`` ("The API key expiration must be set to a
value between 1 and 365 days from creation ... or from update", botocore's appsync model); a key
without ``expires`` gets AppSync's default of 7 days and passes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policy.props import resource_label

__all__ = ["API_KEY", "EXPIRY_WINDOW", "expiry_problem", "validate"]

API_KEY = "aws:appsync/apiKey:ApiKey"
EXPIRY_WINDOW = (timedelta(days=1), timedelta(days=365))


def expiry_problem(expires: object, now: datetime) -> str | None:
    """Why ``expires`` is outside AppSync's window seen from ``now``, or None."""
    if expires is None:
        return None
    try:
        moment = datetime.fromisoformat(str(expires))
    except ValueError:
        return f"expires {expires!r} is not an RFC3339 time"
    if moment.tzinfo is None:
        return f"expires {expires!r} has no UTC offset (RFC3339 needs one, e.g. Z)"
    ahead = moment - now
    earliest, latest = EXPIRY_WINDOW
    if ahead > latest:
        return f"expires {expires} is {ahead.days} days ahead; AppSync allows at most 365"
    if ahead < earliest:
        return f"expires {expires} is less than a day ahead; AppSync needs at least 1 day"
    return None


def validate(
    args: ResourceValidationArgs,
    report_violation: ReportViolation,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    if args.resource_type != API_KEY:
        return
    problem = expiry_problem(args.props.get("expires"), clock())
    if problem:
        report_violation(f"{resource_label(args.resource_type, args.name)}: {problem}")
