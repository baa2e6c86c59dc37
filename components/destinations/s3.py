"""An S3 bucket as failure destination (AWS offers S3 for failures only)."""

from __future__ import annotations

import pulumi

from components.destinations.base import Destination, DestinationBinding, DestinationKind


class S3Destination(Destination):
    """Write failure records as objects under ``aws/lambda/async/<function>/``."""

    supports = frozenset({DestinationKind.FAILURE})

    def __init__(self, bucket_arn: pulumi.Input[str]) -> None:
        self.bucket_arn = bucket_arn

    def _bind(self, scope: pulumi.Resource, name: str, kind: DestinationKind) -> DestinationBinding:
        arn = pulumi.Output.from_input(self.bucket_arn)
        # AWS needs both actions: ListBucket on the bucket, PutObject on its objects.
        statement = {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:ListBucket"],
            "Resource": [arn, arn.apply(lambda bucket: f"{bucket}/*")],
        }
        return DestinationBinding(arn=arn, statement=statement)
