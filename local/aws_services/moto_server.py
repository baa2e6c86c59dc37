"""The stack's AWS services on loopback: moto's server, with the declared resources made in it.

moto (:mod:`local.aws_services.moto_process`) runs as its own process group so that it
outlives a crash (``kill -9``) of ``ackflow up``: the next ``ackflow up`` adopts it, and the
records already delivered to its queues are still there. A clean shutdown stops it.

``moto.pid`` records its pid and port. A pid outlives its process and may be reused by
another program, so nothing is adopted or signalled before its command line shows it is
moto's server on that port, leading its own process group.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local.cloud.capture import Capture
from local.cloud.fake_cloud import ACCOUNT_ID, RecordedResource

__all__ = ["AwsServices", "NotOurProcess", "PortBusy", "local_credentials", "port_is_free"]

STARTUP_SECONDS = 30
MOTO_MODULE = "local.aws_services.moto_process"
"""moto's own server, with a fix for speed (see that module)."""


class PortBusy(Exception):
    """A port ackflow needs is taken by another program."""


class NotOurProcess(Exception):
    """``moto.pid`` names a live process that is not the AWS services ackflow started."""


def local_credentials(region: str) -> dict[str, str]:
    """Environment for any AWS SDK talking to the local services (moto accepts any keys)."""
    return {
        "AWS_ACCESS_KEY_ID": "ackflow-local",
        "AWS_SECRET_ACCESS_KEY": "ackflow-local",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``127.0.0.1:<port>`` (as servers do, with
    SO_REUSEADDR, so connections of a previous run lingering in TIME_WAIT don't count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class AwsServices:
    """moto on ``127.0.0.1:<port>``, its pid kept in ``<state_dir>/moto.pid``."""

    state_dir: Path
    port: int
    region: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    """Queue ARN → the queue's URL in moto."""
    local_urls: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def _pid_file(self) -> Path:
        return self.state_dir / "moto.pid"

    def start(self) -> bool:
        """Start moto, or adopt the one a crashed run left; True when adopted.

        A leftover moto on another port (the crashed run had another ``--port-base``) is
        stopped first; a pid file naming anything else is left alone and overwritten.
        """
        recorded = self._recorded()
        if recorded is not None:
            pid, port = recorded
            if port in (self.port, None) and _is_our_moto(pid, self.port) and self.healthy():
                return True
            if _is_our_moto(pid, port):
                _stop_group(pid)
        if not port_is_free(self.port):
            raise PortBusy(
                f"port {self.port} (AWS services) is in use by another program; "
                "pick other ports with --port-base"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = (self.state_dir / "moto.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", MOTO_MODULE, "-H", "127.0.0.1", "-p", str(self.port)],
            env={**os.environ, "MOTO_ACCOUNT_ID": ACCOUNT_ID},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            # A process group of its own (Ctrl-C reaches only the runtime), in the runtime's
            # session: where Linux has autogroups, the scheduler weighs a session as one, and
            # moto's share of the cores is part of the drain's, not a share beside the front's.
            process_group=0,
        )
        self._pid_file.write_text(json.dumps({"pid": process.pid, "port": self.port}))
        _wait_until(lambda: self.healthy() or process.poll() is not None, STARTUP_SECONDS)
        if not self.healthy():
            raise RuntimeError(f"moto did not start; see {self.state_dir / 'moto.log'}")
        return False

    def stop(self) -> None:
        """Stop the moto ``moto.pid`` names, once it is shown to be ours.

        Raises :class:`NotOurProcess`, signalling nothing, when the pid belongs to another
        program (the pid file is stale and its pid reused).
        """
        recorded = self._recorded()
        # No command line: the process is gone, or a zombie whose parent has not reaped it.
        if recorded is not None and (command := _command_line(recorded[0])) is not None:
            pid, port = recorded
            if not _is_our_moto(pid, port):
                raise NotOurProcess(
                    f"{self._pid_file} names pid {pid}, which is not ackflow's AWS services "
                    f"(moto on port {port or '?'}) but `{' '.join(command):.120}`: left it "
                    f"running. If ackflow's AWS services are gone, remove {self._pid_file}"
                )
            _stop_group(pid)
        self._pid_file.unlink(missing_ok=True)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id="ackflow-local",
            aws_secret_access_key="ackflow-local",
        )

    def provision(self, capture: Capture, local_urls: Mapping[str, str] | None = None) -> None:
        """Create every declared queue, topic, bus, table, bucket, parameter and secret.

        ``local_urls`` maps the cloud URLs of services served locally (an AppSync API's
        GraphQL URL) to their local ones: a parameter holding one holds the other here.
        """
        self.local_urls = dict(local_urls or {})
        for resource in capture.resources:
            create = _PROVISIONERS.get(resource.type)
            if create is not None:
                create(self, resource)

    def healthy(self) -> bool:
        """Whether moto answers HTTP on its port."""
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/reset-auth", timeout=1):
                pass
        except OSError as error:
            # moto answers that URL with an HTTP error: any HTTP answer means it is up.
            return hasattr(error, "code")
        return True

    def _recorded(self) -> tuple[int, int | None] | None:
        """(pid, port) from ``moto.pid``; the port is None in a file from an older version."""
        try:
            recorded = json.loads(self._pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if isinstance(recorded, int):
            return recorded, None
        if isinstance(recorded, dict) and isinstance(recorded.get("pid"), int):
            port = recorded.get("port")
            return recorded["pid"], port if isinstance(port, int) else None
        return None


def _queue(services: AwsServices, resource: RecordedResource) -> None:
    attributes = {}
    if "messageRetentionSeconds" in resource.inputs:
        attributes["MessageRetentionPeriod"] = str(int(resource.inputs["messageRetentionSeconds"]))
    url = services.client("sqs").create_queue(
        QueueName=resource.outputs["name"], Attributes=attributes
    )["QueueUrl"]
    services.queue_urls[resource.outputs["arn"]] = url


def _topic(services: AwsServices, resource: RecordedResource) -> None:
    services.client("sns").create_topic(Name=resource.outputs["name"])


def _bus(services: AwsServices, resource: RecordedResource) -> None:
    events = services.client("events")
    if resource.outputs["name"] not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}:
        events.create_event_bus(Name=resource.outputs["name"])


def _table(services: AwsServices, resource: RecordedResource) -> None:
    inputs = resource.inputs
    dynamodb = services.client("dynamodb")
    if resource.outputs["name"] in dynamodb.list_tables()["TableNames"]:
        return
    keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    dynamodb.create_table(
        TableName=resource.outputs["name"],
        KeySchema=keys,
        AttributeDefinitions=[
            {"AttributeName": a["name"], "AttributeType": a["type"]}
            for a in inputs.get("attributes", [])
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _bucket(services: AwsServices, resource: RecordedResource) -> None:
    s3 = services.client("s3")
    name = resource.outputs["bucket"]
    if services.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": services.region}
        )


def _parameter(services: AwsServices, resource: RecordedResource) -> None:
    value = resource.inputs.get("value")
    if isinstance(value, str):
        services.client("ssm").put_parameter(
            Name=resource.outputs["name"],
            Value=services.local_urls.get(value, value),
            Type=resource.inputs.get("type", "String"),
            Overwrite=True,
        )


_PROVISIONERS: dict[str, Callable[[AwsServices, RecordedResource], None]] = {
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": _topic,
    "aws:cloudwatch/eventBus:EventBus": _bus,
    "aws:dynamodb/table:Table": _table,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:ssm/parameter:Parameter": _parameter,
}


def _is_our_moto(pid: int, port: int | None) -> bool:
    """Whether ``pid`` leads its own process group running ``-m <MOTO_MODULE> ... -p <port>``
    (any port when the pid file did not record one)."""
    command = _command_line(pid)
    if command is None or not _has_pair(command, "-m", MOTO_MODULE):
        return False
    if port is not None and not _has_pair(command, "-p", str(port)):
        return False
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _command_line(pid: int) -> list[str] | None:
    """The process's argv: from /proc where there is one (Linux), else from ``ps``."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None  # a Linux /proc without this pid: the process is gone
    except OSError:
        return None
    else:
        return raw.decode(errors="replace").split("\0")[:-1] or None
    result = subprocess.run(
        ["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return result.stdout.split() if result.returncode == 0 and result.stdout.strip() else None


def _has_pair(command: list[str], flag: str, value: str) -> bool:
    return (flag, value) in itertools.pairwise(command)


def _stop_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)


def _wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
