"""Back-channel logout delivery and SSRF: resolve once, check every address, connect to the checked
one (no DNS-rebinding gap), never follow redirects."""
import ipaddress
import socket

import pytest

from idp.platform import outbound
from protocols.oidc.backchannel import Sender


class FakeDns:
    """getaddrinfo answering host names from `answers` in turn (the last one repeats) and counting
    those look-ups; an address literal resolves to itself, as with the real resolver."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), 0

    def __call__(self, host, port, *args, **kwargs):
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            self.calls += 1
            addresses = self.answers[min(self.calls, len(self.answers)) - 1]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0))
                for a in addresses]


def _url_for(receiver, host):
    return receiver.url.replace("127.0.0.1", host)


def test_connection_goes_to_the_checked_address_even_if_dns_changes(monkeypatch, logout_receiver):
    # First answer (checked) is the receiver; a rebinding answer afterwards would point elsewhere.
    dns = FakeDns(["127.0.0.1"], ["198.51.100.7"])
    monkeypatch.setattr(outbound.socket, "getaddrinfo", dns)
    url = _url_for(logout_receiver, "rp.rebind.test")
    assert Sender(allow_private=True, delays=()).deliver(url, "the-token") is True
    assert dns.calls == 1
    assert logout_receiver.received == ["the-token"]
    assert logout_receiver.hosts == [f"rp.rebind.test:{logout_receiver.server.server_address[1]}"]


@pytest.mark.parametrize("addresses", [
    ["203.0.113.9", "10.0.0.5"],  # one private address among public ones is enough to refuse
    ["127.0.0.1"], ["169.254.169.254"], ["::1"], ["::ffff:127.0.0.1"], ["fe80::1%eth0"], ["192.168.1.20"],
])
def test_private_addresses_are_refused_without_connecting(monkeypatch, addresses):
    monkeypatch.setattr(outbound.socket, "getaddrinfo", FakeDns(addresses))

    def no_connection(*args, **kwargs):
        raise AssertionError("must not connect")

    monkeypatch.setattr(outbound.socket, "create_connection", no_connection)
    assert Sender(allow_private=False, delays=()).deliver("https://rp.example.test/bc", "t") is False


def test_unresolvable_host_and_other_schemes_are_refused(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror("no such host")

    monkeypatch.setattr(outbound.socket, "getaddrinfo", fail)
    sender = Sender(allow_private=True, delays=())
    assert sender.deliver("https://nowhere.invalid/bc", "t") is False
    assert sender.deliver("file:///etc/passwd", "t") is False


def test_redirects_are_never_followed(logout_receiver):
    from tests.protocols.oidc.conftest import LogoutReceiver
    other = LogoutReceiver()
    try:
        logout_receiver.statuses = [307]
        logout_receiver.location = other.url
        assert Sender(allow_private=True, delays=()).deliver(logout_receiver.url, "t") is False
        assert len(logout_receiver.received) == 1
        assert other.received == []
    finally:
        other.close()


def test_failed_attempts_are_retried(logout_receiver):
    logout_receiver.statuses = [500, 503]
    assert Sender(allow_private=True, delays=(0, 0)).deliver(logout_receiver.url, "t") is True
    assert logout_receiver.received == ["t", "t", "t"]
