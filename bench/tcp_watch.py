"""When a new TCP connection to a loopback port is established, as the kernel sees it: its
established sockets dumped through netlink's sock_diag (what ``ss`` reads) about every
millisecond, by a process of its own so that the bench's event loop and GIL do not delay the
reading. Linux only.

The Bedrock stand-in writes its first token a known delay after a request arrives, and a
request arrives right after its connection opens (each boto3 client opens its own). So the
first token's time is the connection's time plus that delay, read from outside every process.
"""

from __future__ import annotations

import multiprocessing
import socket
import struct
import sys
import time
from multiprocessing.connection import Connection

__all__ = ["ConnectionWatch", "established_client_ports"]

# linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_DONE = 3
NLMSG_ERROR = 2
TCP_ESTABLISHED = 1
_HEADER = struct.Struct("=IHHII")  # struct nlmsghdr
_REQUEST = struct.Struct("=BBBBI48x")  # struct inet_diag_req_v2, its inet_diag_sockid zeroed
_PORTS = struct.Struct(">HH")  # inet_diag_msg.id.idiag_sport, idiag_dport (network order)
_PORTS_OFFSET = _HEADER.size + 4  # after family, state, timer, retrans

POLL_SECONDS = 0.001
ARMED_SECONDS = 30.0


def established_client_ports(port: int) -> set[int]:
    """The local ports of the established IPv4 TCP connections to ``port``."""
    request = _REQUEST.pack(socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 1 << TCP_ESTABLISHED)
    header = _HEADER.pack(
        _HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0
    )
    ports: set[int] = set()
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as netlink:
        netlink.send(header + request)
        while True:
            data = netlink.recv(1 << 16)
            offset = 0
            while offset < len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind == NLMSG_DONE:
                    return ports
                if kind == NLMSG_ERROR:
                    raise OSError("sock_diag refused the dump")
                local, remote = _PORTS.unpack_from(data, offset + _PORTS_OFFSET)
                if remote == port:
                    ports.add(local)
                offset += (length + 3) & ~3


def _watch(port: int, commands: Connection) -> None:
    while commands.recv() == "arm":
        known = established_client_ports(port)
        commands.send("armed")
        deadline = time.monotonic() + ARMED_SECONDS
        seen = None
        while seen is None and time.monotonic() < deadline:
            # Timed once the listing is read: a connection it shows was open by then, while a
            # time taken before the listing can precede a connection made during it.
            opened = established_client_ports(port) - known
            if opened:
                seen = time.monotonic()
            else:
                time.sleep(POLL_SECONDS)
        commands.send(seen)


class ConnectionWatch:
    """``arm()``, then cause a connection; ``wait()`` gives its ``time.monotonic()`` (one
    clock for every process on Linux; at most a poll and a listing, about a millisecond,
    after it opened), or None if none came."""

    def __init__(self, port: int) -> None:
        self._commands, theirs = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_watch, args=(port, theirs), daemon=True
        )
        self._process.start()

    @staticmethod
    def available() -> bool:
        return sys.platform == "linux"

    def arm(self) -> None:
        self._commands.send("arm")
        if self._commands.recv() != "armed":  # its snapshot of the open connections is taken
            raise RuntimeError("the connection watch did not arm")

    def wait(self) -> float | None:
        return self._commands.recv()

    def close(self) -> None:
        self._commands.send("stop")
        self._process.join(timeout=5)
