"""IDP_TRUSTED_PROXIES over HTTP: a forged X-Forwarded-For/-Proto from an untrusted peer is ignored
(login events, the per-IP login limit and HSTS see the socket), a trusted proxy's headers are believed
(hop count; listed addresses with the rightmost-untrusted rule), X-Forwarded-Host never is."""
import pytest
from flask import jsonify, request
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import LoginEvent
from idp.platform.extensions import db

EMAIL = "taro@acme.example.com"
PROXY = "10.0.0.5"  # the reverse proxy, as the app's socket sees it
CLIENT = "203.0.113.7"
FORGED = "198.51.100.66"
HTTPS_BASE = "https://idp.example.com"


@pytest.fixture
def config_overrides(request):
    return {"IDP_RATELIMIT_LOGIN_IP": "2/minute", "IDP_RATELIMIT_LOGIN_ACCOUNT": "50/minute",
            **getattr(request, "param", {})}


@pytest.fixture
def peer(app):
    """GET /_test/peer: what a view sees of the request's origin."""
    def _view():
        return jsonify(ip=request.remote_addr, scheme=request.scheme, host=request.host, url=request.url_root,
                       forwarded_proto=request.headers.get("X-Forwarded-Proto"),
                       proxied=request.environ.get("idp.proxied"))

    app.add_url_rule("/_test/peer", "test_peer", _view)

    def _get(remote_addr, **headers):
        headers = {name.replace("_", "-"): value for name, value in headers.items()}
        return app.test_client().get("/_test/peer", headers=headers,
                                     environ_base={"REMOTE_ADDR": remote_addr}).get_json()
    return _get


def _wrong_password(client, remote_addr, forwarded_for=None):
    environ = {"REMOTE_ADDR": remote_addr}
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    page = client.get("/login", environ_base=environ, headers=headers)
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "email": EMAIL, "password": "wrong-Password-1"},
                       environ_base=environ, headers=headers).status_code


def _login_event_ips(app):
    with app.app_context():
        return db.session.scalars(select(LoginEvent.ip).order_by(LoginEvent.id)).all()


@pytest.fixture
def taro(factory):
    factory.tenant()
    return factory.account(email=EMAIL)


def test_without_the_setting_forged_forwarded_for_is_ignored(app, client, taro):
    """Two forged X-Forwarded-For values from one address share that address's budget (2 per minute)."""
    assert _wrong_password(client, PROXY, FORGED) == 200
    assert _wrong_password(client, PROXY, "192.0.2.99") == 200
    assert _wrong_password(client, PROXY, "192.0.2.100") == 429
    assert set(_login_event_ips(app)) == {PROXY}


@pytest.mark.parametrize("config_overrides", [{"IDP_TRUSTED_PROXIES": "1"}], indirect=True)
def test_one_hop_the_last_forwarded_address_is_the_client(app, client, taro):
    """Each client behind the proxy has its own budget; a value the client put in front is ignored."""
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert _wrong_password(client, PROXY, f"{FORGED}, {ip}") == 200
    assert _wrong_password(client, PROXY, "192.0.2.1") == 200
    assert _wrong_password(client, PROXY, "192.0.2.1") == 429  # its third attempt within the minute
    assert _login_event_ips(app)[:4] == ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1"]
    assert FORGED not in _login_event_ips(app)


@pytest.mark.parametrize("config_overrides", [{"IDP_TRUSTED_PROXIES": "10.0.0.0/24, 192.0.2.1"}], indirect=True)
def test_listed_proxies_are_trusted_only_from_their_addresses(app, client, taro):
    assert _wrong_password(client, PROXY, f"{FORGED}, {CLIENT}, 192.0.2.1") == 200  # client → 192.0.2.1 → PROXY
    assert _wrong_password(client, "198.51.100.1", "192.0.2.50") == 200  # not a listed proxy: header ignored
    assert _login_event_ips(app) == [CLIENT, "198.51.100.1"]


@pytest.mark.parametrize("config_overrides", [{"IDP_TRUSTED_PROXIES": "10.0.0.0/24, ::1"}], indirect=True)
def test_listed_proxies_address_and_scheme(peer):
    assert peer(PROXY, X_Forwarded_For=f"{FORGED}, {CLIENT}", X_Forwarded_Proto="https") == {
        "ip": CLIENT, "scheme": "https", "host": "localhost", "url": "https://localhost/",
        "forwarded_proto": None, "proxied": True}
    assert peer("::ffff:10.0.0.9", X_Forwarded_For=CLIENT)["ip"] == CLIENT  # IPv4-mapped peer address
    assert peer("::1", X_Forwarded_For="2001:db8::1")["ip"] == "2001:db8::1"
    assert peer(PROXY)["ip"] == PROXY  # the proxy's own request (a health check)
    untrusted = peer("10.0.1.5", X_Forwarded_For=CLIENT, X_Forwarded_Proto="https")
    assert untrusted == {"ip": "10.0.1.5", "scheme": "http", "host": "localhost", "url": "http://localhost/",
                         "forwarded_proto": None, "proxied": False}


@pytest.mark.parametrize("config_overrides", [{"IDP_TRUSTED_PROXIES": "1"}], indirect=True)
def test_forwarded_host_port_and_prefix_are_never_applied(peer):
    seen = peer(PROXY, X_Forwarded_For=CLIENT, X_Forwarded_Host="evil.example", X_Forwarded_Port="444",
                X_Forwarded_Prefix="/evil")
    assert seen["host"] == "localhost" and seen["url"] == "http://localhost/" and seen["ip"] == CLIENT


def test_without_the_setting_nothing_forwarded_is_believed(peer):
    seen = peer(PROXY, X_Forwarded_For=CLIENT, X_Forwarded_Proto="https")
    assert seen == {"ip": PROXY, "scheme": "http", "host": "localhost", "url": "http://localhost/",
                    "forwarded_proto": None, "proxied": False}


def _hsts(app, remote_addr, proto):
    client = app.test_client()
    response = client.get("/login", base_url="http://idp.example.com", headers={"X-Forwarded-Proto": proto},
                          environ_base={"REMOTE_ADDR": remote_addr})
    return response.headers.get("Strict-Transport-Security")


@pytest.mark.parametrize("config_overrides", [
    {"IDP_BASE_URL": HTTPS_BASE}, {"IDP_BASE_URL": HTTPS_BASE, "IDP_TRUSTED_PROXIES": "10.0.0.0/24"}],
    indirect=True)
def test_hsts_follows_the_trusted_scheme_only(app, config_overrides):
    trusted = "IDP_TRUSTED_PROXIES" in config_overrides
    assert _hsts(app, "198.51.100.1", "https") is None  # an untrusted peer's header never turns it on
    assert bool(_hsts(app, PROXY, "https")) is trusted
    assert _hsts(app, PROXY, "http") is None
    direct = app.test_client().get("/login", base_url=HTTPS_BASE)  # TLS straight to the app
    assert direct.headers["Strict-Transport-Security"].startswith("max-age=")
