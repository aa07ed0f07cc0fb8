"""`free_port()` hands out a port held in TIME_WAIT: no other process gets it from a port-0 bind (parallel test
workers, another demo) while a server binding it by number with SO_REUSEADDR, as every server we start does,
still can."""

from __future__ import annotations

import errno
import socket

import pytest

from generator.simulate.prometheus import free_port


def test_the_port_is_held_against_plain_binds_but_a_reusing_server_takes_it() -> None:
    port = free_port()
    with socket.socket() as plain, pytest.raises(OSError) as taken:
        plain.bind(("127.0.0.1", port))  # what the kernel checks before handing a port to a port-0 bind
    assert taken.value.errno == errno.EADDRINUSE
    with socket.socket() as nobody, pytest.raises(ConnectionRefusedError):
        nobody.connect(("127.0.0.1", port))  # nothing listens there until the server starts
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(1)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"x")
                assert accepted.recv(1) == b"x"

