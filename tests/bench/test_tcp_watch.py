"""The connection watch reads the kernel's established sockets through sock_diag."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from bench.tcp_watch import ConnectionWatch, established_client_ports


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


def test_an_open_connection_is_listed_by_its_client_port_until_it_closes(listening):
    port = listening.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listening.accept()
    client_port = client.getsockname()[1]

    assert client_port in established_client_ports(port)

    client.close()
    accepted.close()
    assert client_port not in established_client_ports(port)


def test_the_watch_gives_the_moment_a_new_connection_opens_and_ignores_old_ones(listening):
    port = listening.getsockname()[1]
    old = socket.create_connection(("127.0.0.1", port))
    watch = ConnectionWatch(port)
    try:
        watch.arm()
        before = time.monotonic()
        new = socket.create_connection(("127.0.0.1", port))
        seen = watch.wait()
        after = time.monotonic()
    finally:
        watch.close()
    old.close()
    new.close()

    assert seen is not None
    assert before <= seen <= after
