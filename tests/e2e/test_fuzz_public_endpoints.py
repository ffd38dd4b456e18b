"""Hostile input at every endpoint that answers without an account (hypothesis): the public forms, the OIDC and
the SAML endpoints get bodies over the 2 MiB limit, bytes that are not UTF-8 (raw or percent-encoded), numbers
beyond any integer column, NUL, deeply nested JSON and bracketed keys, repeated parameters, odd content types.
Whatever comes in, no answer is a 5xx and nothing is logged as an error (no traceback).

CSRF and the rate limits are off here so that the input reaches the views' own parsing (they have their own
tests); the OIDC client, the SAML SP and the user are real, and the protocol groups run signed in, so a
well-formed part of a request gets as far as it can."""
import base64
import logging
import zlib
from types import SimpleNamespace
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import STRONG_PASSWORD
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.saml import registry as saml_registry
from idp.tenancy import tenants

REDIRECT_URI = "https://rp.example.com/callback"
SP_ENTITY = "https://sp.example.com/metadata"
OVERSIZED = 2 * 1024 * 1024 + 1
FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])

# (method, path, a well-formed request's parameters): the fuzz drops, repeats, reorders and overrides them.
# {client_id} and {client_secret} are the registered client's; {authn_request} a valid SAML AuthnRequest.
LOGIN = {"email": "taro@acme.example.com", "password": STRONG_PASSWORD, "next": "/t/acme/oidc/authorize?x=1"}
AUTHORIZE = {"client_id": "{client_id}", "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": "openid",
             "state": "st", "nonce": "n", "max_age": "60", "ui_locales": "en"}
SECRET = {"client_id": "{client_id}", "client_secret": "{client_secret}"}
FORMS = [("GET", "/login", {"next": "/t/acme/oidc/authorize?ui_locales=en"}), ("POST", "/login", LOGIN),
         ("POST", "/t/acme/login", LOGIN), ("POST", "/contract/login", LOGIN),
         ("POST", "/signup", {"company_name": "ベータ", "slug": "beta", "admin_email": "a@beta.example.com",
                              "owner_email": "o@beta.example.com", "name": "山田"}),
         ("GET", "/password/forgot", {}), ("POST", "/password/forgot", {"email": "taro@acme.example.com"}),
         ("GET", "/activate/{token}", {}), ("POST", "/activate/{token}", {"password": STRONG_PASSWORD,
                                                                          "password_confirm": STRONG_PASSWORD}),
         ("GET", "/lang/{token}", {"next": "/login"})]
OIDC = [("GET", "/t/acme/oidc/authorize", AUTHORIZE), ("POST", "/t/acme/oidc/authorize", AUTHORIZE),
        ("POST", "/t/acme/oidc/token", {"grant_type": "authorization_code", "code": "c", "redirect_uri": REDIRECT_URI,
                                        **SECRET}),
        ("POST", "/t/acme/oidc/token", {"grant_type": "refresh_token", "refresh_token": "r", **SECRET}),
        ("POST", "/t/acme/oidc/token", {"grant_type": "client_credentials", "scope": "profile", **SECRET}),
        ("GET", "/t/acme/oidc/userinfo", {}), ("POST", "/t/acme/oidc/userinfo", {"access_token": "t"}),
        ("POST", "/t/acme/oidc/introspect", {"token": "t", **SECRET}),
        ("POST", "/t/acme/oidc/revoke", {"token": "t", "token_type_hint": "refresh_token", **SECRET}),
        ("POST", "/t/acme/oidc/par", {**AUTHORIZE, **SECRET}),
        ("GET", "/t/acme/oidc/logout", {"client_id": "{client_id}", "state": "s"}),
        ("POST", "/t/acme/oidc/logout", {"client_id": "{client_id}", "confirm": "1"}),
        ("GET", "/t/acme/.well-known/openid-configuration", {}), ("GET", "/t/{token}/oidc/authorize", AUTHORIZE)]
SAML = [("GET", "/t/acme/saml/sso", {"SAMLRequest": "{authn_request}", "RelayState": "r"}),
        ("POST", "/t/acme/saml/sso", {"SAMLRequest": "{authn_request}", "RelayState": "r"}),
        ("GET", "/t/acme/saml/slo", {"SAMLRequest": "{authn_request}"}),
        ("POST", "/t/acme/saml/slo", {"SAMLResponse": "{authn_request}"}),
        ("GET", "/t/acme/saml/launch/{number}", {}), ("GET", "/t/acme/saml/sso/resume", {"p": "x"}),
        ("GET", "/t/acme/saml/metadata", {})]
KEYS = ["email", "password", "next", "reauth", "ui_locales", "company_name", "slug", "admin_email", "name",
        "password_confirm", "tenant", "client_id", "client_secret", "redirect_uri", "response_type", "scope",
        "state", "nonce", "prompt", "max_age", "claims", "login_hint", "id_token_hint", "code_challenge",
        "code_challenge_method", "grant_type", "code", "code_verifier", "refresh_token", "client_assertion",
        "client_assertion_type", "token", "token_type_hint", "access_token", "post_logout_redirect_uri",
        "SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature", "p", "ids", "group", "page"]

HUGE_NUMBERS = st.one_of(
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2), st.integers(min_value=-2**70, max_value=2**70),
    st.just(10**30), st.just(-2**63 - 1)).map(lambda n: str(n).encode())
NESTED = st.integers(min_value=1, max_value=3000).flatmap(lambda depth: st.sampled_from([
    b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth, b'{"id_token":' * depth + b"{}" + b"}" * depth,
    b"<a>" * depth + b"</a>" * depth]))
KNOWN = st.sampled_from([b"openid", b"openid profile email offline_access", b"code", b"authorization_code",
                         b"refresh_token", b"client_credentials", b"none", b"login", b"S256", b"taro@acme.example.com",
                         STRONG_PASSWORD.encode(), REDIRECT_URI.encode(), b"/t/acme/oidc/authorize?x=1", b"//evil",
                         b"urn:ietf:params:oauth:client-assertion-type:jwt-bearer", b"eyJhbGciOiJub25lIn0.e30.", b"0"])
SAML_MESSAGES = st.one_of(
    st.binary(max_size=200).map(base64.b64encode),
    st.binary(max_size=200).map(lambda raw: base64.b64encode(zlib.compress(raw)[2:-4])),
    st.text(max_size=100).map(lambda text: base64.b64encode(zlib.compress(
        f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{text}" Version="2.0" '
        f'IssueInstant="2026-04-01T00:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
        f'{SP_ENTITY}</saml:Issuer></samlp:AuthnRequest>'.encode(errors="surrogatepass"))[2:-4])))
VALUES = st.one_of(
    st.text(max_size=40).map(lambda text: text.encode(errors="surrogatepass")), st.binary(max_size=40),
    HUGE_NUMBERS, NESTED, KNOWN, SAML_MESSAGES, st.sampled_from([b"", b"\x00", b"a\x00b", b"\xff\xfe", b"%", b"%zz"]),
    st.tuples(st.binary(min_size=1, max_size=4), st.sampled_from([1000, 70_000])).map(lambda pair: pair[0] * pair[1]))
# what replaces one or two of the well-formed values
MUTATIONS = st.one_of(HUGE_NUMBERS.filter(lambda n: not n.startswith(b"-")), st.just(b"9" * 5000), NESTED, VALUES)
NAMES = st.one_of(st.sampled_from(KEYS).map(str.encode), st.binary(max_size=12),
                  st.integers(min_value=1, max_value=300).map(lambda depth: b"a" + b"[x]" * depth))
CONTENT_TYPES = st.sampled_from(["application/x-www-form-urlencoded"] * 5 + [
    "application/x-www-form-urlencoded; charset=latin-1", "multipart/form-data; boundary=fuzz",
    "multipart/form-data; boundary=fuzz", "multipart/form-data", "application/json", "text/xml", None])
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=60)
AUTHORIZATION = st.one_of(
    st.none(), HEADER_TEXT.map(lambda text: "Bearer " + text),
    st.binary(max_size=60).map(lambda raw: "Basic " + base64.b64encode(raw).decode()), HEADER_TEXT)


def _encode(pairs, raw):
    if raw:
        return b"&".join(name + b"=" + value for name, value in pairs)
    return b"&".join(quote_from_bytes(name).encode() + b"=" + quote_from_bytes(value).encode() for name, value in pairs)


def _multipart(pairs):
    parts = [b'--fuzz\r\nContent-Disposition: form-data; name="' + name.replace(b'"', b"") + b'"\r\n\r\n' + value
             + b"\r\n" for name, value in pairs]
    return b"".join(parts) + b"--fuzz--\r\n"


@st.composite
def hostile_requests(draw, endpoints):
    """SimpleNamespace(method, path, query, body: [(name, value)] bytes, raw: not percent-encoded, oversized,
    content_type, headers)."""
    method, path, base = draw(st.sampled_from(endpoints))
    path = path.format(token=quote_from_bytes(draw(st.one_of(st.binary(max_size=80), NESTED, HUGE_NUMBERS))),
                       number=draw(st.one_of(HUGE_NUMBERS.filter(lambda n: not n.startswith(b"-")),
                                             st.just(b"9" * 5000), st.just(b"1"))).decode())
    mutated = draw(st.sets(st.sampled_from(sorted(base)), min_size=1, max_size=2)) if base else set()
    kept = [(name.encode(), draw(MUTATIONS) if name in mutated else value.encode())
            for name, value in base.items() if draw(st.integers(0, 9))]
    pairs = draw(st.permutations(kept + draw(st.lists(st.tuples(NAMES, VALUES), max_size=5))))
    headers = {"Authorization": draw(AUTHORIZATION), "Accept-Language": draw(HEADER_TEXT),
               "Cookie": "lang=" + draw(HEADER_TEXT).replace(";", "")}
    return SimpleNamespace(
        method=method, path=path, query=draw(st.lists(st.tuples(NAMES, VALUES), max_size=6)) if method == "POST"
        else pairs, body=pairs if method == "POST" else None, raw=draw(st.integers(0, 3)) == 0,
        oversized=method == "POST" and draw(st.integers(0, 9)) == 0, content_type=draw(CONTENT_TYPES),
        headers={name: value for name, value in headers.items() if value is not None})


def _authn_request(deflate):
    xml = (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_fuzz" Version="2.0" '
           f'IssueInstant="2026-04-01T00:00:00Z" AssertionConsumerServiceURL="https://sp.example.com/acs">'
           f'<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{SP_ENTITY}</saml:Issuer>'
           f'</samlp:AuthnRequest>').encode()
    return base64.b64encode(zlib.compress(xml)[2:-4] if deflate else xml)


def _wire(request, known):
    """(query string, body) as bytes, the placeholders of the well-formed parameters filled in."""
    known = {**known, b"{authn_request}": _authn_request(deflate=request.method == "GET")}

    def filled(pairs):
        return [(name, known.get(value, value)) for name, value in pairs]

    query = _encode(filled(request.query), request.raw)
    if request.body is None:
        return query, None
    multipart = request.content_type and "boundary=fuzz" in request.content_type
    body = _multipart(filled(request.body)) if multipart else _encode(filled(request.body), request.raw)
    return query, body + (b"&pad=" + b"x" * OVERSIZED if request.oversized else b"")


@pytest.fixture
def config_overrides():
    return {"WTF_CSRF_ENABLED": False, "IDP_RATELIMIT_ENABLED": "0"}


@pytest.fixture
def acme(app, clock, factory):
    """The tenant, its user, an OIDC client and a SAML SP; -> the values of the placeholders."""
    factory.tenant("acme")
    factory.account("acme")
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        everyone = [groups.default_group(tenant)]
        client = oidc_clients.register(tenant, oidc_clients.ClientSettings(
            name="経費精算", redirect_uris=(REDIRECT_URI,)), groups=everyone, now=clock.now(), actor=OPERATOR)
        saml_registry.register(tenant, saml_registry.SpSettings(
            name="勤怠", entity_id=SP_ENTITY, acs_urls=("https://sp.example.com/acs",)),
            groups=everyone, now=clock.now(), actor=OPERATOR)
        db.session.commit()
        values = client.as_json()
    return {b"{client_id}": values["client_id"].encode(), b"{client_secret}": values["client_secret"].encode()}


@pytest.fixture
def signed_in(client, acme):
    response = client.post("/login", data={"email": "taro@acme.example.com", "password": STRONG_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


@pytest.fixture
def send(caplog, acme):
    """Send one hostile request; it must not be a 5xx nor log an error or a traceback."""
    caplog.set_level(logging.INFO)

    def _send(http, request):
        caplog.clear()
        query, body = _wire(request, acme)
        response = http.open(request.path, method=request.method, data=body, headers=request.headers,
                             content_type=request.content_type,
                             environ_overrides={"QUERY_STRING": query.decode("latin-1")})  # the raw bytes
        assert response.status_code < 500, (request.method, request.path, response.status_code)
        logged = [r for r in caplog.records
                  if r.levelno >= logging.ERROR or r.exc_info or "Traceback" in r.getMessage()]
        assert not logged, [r.getMessage() for r in logged]
        if request.path.startswith("/t/acme/oidc/") and request.path.endswith(("token", "introspect", "revoke")):
            assert response.mimetype == "application/json", response.status_code
        return response
    return _send


@FUZZ
@given(request=hostile_requests(FORMS))
def test_public_forms(client, acme, send, request):
    send(client, request)


@FUZZ
@given(request=hostile_requests(OIDC))
def test_oidc_endpoints(signed_in, send, request):
    send(signed_in, request)


@FUZZ
@given(request=hostile_requests(SAML))
def test_saml_endpoints(signed_in, send, request):
    send(signed_in, request)


@pytest.mark.parametrize("endpoint, status, where", [
    (OIDC[0], 302, REDIRECT_URI + "?code="), (OIDC[4], 200, '"access_token"'), (SAML[0], 200, 'name="SAMLResponse"'),
    (SAML[1], 200, 'name="SAMLResponse"')])
def test_the_well_formed_requests_get_through(signed_in, send, endpoint, status, where):
    """What the fuzz starts from (CSRF and the rate limits off) is answered in full (the login form's is what
    `signed_in` posts)."""
    method, path, base = endpoint
    pairs = [(name.encode(), value.encode()) for name, value in base.items()]
    response = send(signed_in, SimpleNamespace(
        method=method, path=path, query=[] if method == "POST" else pairs, body=pairs if method == "POST" else None,
        raw=False, oversized=False, content_type="application/x-www-form-urlencoded", headers={}))
    assert response.status_code == status
    assert where in (response.headers.get("Location") or response.get_data(as_text=True))
