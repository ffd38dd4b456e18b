"""Single Logout to an SP whose metadata offers its SingleLogoutService only over HTTP-POST.

The SP is pysaml2's Saml2Client (an independent stack, verifying with the xmlsec1 program) configured with
a POST-only SLO endpoint and registered from the metadata pysaml2 itself publishes. Our LogoutRequests (portal
logout, OIDC RP-initiated logout) and our LogoutResponse to its own LogoutRequest must reach it as signed
HTTP-POST messages that it accepts; a tampered one it refuses."""
import base64
import html
import re
from urllib.parse import urlsplit

import pytest
from saml2 import BINDING_HTTP_POST
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.samlp import STATUS_SUCCESS

from idp.platform.extensions import db
from idp.saml import metadata_import
from idp.saml import registry as saml_registry
from idp.tenancy import tenants
from tests.protocols.saml.conftest import (ACS_URL, SLO_URL, SP2_ENTITY, SP_ENTITY, OneLoginSp, csrf_token_of,
                                           posted_form)
from tests.protocols.saml.test_saml_pysaml2_sp import IDP_ENTITY, RSA_SHA256, authn_request
from tests.protocols.saml.test_saml_slo import assert_sp_logs_out, local

SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
POST_FORM = re.compile(r'<form class="saml-slo-post" method="post" action="([^"]+)" target="([^"]+)" hidden>(.*?)'
                       r'</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def post_only_sp(app, client, acme, sp_keys, tmp_path, register):
    """A pysaml2 SP with only an HTTP-POST SingleLogoutService, registered from its own metadata."""
    key_file, cert_file = tmp_path / "sp.key", tmp_path / "sp.pem"
    key_file.write_text(sp_keys.key)
    cert_file.write_text(sp_keys.cert)
    config = SPConfig()
    config.load({
        "entityid": SP_ENTITY,
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(ACS_URL, BINDING_HTTP_POST)],
                          "single_logout_service": [(SLO_URL, BINDING_HTTP_POST)]},
            "authn_requests_signed": True, "want_response_signed": True, "want_assertions_signed": True,
            "logout_requests_signed": True, "logout_responses_signed": True, "allow_unsolicited": False,
        }},
        "allow_unknown_attributes": True,
        "key_file": str(key_file), "cert_file": str(cert_file), "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {"inline": [client.get("/t/acme/saml/metadata").get_data(as_text=True)]},
        "signing_algorithm": RSA_SHA256, "digest_algorithm": SHA256,
    })
    with app.app_context():
        values = metadata_import.parse_sp_metadata(str(entity_descriptor(config)))
    assert (values["slo_url"], values["slo_binding"]) == (SLO_URL, "post")  # POST, since it offers no Redirect
    values.pop("encryption_cert")
    register(**values)
    return Saml2Client(config=config)


def signed_in(client, login, sp):
    """Log in and sign into the pysaml2 SP; its parsed response (NameID, SessionIndex)."""
    login()
    request_id, url = authn_request(sp)
    fields = posted_form(client.get(url))[1]
    return sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})


def post_frames(page):
    """[(action, {field: value})] of the propagation page's forms, each posting into its own hidden frame."""
    body = page.get_data(as_text=True)
    found = []
    for action, target, inner in POST_FORM.findall(body):
        assert f'<iframe class="saml-slo" name="{target}" hidden' in body
        found.append((html.unescape(action), {n: html.unescape(v) for n, v in HIDDEN.findall(inner)}))
    return found


def assert_sp_accepts_logout_request(client, sp, fields, response):
    """pysaml2 verifies the enveloped signature of our POSTed LogoutRequest, finds its user and answers us."""
    request = sp.parse_logout_request(fields["SAMLRequest"], BINDING_HTTP_POST)
    assert request.message.signature is not None  # verified by xmlsec1 with our metadata's certificate
    assert request.message.destination == SLO_URL
    assert request.message.name_id.text == response.name_id.text
    assert [s.text for s in request.message.session_index] == [response.assertion.authn_statement[0].session_index]
    xml = base64.b64decode(fields["SAMLRequest"]).replace(response.name_id.text.encode(), b"boss@acme.example.com")
    with pytest.raises(Exception) as refused:
        sp.parse_logout_request(base64.b64encode(xml).decode(), BINDING_HTTP_POST)
    assert "sign" in (type(refused.value).__name__ + str(refused.value)).lower()  # xmlsec1 refused it
    answer = sp.handle_logout_request(fields["SAMLRequest"], response.name_id, BINDING_HTTP_POST, sign=True,
                                      sign_alg=RSA_SHA256, digest_alg=SHA256)
    back_action, back_fields = posted_form_html(answer["data"])
    assert back_action == "http://127.0.0.1:8000/t/acme/saml/slo"
    back = client.post("/t/acme/saml/slo", data=back_fields)  # its LogoutResponse, into the frame
    assert back.status_code == 200 and "ログアウトしました" in back.get_data(as_text=True)


def posted_form_html(body):
    action = html.unescape(re.search(r'<form[^>]* action="([^"]+)"', body).group(1))
    return action, {html.unescape(n): html.unescape(v)
                    for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)}


def test_portal_logout_posts_a_signed_logout_request_the_sp_accepts(client, login, post_only_sp):
    response = signed_in(client, login, post_only_sp)
    posted = client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/logout"))})
    page = client.get(local(posted.headers["Location"]))
    assert page.status_code == 200 and client.get("/").status_code == 302  # signed out already
    body = page.get_data(as_text=True)
    assert '<iframe class="saml-slo" src=' not in body  # nothing for it over HTTP-Redirect
    [(action, fields)] = post_frames(page)
    assert action == SLO_URL and set(fields) == {"SAMLRequest"}
    nonce = re.search(r'<script nonce="([^"]+)">', body).group(1)
    assert f"'nonce-{nonce}'" in page.headers["Content-Security-Policy"]  # the script that submits the forms
    assert 'form.submit()' in body and re.search(r'id="saml-slo-continue" href="/login"', body)
    assert_sp_accepts_logout_request(client, post_only_sp, fields, response)
    again = client.get(local(posted.headers["Location"]))  # reloaded: nobody is asked twice
    assert again.status_code == 302 and again.headers["Location"] == "/login"


def test_oidc_rp_initiated_logout_posts_the_logout_request(app, client, clock, login, post_only_sp):
    from idp.directory import groups
    from idp.logs.audit import OPERATOR
    from idp.oidc import clients as oidc_clients
    response = signed_in(client, login, post_only_sp)
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = oidc_clients.register(tenant, oidc_clients.ClientSettings(
            name="rp", redirect_uris=["https://rp.example.com/cb"],
            post_logout_redirect_uris=["https://rp.example.com/bye"]),
            groups=[groups.default_group(tenant)], now=clock.now(), actor=OPERATOR)
        db.session.commit()
        params = {"client_id": created.client.client_id, "post_logout_redirect_uri": "https://rp.example.com/bye",
                  "state": "s-1"}
    page = client.get("/t/acme/oidc/logout", query_string=params)
    confirmed = client.post("/t/acme/oidc/logout", data={"confirm": "1", "csrf_token": csrf_token_of(page),
                                                         **params})
    assert "/t/acme/saml/slo/propagate?s=" in confirmed.headers["Location"]
    frames_page = client.get(local(confirmed.headers["Location"]))
    [(action, fields)] = post_frames(frames_page)
    assert action == SLO_URL
    assert 'id="saml-slo-continue" href="https://rp.example.com/bye?state=s-1"' in frames_page.get_data(True)
    assert_sp_accepts_logout_request(client, post_only_sp, fields, response)


def sp_logout_request(sp, response):
    """pysaml2's signed LogoutRequest for the user it signed in, over HTTP-POST: (its ID, the POST fields)."""
    request_id, request = sp.create_logout_request(
        "http://127.0.0.1:8000/t/acme/saml/slo", IDP_ENTITY, name_id=response.name_id,
        session_indexes=[response.assertion.authn_statement[0].session_index], sign=True, sign_alg=RSA_SHA256,
        digest_alg=SHA256)
    return request_id, {"SAMLRequest": base64.b64encode(str(request).encode()).decode(), "RelayState": "sp-back"}


def assert_sp_accepts_logout_response(sp, fields, request_id):
    assert set(fields) == {"SAMLResponse", "RelayState"} and fields["RelayState"] == "sp-back"
    answer = sp.parse_logout_request_response(fields["SAMLResponse"], BINDING_HTTP_POST)
    assert answer is not None and answer.response.signature is not None  # verified by xmlsec1
    assert answer.response.in_response_to == request_id
    assert answer.response.destination == SLO_URL
    assert answer.response.status.status_code.value == STATUS_SUCCESS
    xml = base64.b64decode(fields["SAMLResponse"]).replace(request_id.encode(), b"_another_request")
    with pytest.raises(Exception) as refused:
        sp.parse_logout_request_response(base64.b64encode(xml).decode(), BINDING_HTTP_POST)
    assert "sign" in (type(refused.value).__name__ + str(refused.value)).lower()  # xmlsec1 refused it


def test_sp_initiated_logout_is_answered_by_post(client, login, post_only_sp):
    response = signed_in(client, login, post_only_sp)
    request_id, data = sp_logout_request(post_only_sp, response)
    answer = client.post("/t/acme/saml/slo", data=data)
    assert client.get("/").status_code == 302  # the session is over
    action, fields = posted_form(answer)  # the auto-submitting form, not a redirect
    assert action == SLO_URL
    assert "script-src 'self' 'nonce-" in answer.headers["Content-Security-Policy"]
    assert_sp_accepts_logout_response(post_only_sp, fields, request_id)
    assert client.post("/t/acme/saml/slo", data=data).status_code == 400  # a replay


def test_sp_initiated_logout_with_another_sp_posts_the_answer_after_the_frames(
        client, login, register, sp2_keys, post_only_sp):
    response = signed_in(client, login, post_only_sp)
    register(entity_id=SP2_ENTITY, acs_urls=("https://sp2.example.com/acs",), signing_cert=sp2_keys.cert,
             slo_url="https://sp2.example.com/slo", name="勤怠")
    sp2 = OneLoginSp(client, sp2_keys, entity_id=SP2_ENTITY, acs="https://sp2.example.com/acs",
                     slo="https://sp2.example.com/slo")
    at_sp2 = sp2.accept(client.get(sp2.login_url()))
    request_id, data = sp_logout_request(post_only_sp, response)
    page = client.post("/t/acme/saml/slo", data=data)
    body = page.get_data(as_text=True)
    frames = [html.unescape(u) for u in re.findall(r'<iframe class="saml-slo" src="([^"]+)"', body)]
    assert len(frames) == 1 and urlsplit(frames[0]).hostname == "sp2.example.com"  # SP 2 over HTTP-Redirect
    assert_sp_logs_out(client, sp2, frames[0], at_sp2)
    assert 'http-equiv="refresh"' not in body  # a POST cannot be a meta refresh: the script or the button
    continued = re.search(r'<form id="saml-slo-continue" method="post" action="([^"]+)">(.*?)</form>', body, re.S)
    assert html.unescape(continued.group(1)) == SLO_URL
    fields = {n: html.unescape(v) for n, v in HIDDEN.findall(continued.group(2))}
    assert_sp_accepts_logout_response(post_only_sp, fields, request_id)


@pytest.mark.parametrize("slo_url, binding, valid", [
    (SLO_URL, "post", True),
    (SLO_URL, "redirect", True),
    (SLO_URL, "soap", False),  # no SOAP back-channel: refused, not stored
    (f"{SLO_URL}#binding=HTTP-POST", "post", False),  # a URL with a fragment is no SLO endpoint
])
def test_the_slo_binding_is_redirect_or_post(app, acme, slo_url, binding, valid, sp_keys):
    with app.app_context():
        errors = saml_registry.registration_errors(
            tenants.get_by_slug("acme"), acs_urls=[ACS_URL], name="x", entity_id="https://x.example.com/md",
            slo_url=slo_url, slo_binding=binding, signing_cert=sp_keys.cert, encryption_cert="",
            nameid_format="email", sign="both", attribute_preset="basic", attribute_map={}, relay_state="",
            requests_signed=False)
        assert (not errors["slo_url"] and not errors.get("options")) is valid
