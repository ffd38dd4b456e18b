"""`GET /metrics`: Prometheus text (idp.platform.metrics), off the public surface.

Answered only to `Authorization: Bearer <IDP_METRICS_TOKEN>` (compared in constant time) or, when no
token is set, to a client on a loopback address (`request.remote_addr`, after the trusted-proxy fix-up
of idp.platform.proxies) that came straight, not through a proxy (no `X-Forwarded-For`, `Forwarded` or
`X-Real-IP`: a proxy on the same host, even untrusted, would otherwise hand it to anyone). Any other
request gets the app's ordinary 404 page, as for a path that does not exist. No session, no cookie.
"""
import hmac
import ipaddress
import os

from flask import Blueprint, abort, current_app, request

from idp.platform import metrics
from idp.platform.extensions import csrf
from idp.web.sso import mark_stateless

bp = Blueprint("metrics", __name__)
TOKEN = "IDP_METRICS_TOKEN"
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def init_app(app):
    # read here until idp.platform.config's load_config names it
    app.config[TOKEN] = app.config.get(TOKEN, os.environ.get(TOKEN)) or ""
    app.register_blueprint(bp)
    csrf.exempt(bp)
    mark_stateless(app, "metrics.scrape")
    metrics.wire_outbox()


@bp.get("/metrics", endpoint="scrape")
def scrape():
    if not may_scrape(current_app.config[TOKEN]):
        abort(404)
    body, content_type = metrics.exposition()
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}


def may_scrape(token):
    if token:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())
    return _is_loopback(request.remote_addr) and not any(name in request.headers for name in PROXY_HEADERS)


def _is_loopback(address):
    try:
        address = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback
