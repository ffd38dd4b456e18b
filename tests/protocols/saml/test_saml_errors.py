"""Requests the IdP must refuse with a 400 page (never a post to an SP), and cross-tenant isolation."""
import base64
import logging
import zlib
from urllib.parse import urlencode

import pytest

from tests.protocols.saml.conftest import ACS_URL, posted_form


def deflated(xml):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml.encode() if isinstance(xml, str) else xml)
                            + compressor.flush()).decode()


def authn_request(issuer="https://sp.example.com/metadata", acs=ACS_URL, request_id="_r1", instant=None,
                  extra=""):
    from idp.platform.clock import utcnow
    instant = instant or utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    acs_attribute = f'AssertionConsumerServiceURL="{acs}"' if acs else ""
    return (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{request_id}" Version="2.0" '
            f'IssueInstant="{instant}" {acs_attribute} {extra}>'
            f'<saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>')


def future_instant(minutes):
    from datetime import timedelta

    from idp.platform.clock import utcnow
    return (utcnow() + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def send(client, xml, slug="acme"):
    return client.get(f"/t/{slug}/saml/sso?" + urlencode({"SAMLRequest": deflated(xml)}))


def assert_refused(response, caplog=None, detail=""):
    """A 400 page that says what went wrong, never a form to an SP; with `caplog`, the log line."""
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:300]
    assert "SAMLResponse" not in body and "sp.example.com/acs" not in body and "<form" not in body
    assert "SAMLリクエストが正しくありません" in body or "このアプリは登録されていません" in body
    if caplog is not None:
        assert any(r.levelno >= logging.INFO and detail in r.getMessage() for r in caplog.records), \
            [r.getMessage() for r in caplog.records]


def test_unsigned_request_is_fine_when_not_required(client, login, register):
    register()
    login()
    assert "SAMLResponse" in send(client, authn_request()).get_data(as_text=True)


@pytest.mark.parametrize("xml, detail", [
    (lambda: authn_request(issuer="https://unknown.example.com"), "unknown issuer"),
    (lambda: authn_request(acs="https://evil.example.com/acs"), "unregistered ACS"),
    (lambda: authn_request(acs="", extra='AssertionConsumerServiceIndex="7"'), "unregistered ACS"),
    (lambda: authn_request(instant="2020-01-01T00:00:00Z"), "expired or future IssueInstant"),
    (lambda: authn_request(instant=future_instant(10)), "expired or future IssueInstant"),
    (lambda: authn_request(extra='Destination="https://elsewhere.example.com/sso"'), "Destination"),
    (lambda: authn_request(extra='ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"'),
     "ProtocolBinding"),
    (lambda: authn_request().replace('Version="2.0"', 'Version="1.1"'), "version"),
    (lambda: "<not-closed", "malformed XML"),
    (lambda: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>', "DTD"),
    (lambda: '<!DOCTYPE x SYSTEM "http://evil.example.com/x.dtd"><x/>', "DTD"),
    (lambda: '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>', "not an AuthnRequest"),
])
def test_bad_requests_get_an_error_page_and_a_log_line(client, login, register, caplog, xml, detail):
    caplog.set_level(logging.INFO)
    register()
    login()
    assert_refused(send(client, xml()), caplog, detail)  # built now: IssueInstant is fresh


@pytest.mark.parametrize("xml", [
    lambda: authn_request().replace("<saml:Issuer>https://sp.example.com/metadata</saml:Issuer>", ""),
    lambda: authn_request().replace('IssueInstant="', 'Foo="'),
    lambda: authn_request(instant="yesterday"),
    lambda: authn_request(instant="2026-13-45T99:99:99Z"),
    lambda: authn_request().replace('ID="_r1"', ""),
    lambda: authn_request(request_id="_" + "x" * 300),
    lambda: authn_request(acs="", extra='AssertionConsumerServiceIndex="not-a-number"'),
    lambda: authn_request(extra='ForceAuthn="maybe"'),
    lambda: authn_request().replace("<saml:Issuer>", "<saml:Issuer><x>nested</x>"),
    lambda: authn_request().replace("samlp:AuthnRequest", "samlp:Unknown"),
    lambda: '<a xmlns="urn:oasis:names:tc:SAML:2.0:protocol"/>',
    lambda: "\ufeff",
    lambda: "",
])
def test_odd_requests_are_a_400_never_a_500(client, login, register, xml):
    register()
    login()
    response = send(client, xml())
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:  # accepted after all: then only to the registered ACS
        assert posted_form(response)[0] == ACS_URL


def test_acs_chosen_by_index(client, login, register):
    register(acs_urls=[(ACS_URL, 0, True), ("https://sp.example.com/acs2", 1, False)])
    login()
    answer = send(client, authn_request(acs="", extra='AssertionConsumerServiceIndex="1"'))
    assert posted_form(answer)[0] == "https://sp.example.com/acs2"
    assert posted_form(send(client, authn_request(acs="", request_id="_r2")))[0] == ACS_URL  # the default


@pytest.mark.parametrize("kind", ["SAMLRequest", "SAMLResponse"])
@pytest.mark.parametrize("payload", [
    "<not-closed", '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', b"<a>" + b"A" * 20_000_000 + b"</a>",
])
def test_hostile_logout_messages_get_an_error_page(client, login, register, kind, payload):
    register()
    login()
    response = client.get("/t/acme/saml/slo?" + urlencode({kind: deflated(payload)}))
    assert response.status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_bad_resume_token_is_an_error_page(client, login, register):
    register()
    login()
    assert client.get("/t/acme/saml/sso/resume?p=forged").status_code == 400


def test_request_replayed_after_the_login_redirect_is_refused(client, register):
    register()
    xml = authn_request(request_id="_before_login")
    assert "/login?" in send(client, xml).headers["Location"]
    assert_refused(send(client, xml))


def test_is_passive_with_a_live_session_goes_through(client, login, register):
    register()
    login()
    answer = send(client, authn_request(extra='IsPassive="true"'))
    assert "status:Success" in base64.b64decode(posted_form(answer)[1]["SAMLResponse"]).decode()


def test_post_request_altered_after_signing_is_refused(client, login, register, onelogin_sp, sp_keys):
    from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
    from onelogin.saml2.settings import OneLogin_Saml2_Settings
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
    register(requests_signed=True, acs_urls=(ACS_URL, "https://sp.example.com/other-acs"))
    sp = onelogin_sp()
    request = OneLogin_Saml2_Authn_Request(OneLogin_Saml2_Settings(sp.settings))
    signed = OneLogin_Saml2_Utils.add_sign(request.get_xml(), sp_keys.key, sp_keys.cert,
                                           sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                           digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    login()
    altered = signed.replace(ACS_URL.encode(), b"https://sp.example.com/other-acs")
    assert_refused(client.post("/t/acme/saml/sso", data={"SAMLRequest": base64.b64encode(altered).decode()}))
    sha1 = OneLogin_Saml2_Utils.add_sign(request.get_xml(), sp_keys.key, sp_keys.cert,
                                         sign_algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                                         digest_algorithm="http://www.w3.org/2000/09/xmldsig#sha1")
    assert_refused(client.post("/t/acme/saml/sso", data={"SAMLRequest": base64.b64encode(sha1).decode()}))


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


def test_replayed_request_refused(app, client, login, register):
    from idp.models import LoginEvent
    from idp.platform.extensions import db
    register()
    login()
    xml = authn_request(request_id="_replayed")
    assert send(client, xml).status_code == 200
    assert_refused(send(client, xml))
    with app.app_context():  # the replay wrote nothing (its answer was built, then rolled back)
        assert db.session.query(LoginEvent).filter_by(protocol="saml").count() == 1


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
