"""Ports for local brokers and workers: free, distinct, and outside the range the kernel hands
to outbound connections (one taken from there was seen "in use" when the broker bound it)."""

from __future__ import annotations

import socket

from guardrail.devstack.kafka import HOST, free_ports, port_in_use


def _ephemeral_start() -> int:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
        return int(ports.read().split()[0])


def test_free_ports_are_distinct_unbound_and_below_the_ephemeral_range() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    assert all(1024 <= port < _ephemeral_start() for port in ports)
    assert not any(port_in_use(port) for port in ports)


def test_a_port_something_listens_on_is_never_given() -> None:
    with socket.socket() as listener:
        listener.bind((HOST, free_ports(1)[0]))
        listener.listen()
        taken = listener.getsockname()[1]
        assert port_in_use(taken)
        assert taken not in free_ports(50)
