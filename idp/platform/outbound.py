"""Outgoing HTTP(S) requests to URLs an admin or a client registered, guarded against SSRF.

Used by back-channel logout (protocols.oidc.backchannel) and the SP metadata fetch
(idp.saml.metadata_fetch). The host is resolved once, every address it resolves to must be public
unless private targets are allowed (`private_targets_allowed`: by default only when the IdP itself runs
on loopback, i.e. local development and tests), and the connection goes to the address checked
here, so a second DNS answer cannot point it elsewhere (DNS rebinding). Redirects are never
followed (a 3xx is an answer like any other); the whole exchange has one deadline and the body a
size limit.
"""
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from idp.platform.config import is_loopback_host, parse_flag

CHUNK = 64 * 1024


class OutboundError(Exception):
    """A request that did not get an answer; the message names the host, never the whole URL."""


class Refused(OutboundError):
    """The target is not one we send to (nothing was sent)."""


class InvalidTarget(Refused):
    """Not an http(s) URL with a host and a valid port."""


class Unresolvable(Refused):
    """The host name does not resolve."""


class PrivateAddress(Refused):
    """The host resolves to a loopback, private, link-local or otherwise non-public address."""


class Unreachable(OutboundError):
    """Connection refused or reset, TLS failure, or not an HTTP answer."""


class TimedOut(OutboundError):
    """No complete answer before the deadline."""


class TooLarge(OutboundError):
    """The body is longer than the limit."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: object  # http.client.HTTPMessage
    body: bytes


def private_targets_allowed(config, setting=None):
    """Whether requests may go to loopback/private addresses. `setting` names a configuration value
    (`auto`, or a flag); without one, or when it says `auto`: only when the IdP runs on loopback."""
    value = str(config.get(setting, "auto") if setting else "auto").strip().lower()
    if value == "auto":
        return is_loopback_host(urlsplit(config["IDP_BASE_URL"]).hostname)
    return parse_flag(setting, value)


def checked_address(host, port, allow_private):
    """The address to connect to: every address `host` resolves to must be public (unless private targets
    are allowed); raises Unresolvable or PrivateAddress."""
    if not host:
        raise InvalidTarget("no host")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    except (socket.gaierror, UnicodeError, ValueError, OSError) as exc:
        raise Unresolvable(f"{host} does not resolve") from exc
    if not addresses:
        raise Unresolvable(f"{host} does not resolve")
    if not (allow_private or all(a.is_global for a in addresses)):
        raise PrivateAddress(f"{host} resolves to a non-public address")
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a pre-checked address; the Host header still names the URL's host."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a pre-checked address; SNI and certificate verification use the URL's host."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def target_of(url):
    """(scheme, host, port, path with query) of an http(s) URL; raises InvalidTarget."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidTarget("not a URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidTarget("not an http(s) URL with a host")
    return parts.scheme, parts.hostname, port, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def request(method, url, *, allow_private, timeout, max_bytes=None, body=None, headers=None):
    """Send one request and return its Reply (any status: redirects are not followed). `timeout` is the
    deadline of the whole exchange in seconds; the body is read up to `max_bytes` (None: not read)."""
    scheme, host, port, path = target_of(url)
    address = checked_address(host, port, allow_private)
    deadline = time.monotonic() + timeout
    cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = cls(host, port, address, timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        connection.sock.settimeout(_remaining(deadline))  # each read waits at most what is left now
        response = connection.getresponse()
        data = b"" if max_bytes is None else _read_body(response, max_bytes, deadline)
        return Reply(response.status, response.headers, data)
    except TimeoutError as exc:
        raise TimedOut(f"{host}: no answer within {timeout} s") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise Unreachable(f"{host}: {type(exc).__name__}") from exc
    finally:
        connection.close()


def _remaining(deadline):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline passed")
    return remaining


def _read_body(response, max_bytes, deadline):
    """The body, checked against the deadline between reads (so a slow trickle ends within about twice
    the timeout at worst: the last read may wait what was left when the answer began)."""
    length = response.getheader("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise TooLarge(f"Content-Length {length} over {max_bytes}")
    chunks, size = [], 0
    while True:
        _remaining(deadline)
        chunk = response.read(min(CHUNK, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"body over {max_bytes} bytes")
