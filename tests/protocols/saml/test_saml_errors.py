"""Requests the IdP must refuse with a 400 page (never a post to an SP), and cross-tenant isolation."""
import base64
import zlib
from urllib.parse import urlencode

import pytest

from .conftest import ACS_URL


def deflated(xml):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml.encode() if isinstance(xml, str) else xml)
                            + compressor.flush()).decode()


def authn_request(issuer="https://sp.example.com/metadata", acs=ACS_URL, request_id="_r1", instant=None):
    from idp.clock import utcnow
    instant = instant or utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{request_id}" Version="2.0" '
            f'IssueInstant="{instant}" AssertionConsumerServiceURL="{acs}">'
            f'<saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>')


def send(client, xml, slug="acme"):
    return client.get(f"/t/{slug}/saml/sso?" + urlencode({"SAMLRequest": deflated(xml)}))


def assert_refused(response):
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:300]
    assert "SAMLResponse" not in body and "sp.example.com/acs" not in body


def test_unsigned_request_is_fine_when_not_required(client, login, register):
    register()
    login()
    assert "SAMLResponse" in send(client, authn_request()).get_data(as_text=True)


@pytest.mark.parametrize("xml", [
    authn_request(issuer="https://unknown.example.com"),
    authn_request(acs="https://evil.example.com/acs"),
    authn_request(instant="2020-01-01T00:00:00Z"),
    "<not-closed",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
    '<!DOCTYPE x SYSTEM "http://evil.example.com/x.dtd"><x/>',
])
def test_bad_requests_get_an_error_page(client, login, register, xml):
    register()
    login()
    assert_refused(send(client, xml))


def test_unsigned_request_refused_when_signing_required(client, login, register):
    register(requests_signed=True)
    login()
    assert_refused(send(client, authn_request()))


def test_badly_signed_redirect_request_refused(client, login, register, onelogin_sp, sp2_keys):
    register(requests_signed=True, signing_cert=sp2_keys.cert)  # registered cert differs from the signer's
    sp = onelogin_sp()
    login()
    assert_refused(client.get(sp.login_url()))


def test_tampered_signed_redirect_request_refused(client, login, register, onelogin_sp):
    register(requests_signed=True)
    sp = onelogin_sp()
    login()
    url = sp.login_url().replace("RelayState=https", "RelayState=http")
    assert_refused(client.get(url))


def test_replayed_request_refused(client, login, register):
    register()
    login()
    xml = authn_request(request_id="_replayed")
    assert send(client, xml).status_code == 200
    assert_refused(send(client, xml))


def test_bad_base64_and_deflate_bomb(client, login, register):
    register()
    login()
    assert_refused(client.get("/t/acme/saml/sso?SAMLRequest=%%%not-base64"))
    bomb = deflated(b"<a>" + b"A" * 20_000_000 + b"</a>")
    assert_refused(client.get("/t/acme/saml/sso?" + urlencode({"SAMLRequest": bomb})))
    assert_refused(client.post("/t/acme/saml/sso", data={"SAMLRequest": "A" * 300_000}))
    assert_refused(client.get("/t/acme/saml/sso"))


def test_sp_of_one_tenant_is_unknown_at_another(client, factory, login, register):
    register()
    factory.tenant("other")
    factory.account("other", email="hanako@other.example.com")
    login(email="hanako@other.example.com")
    assert_refused(send(client, authn_request(), slug="other"))
    assert client.get("/t/nosuch/saml/metadata").status_code == 404


def test_unknown_launch_is_refused(client, login, register):
    register()
    login()
    assert client.get("/t/acme/saml/launch/999").status_code == 400
