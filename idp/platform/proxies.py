"""Trusted reverse proxies (IDP_TRUSTED_PROXIES): where the client address and scheme come from.

Behind a TLS-terminating proxy every request arrives from the proxy's address over plain http; the
proxy says who the client was (`X-Forwarded-For`) and how it came (`X-Forwarded-Proto`). Those headers
are believed only from a proxy the operator names, since anyone can send them:

- empty or `0` (the default): no proxy is trusted; `REMOTE_ADDR` and the socket's scheme are used.
- a number N of hops (`1` for one nginx in front): werkzeug's ProxyFix with x_for=N, x_proto=N (the
  N-th value from the right of each header, the one the first proxy wrote). Every peer is believed, so
  this is for an app nothing reaches but through the proxies (on loopback or a Unix socket).
- comma-separated addresses and networks (`10.0.0.5, 192.0.2.0/24, ::1`): only when `REMOTE_ADDR` is one
  of them, `X-Forwarded-For` is walked from the right, skipping trusted addresses, and the first
  untrusted one is the client (the "rightmost untrusted" rule: what lies left of it, the client could
  have written). `X-Forwarded-Proto` is then read at the same depth.

Whatever the setting, the app below never sees `X-Forwarded-Proto` (flask-talisman's HSTS reads it
unverified): the scheme reaches it as `wsgi.url_scheme` or not at all. `X-Forwarded-Host`, `-Port` and
`-Prefix` are never applied: every external URL is built from IDP_BASE_URL. `environ["idp.proxied"]`
is True when the request came through a trusted proxy (its forwarded headers are believed).

A malformed value stops the app at start-up (ConfigError naming the setting): `create_app` parses it
first (`parse_trusted_proxies`) and wraps the finished app last (`wrap`), outside everything else.
"""
import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

from idp.platform.config import ConfigError

SETTING = "IDP_TRUSTED_PROXIES"
PROXIED = "idp.proxied"
MAX_HOPS = 32
SCHEMES = ("http", "https")


def parse_trusted_proxies(value):
    """The setting as a hop count (int, 0 for none) or a tuple of ip_network; ConfigError if malformed."""
    if isinstance(value, bool):
        raise ConfigError(f"{SETTING} must be a number of hops or addresses/CIDRs, got {value!r}")
    text = "" if value is None else str(value).strip()
    if text.isdigit():
        hops = int(text)
        if hops > MAX_HOPS:
            raise ConfigError(f"{SETTING}: {hops} hops is more than {MAX_HOPS}; give the number of proxies "
                              "in front of the app (usually 1)")
        return hops
    if not text:
        return 0
    networks = []
    for entry in text.split(","):
        entry = entry.strip()
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError as exc:
            raise ConfigError(f"{SETTING}: {entry!r} is not an address or network ({exc}); use a number of "
                              "hops (e.g. 1) or comma-separated addresses/CIDRs (e.g. 10.0.0.5, 192.0.2.0/24)"
                              ) from None
    return tuple(networks)


def wrap(wsgi_app, trusted):
    """`wsgi_app` behind the proxies `trusted` names (what `parse_trusted_proxies` returned)."""
    inner = _WithoutForwardedProto(wsgi_app)
    if isinstance(trusted, int):
        if not trusted:
            return _Flagged(inner, False)
        return _Flagged(ProxyFix(inner, x_for=trusted, x_proto=trusted, x_host=0, x_port=0, x_prefix=0), True)
    return TrustedAddresses(inner, trusted)


def _address(text):
    """An ip_address from a header entry or REMOTE_ADDR (IPv4-mapped IPv6 as IPv4), or None."""
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class TrustedAddresses:
    """Forwarded headers believed only from the listed proxies (the rightmost-untrusted rule)."""

    def __init__(self, app, networks):
        self.app = app
        self.networks = networks

    def trusts(self, address):
        return address is not None and any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        environ[PROXIED] = False
        if self.trusts(_address(environ.get("REMOTE_ADDR"))):
            environ[PROXIED] = True
            client, depth = self.client(environ.get("HTTP_X_FORWARDED_FOR", ""))
            if client is not None:
                environ["REMOTE_ADDR"] = str(client)
            scheme = forwarded_scheme(environ.get("HTTP_X_FORWARDED_PROTO", ""), depth)
            if scheme:
                environ["wsgi.url_scheme"] = scheme
        return self.app(environ, start_response)

    def client(self, forwarded_for):
        """(client address or None, how many trusted proxies handled the request) from X-Forwarded-For.

        Walks from the right past trusted addresses; the first untrusted one is the client. An entry
        that is not an address ends the walk: the client is then the nearest trusted hop seen.
        """
        client, depth = None, 1
        for entry in reversed([part for part in forwarded_for.split(",") if part.strip()]):
            address = _address(entry)
            if address is None:
                break
            client = address
            if not self.trusts(address):
                break
            depth += 1
        return client, depth


def forwarded_scheme(forwarded_proto, depth):
    """The X-Forwarded-Proto value written `depth` hops from the right (the leftmost when the trusted
    proxies replaced it rather than appended), if it is http or https; else None."""
    values = [part.strip().lower() for part in forwarded_proto.split(",") if part.strip()]
    if not values:
        return None
    value = values[-min(depth, len(values))]
    return value if value in SCHEMES else None


class _WithoutForwardedProto:
    """The app without the raw X-Forwarded-Proto header: the scheme is `wsgi.url_scheme` alone."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.app(environ, start_response)


class _Flagged:
    """Marks whether the request came through a trusted proxy (`environ["idp.proxied"]`)."""

    def __init__(self, app, proxied):
        self.app = app
        self.proxied = proxied

    def __call__(self, environ, start_response):
        environ[PROXIED] = self.proxied
        return self.app(environ, start_response)
