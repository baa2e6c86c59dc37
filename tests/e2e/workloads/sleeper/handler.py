"""Sleeps ``sleep`` seconds, then invokes ``invoke`` asynchronously with boto3 if asked."""

from __future__ import annotations

import json
import time

import boto3


def handler(event: dict, context: object) -> dict:
    time.sleep(event.get("sleep", 0))
    if "invoke" in event:
        boto3.client("lambda").invoke(
            FunctionName=event["invoke"],
            InvocationType="Event",
            Payload=json.dumps(event["payload"]).encode(),
        )
    return {"ok": True, "n": event.get("n")}
