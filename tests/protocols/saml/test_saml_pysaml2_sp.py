"""A second, independent SP stack: pysaml2's Saml2Client (verifying with the xmlsec1 program), not our code.

It reads our metadata, sends a signed SP-initiated AuthnRequest over HTTP-Redirect and checks our
Response like a pysaml2-based SP does: both signatures against the metadata certificate, InResponseTo,
Destination/Recipient, audience, validity window, NameID and attributes; and it reads the LogoutRequest
a portal logout sends it."""
from urllib.parse import urlsplit

import pytest
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.response import StatusRequestDenied
from saml2.s_utils import decode_base64_and_inflate
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT
from saml2.sigver import verify_redirect_signature

from tests.protocols.saml.conftest import ACS_URL, SLO_URL, SP_ENTITY, login_through, posted_form

IDP_ENTITY = "http://127.0.0.1:8000/t/acme/saml/metadata"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


@pytest.fixture
def pysaml2_sp(client, acme, sp_keys, tmp_path):
    def _make(name_id_format=NAMEID_FORMAT_EMAILADDRESS):
        key_file, cert_file = tmp_path / "sp.key", tmp_path / "sp.pem"
        key_file.write_text(sp_keys.key)
        cert_file.write_text(sp_keys.cert)
        config = SPConfig()
        config.load({
            "entityid": SP_ENTITY,
            "service": {"sp": {
                "endpoints": {"assertion_consumer_service": [(ACS_URL, BINDING_HTTP_POST)],
                              "single_logout_service": [(SLO_URL, BINDING_HTTP_REDIRECT)]},
                "authn_requests_signed": True, "want_response_signed": True, "want_assertions_signed": True,
                "allow_unsolicited": False, "name_id_format": [name_id_format],
            }},
            "allow_unknown_attributes": True,  # our basic-NameFormat names are not in pysaml2's maps
            "key_file": str(key_file), "cert_file": str(cert_file), "xmlsec_binary": "/usr/bin/xmlsec1",
            "metadata": {"inline": [client.get("/t/acme/saml/metadata").get_data(as_text=True)]},
            "signing_algorithm": RSA_SHA256, "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
        })
        return Saml2Client(config=config)
    return _make


def authn_request(sp):
    """(request id, local URL of the signed HTTP-Redirect AuthnRequest)."""
    request_id, info = sp.prepare_for_authenticate(entityid=IDP_ENTITY, relay_state="pysaml2-relay",
                                                   binding=BINDING_HTTP_REDIRECT, sigalg=RSA_SHA256)
    location = dict(info["headers"])["Location"]
    parts = urlsplit(location)
    assert location.startswith("http://127.0.0.1:8000/t/acme/saml/sso?") and "Signature=" in parts.query
    return request_id, f"{parts.path}?{parts.query}"


def test_pysaml2_sp_initiated_login_verifies_our_signed_response(client, login, register, pysaml2_sp):
    register(requests_signed=True)  # our side verifies pysaml2's Redirect signature too
    sp = pysaml2_sp()
    request_id, url = authn_request(sp)
    answer = login_through(client, login, client.get(url))
    action, fields = posted_form(answer)
    assert action == ACS_URL and fields["RelayState"] == "pysaml2-relay"
    response = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST,
                                               outstanding={request_id: "/"})
    assert response is not None and response.in_response_to == request_id
    assert response.response.signature is not None and response.assertion.signature is not None
    assert response.name_id.text == "taro@acme.example.com"
    assert response.name_id.format == NAMEID_FORMAT_EMAILADDRESS
    assert response.ava == {"email": ["taro@acme.example.com"], "name": ["山田 太郎"], "groups": ["ACME株式会社"]}
    assert response.session_info()["issuer"] == IDP_ENTITY
    assert response.assertion.authn_statement[0].session_index


def test_pysaml2_sp_gets_its_persistent_nameid(client, login, register, pysaml2_sp):
    register(nameid_format="persistent")
    sp = pysaml2_sp(NAMEID_FORMAT_PERSISTENT)
    login()
    request_id, url = authn_request(sp)
    fields = posted_form(client.get(url))[1]
    response = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST,
                                               outstanding={request_id: "/"})
    assert response.name_id.format == NAMEID_FORMAT_PERSISTENT and "@" not in response.name_id.text


def test_pysaml2_sp_reads_request_denied(client, login, register, pysaml2_sp, factory):
    factory.group("acme", "経理部")
    register(group_names=["経理部"])
    sp = pysaml2_sp()
    login()
    request_id, url = authn_request(sp)
    fields = posted_form(client.get(url))[1]
    with pytest.raises(StatusRequestDenied):
        sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})


def test_pysaml2_sp_refuses_a_tampered_response(client, login, register, pysaml2_sp):
    import base64
    register()
    sp = pysaml2_sp()
    login()
    request_id, url = authn_request(sp)
    fields = posted_form(client.get(url))[1]
    xml = base64.b64decode(fields["SAMLResponse"]).replace(b"taro@acme.example.com", b"boss@acme.example.com")
    with pytest.raises(Exception) as refused:
        sp.parse_authn_request_response(base64.b64encode(xml).decode(), BINDING_HTTP_POST,
                                        outstanding={request_id: "/"})
    assert "ignature" in type(refused.value).__name__ + str(refused.value)


def test_pysaml2_sp_accepts_our_logout_request_from_the_portal(client, login, register, pysaml2_sp):
    """Portal logout: pysaml2 verifies our signed Redirect LogoutRequest, finds its user, answers us."""
    import html
    import re
    from urllib.parse import parse_qs

    from tests.protocols.saml.conftest import csrf_token_of
    register()
    sp = pysaml2_sp()
    login()
    request_id, url = authn_request(sp)
    fields = posted_form(client.get(url))[1]
    signed_in = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST,
                                                outstanding={request_id: "/"})
    posted = client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/logout"))})
    page = client.get(urlsplit(posted.headers["Location"]).path + "?" + urlsplit(posted.headers["Location"]).query)
    [frame] = [html.unescape(u) for u in re.findall(r'<iframe class="saml-slo" src="([^"]+)"', page.get_data(True))]
    query = {k: v[0] for k, v in parse_qs(urlsplit(frame).query).items()}
    assert frame.startswith(SLO_URL + "?")
    # pysaml2's own check of the query signature (Bindings 3.4.4.1) with the certificate of our metadata
    [(_name, cert)] = sp.metadata.certs(IDP_ENTITY, "any", "signing")
    message = {k: query[k] for k in ("SAMLRequest", "SigAlg", "Signature")}
    assert verify_redirect_signature(message, sp.sec.sec_backend, cert)
    assert not verify_redirect_signature({**message, "SAMLRequest": message["SAMLRequest"][:-4] + "AAAA"},
                                         sp.sec.sec_backend, cert)
    answer = sp.handle_logout_request(query["SAMLRequest"], signed_in.name_id, BINDING_HTTP_REDIRECT,
                                      sigalg=query["SigAlg"], signature=query["Signature"])
    location = dict(answer["headers"])["Location"]
    assert location.startswith("http://127.0.0.1:8000/t/acme/saml/slo?SAMLResponse=")
    response_xml = decode_base64_and_inflate(parse_qs(urlsplit(location).query)["SAMLResponse"][0]).decode()
    assert "status:Success" in response_xml  # it found the user our NameID names
    back = client.get(location.removeprefix("http://127.0.0.1:8000"))
    assert back.status_code == 200  # our frame page: the SP's LogoutResponse was read
