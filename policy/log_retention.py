"""Every CloudWatch log group has a retention: ``retentionInDays`` set and above 0.

Without one (or with 0, pulumi-aws's "never expire") logs are kept, and billed, forever.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from policy.props import resource_label

__all__ = ["LOG_GROUP", "validate"]

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    days = args.props.get("retentionInDays")
    if not isinstance(days, int | float) or isinstance(days, bool) or days <= 0:
        shown = "is not set" if days is None else f"is {days!r}"
        report_violation(
            f"{resource_label(args.resource_type, args.name)}: retentionInDays {shown}, so its "
            "logs never expire; set a retention (e.g. 14 or 90 days)"
        )
