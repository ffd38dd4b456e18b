"""SP-initiated and IdP-initiated SSO against an independent SP stack (python3-saml)."""
import base64
import html
import re

import pytest
from sqlalchemy import select

from idp.models import Account, LoginEvent
from idp.platform.extensions import db
from tests.protocols.saml.conftest import login_through, posted_form


def test_redirect_binding_login_yields_signed_response_and_assertion(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    first = client.get(sp.login_url())
    answer = login_through(client, login, first)
    auth = sp.accept(answer)
    assert auth.get_nameid() == "taro@acme.example.com"
    assert auth.get_nameid_format() == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert auth.get_attributes() == {"email": ["taro@acme.example.com"], "name": ["山田 太郎"],
                                     "groups": ["ACME株式会社"]}
    assert auth.get_session_index()
    _action, fields = posted_form(answer)
    assert fields["RelayState"] == "https://sp.example.com/home"
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert 'Name="email" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"' in xml


def test_the_form_submits_itself_and_works_without_javascript(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    login()
    answer = client.get(sp.login_url())
    body, policy = answer.get_data(as_text=True), answer.headers["Content-Security-Policy"]
    nonce = re.search(r'<script nonce="([^"]+)">document.getElementById\("saml-post"\).submit\(\);', body).group(1)
    assert f"'nonce-{nonce}'" in policy and "form-action *" in policy  # the script may run, the form may post
    assert re.search(r"<noscript>.*</noscript>\s*<button type=\"submit\">", body)  # and without JS, a button


def test_the_form_page_speaks_the_browsers_language_page_after_page(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    login()
    for lang, title, noscript, button in [
            ("en", "Going to the app", 'JavaScript is disabled. Press "Continue".', "Continue"),
            ("ja", "アプリに移動しています", "JavaScriptが無効です。「続行」を押してください。", "続行"),
            ("en", "Going to the app", 'JavaScript is disabled. Press "Continue".', "Continue")]:
        client.set_cookie("lang", lang)
        body = html.unescape(client.get(sp.login_url()).get_data(as_text=True))
        assert f'<html lang="{lang}">' in body and f"<title>{title}</title>" in body
        assert f"<noscript><p>{noscript}</p></noscript>" in body and f'<button type="submit">{button}</button>' in body


def test_live_session_goes_straight_through(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    login()
    sp.accept(client.get(sp.login_url()))


def test_success_is_a_login_event(app, client, login, register, onelogin_sp):
    registration = register()
    sp = onelogin_sp()
    login()
    sp.accept(client.get(sp.login_url()))
    with app.app_context():
        event = db.session.query(LoginEvent).filter_by(protocol="saml").one()
        assert (event.result, event.app_id) == ("success", registration.app_id)


def test_post_binding_signed_request(client, login, register, onelogin_sp, sp_keys):
    from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
    from onelogin.saml2.settings import OneLogin_Saml2_Settings
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
    register(requests_signed=True)
    sp = onelogin_sp()
    request = OneLogin_Saml2_Authn_Request(OneLogin_Saml2_Settings(sp.settings))
    signed = OneLogin_Saml2_Utils.add_sign(request.get_xml(), sp_keys.key, sp_keys.cert,
                                           sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                           digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    sp.request_id = request.get_id()
    login()
    answer = client.post("/t/acme/saml/sso", data={"SAMLRequest": base64.b64encode(signed).decode(),
                                                   "RelayState": "r1"})
    sp.accept(answer)
    assert posted_form(answer)[1]["RelayState"] == "r1"


def test_force_authn_asks_for_the_password_again(client, login, register, onelogin_sp, clock):
    register()
    sp = onelogin_sp()
    login()
    clock.advance(minutes=1)
    first = client.get(sp.login_url(force_authn=True))
    assert "reauth=1" in first.headers["Location"]
    clock.advance(seconds=5)
    sp.accept(login_through(client, login, first))


def test_is_passive_without_session_answers_no_passive(client, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    answer = client.get(sp.login_url(is_passive=True))
    _action, fields = posted_form(answer)
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "urn:oasis:names:tc:SAML:2.0:status:NoPassive" in xml
    assert "urn:oasis:names:tc:SAML:2.0:status:Responder" in xml
    assert "<saml:Assertion" not in xml and "Assertion " not in xml


def test_unassigned_group_gets_request_denied_and_a_login_event(app, client, login, register, onelogin_sp,
                                                                factory):
    factory.group("acme", "経理部")
    registration = register(group_names=["経理部"])
    sp = onelogin_sp()
    login()
    answer = client.get(sp.login_url())
    action, fields = posted_form(answer)
    assert action == "https://sp.example.com/acs"
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "urn:oasis:names:tc:SAML:2.0:status:RequestDenied" in xml and "Assertion" not in xml
    with app.app_context():
        event = db.session.query(LoginEvent).filter_by(protocol="saml").one()
        assert (event.result, event.reason, event.app_id) == ("failure", "app_not_assigned", registration.app_id)


def test_idp_initiated_launch_posts_unsolicited_response_with_relay_state(client, login, register, onelogin_sp):
    registration = register(relay_state="/dashboard")
    sp = onelogin_sp()
    assert registration.launch_url == f"http://127.0.0.1:8000/t/acme/saml/launch/{registration.sp_id}"
    first = client.get(f"/t/acme/saml/launch/{registration.sp_id}")
    answer = login_through(client, login, first)
    auth = sp.accept(answer, request_id=None)
    assert auth.get_nameid() == "taro@acme.example.com"
    assert posted_form(answer)[1]["RelayState"] == "/dashboard"


def test_portal_tile_links_to_the_launch(client, login, register):
    registration = register()
    login()
    assert f"/t/acme/saml/launch/{registration.sp_id}" in client.get("/").get_data(as_text=True)


def test_persistent_nameid_is_stable_per_sp_and_opaque(client, login, register, onelogin_sp, sp2_keys):
    from tests.protocols.saml.conftest import SP2_ENTITY, OneLoginSp
    register(nameid_format="persistent")
    register(entity_id=SP2_ENTITY, acs_urls=("https://sp2.example.com/acs",), nameid_format="persistent",
             signing_cert=sp2_keys.cert, slo_url="https://sp2.example.com/slo", name="勤怠")
    sp = onelogin_sp()
    login()
    first = sp.accept(client.get(sp.login_url()))
    again = sp.accept(client.get(sp.login_url()))
    assert first.get_nameid() == again.get_nameid()
    assert first.get_nameid_format() == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert "taro" not in first.get_nameid()
    sp2 = OneLoginSp(client, sp2_keys, entity_id=SP2_ENTITY, acs="https://sp2.example.com/acs",
                     slo="https://sp2.example.com/slo")
    other = sp2.accept(client.get(sp2.login_url()))
    assert other.get_nameid() != first.get_nameid()


def test_unspecified_nameid_is_the_account_subject(client, login, register, onelogin_sp):
    register(nameid_format="unspecified")
    sp = onelogin_sp()
    login()
    auth = sp.accept(client.get(sp.login_url()))
    assert auth.get_nameid_format() == "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    assert "@" not in auth.get_nameid() and len(auth.get_nameid()) > 10


def test_uri_preset_and_own_attribute_names(client, login, register, onelogin_sp):
    register(attribute_preset="uri", attribute_map={"name": "displayName", "subject": "urn:oid:1.2.3"})
    sp = onelogin_sp()
    login()
    attributes = sp.accept(client.get(sp.login_url())).get_attributes()
    assert attributes["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"] == ["taro@acme.example.com"]
    assert attributes["displayName"] == ["山田 太郎"]
    assert attributes["http://schemas.xmlsoap.org/claims/Group"] == ["ACME株式会社"]
    assert len(attributes["urn:oid:1.2.3"][0]) > 10


def test_a_name_stored_with_a_control_character_still_signs_in(client, login, register, onelogin_sp, app):
    """XML 1.0 cannot carry C0 controls (forms refuse them now); an older stored value loses them."""
    register()
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == "taro@acme.example.com"))
        account.name = "山田\x07 太郎"
        db.session.commit()
    sp = onelogin_sp()
    login()
    attributes = sp.accept(client.get(sp.login_url())).get_attributes()
    assert attributes["name"] == ["山田 太郎"]


def test_oid_preset_names_with_the_uri_name_format(client, login, register, onelogin_sp):
    register(attribute_preset="oid")
    sp = onelogin_sp()
    login()
    answer = client.get(sp.login_url())
    attributes = sp.accept(answer).get_attributes()
    assert attributes == {"urn:oid:0.9.2342.19200300.100.1.3": ["taro@acme.example.com"],
                          "urn:oid:2.16.840.1.113730.3.1.241": ["山田 太郎"],
                          "urn:oid:1.3.6.1.4.1.5923.1.5.1.1": ["ACME株式会社"]}
    xml = base64.b64decode(posted_form(answer)[1]["SAMLResponse"]).decode()
    assert xml.count('NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"') == 3


@pytest.mark.parametrize("algorithm, uri", [
    (None, "http://www.w3.org/2009/xmlenc11#aes256-gcm"),  # the default
    ("aes256-cbc", "http://www.w3.org/2001/04/xmlenc#aes256-cbc"),  # for SPs without GCM (ADFS, older Shibboleth)
])
def test_encrypted_assertion_is_decrypted_by_the_sp(client, login, register, onelogin_sp, sp_keys, algorithm, uri):
    register(encryption_cert=sp_keys.cert, **({"encryption_algorithm": algorithm} if algorithm else {}))
    sp = onelogin_sp(wantAssertionsEncrypted=True)
    login()
    answer = client.get(sp.login_url())
    xml = base64.b64decode(posted_form(answer)[1]["SAMLResponse"]).decode()
    assert "EncryptedAssertion" in xml and "taro@acme.example.com" not in xml
    assert f'Algorithm="{uri}"' in xml and xml.count("xmlenc11#aes256-gcm") == (1 if "gcm" in uri else 0)
    assert 'Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"' in xml
    assert sp.accept(answer).get_nameid() == "taro@acme.example.com"


@pytest.mark.parametrize("sign", ["response", "assertion"])
def test_sign_only_response_or_assertion(client, login, register, onelogin_sp, sign):
    register(sign=sign)
    sp = onelogin_sp(wantMessagesSigned=sign == "response", wantAssertionsSigned=sign == "assertion")
    login()
    answer = client.get(sp.login_url())
    xml = base64.b64decode(posted_form(answer)[1]["SAMLResponse"]).decode()
    assert xml.count("<ds:SignatureValue") == 1
    assert 'SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"' in xml
    assert 'DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"' in xml
    assert 'CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"' in xml
    sp.accept(answer)


def test_password_login_reports_password_protected_transport(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    auth = sp.accept(login_through(client, login, client.get(sp.login_url())))
    assert auth.get_last_authn_contexts() == ["urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"]


def test_totp_login_reports_the_mfa_context(app, client, login, register, onelogin_sp, clock):
    from urllib.parse import parse_qs, urlsplit

    from tests.support.mfa import post_form as post_page
    from tests.support.mfa import secret_on, set_mode, totp
    set_mode(app, clock, "totp")
    register()
    sp = onelogin_sp()
    first = client.get(sp.login_url())
    resume = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    assert login(next_url=resume).headers["Location"] == "/login/mfa"  # password alone is not enough
    assert client.get(resume).status_code == 302  # no session yet: no assertion either
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    assert post_page(client, "/login/mfa/totp", {"code": totp(secret, clock)}).status_code in (200, 302)
    auth = sp.accept(client.get(resume))
    assert auth.get_last_authn_contexts() == ["https://refeds.org/profile/mfa"]


@pytest.mark.parametrize("amr", [("pwd", "otp"), ("hwk", "user", "mfa"), ("pwd", "swk", "user", "mfa")],
                         ids=["totp", "passkey", "password-and-passkey"])
def test_mfa_session_reports_a_multi_factor_context(app, client, register, onelogin_sp, clock, amr):
    from idp.authn import sessions
    from idp.logs.audit import NO_CLIENT
    from idp.models import Account
    from idp.web.sso import SSO_COOKIE
    register()
    sp = onelogin_sp()
    with app.app_context():
        account = db.session.query(Account).filter_by(email="taro@acme.example.com").one()
        raw, _session = sessions.start(account, clock.now(), NO_CLIENT, amr=amr)
        db.session.commit()
    client.set_cookie(SSO_COOKIE, raw)
    answer = client.get(sp.login_url())
    xml = base64.b64decode(posted_form(answer)[1]["SAMLResponse"]).decode()
    assert "https://refeds.org/profile/mfa" in xml
    sp.accept(answer)


def test_nameid_policy_format_is_honoured(client, login, register, onelogin_sp):
    register(nameid_format="email")
    sp = onelogin_sp()
    sp.settings["sp"]["NameIDFormat"] = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    login()
    auth = sp.accept(client.get(sp.login_url()))
    assert auth.get_nameid_format() == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert "@" not in auth.get_nameid()


def status_codes(answer):
    xml = base64.b64decode(posted_form(answer)[1]["SAMLResponse"]).decode()
    assert "Assertion" not in xml
    return re.findall(r'StatusCode Value="([^"]+)"', xml)


def test_unsupported_nameid_policy_format_answers_invalid_nameid_policy(client, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    sp.settings["sp"]["NameIDFormat"] = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    answer = client.get(sp.login_url())  # no session: refused before asking anyone to log in
    assert posted_form(answer)[0] == "https://sp.example.com/acs"
    assert status_codes(answer) == ["urn:oasis:names:tc:SAML:2.0:status:Requester",
                                    "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"]


def _policy_request(request_id, policy):
    from tests.protocols.saml.test_saml_errors import authn_request
    return authn_request(request_id=request_id).replace("</saml:Issuer>", f"</saml:Issuer>{policy}")


@pytest.mark.parametrize("policy", [
    '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="false"/>',
    '<samlp:NameIDPolicy SPNameQualifier="https://affiliation.example.com"/>',
])
def test_nameid_policy_we_cannot_meet_is_refused(client, login, register, policy):
    from tests.protocols.saml.test_saml_errors import send
    register()
    login()
    assert status_codes(send(client, _policy_request("_p1", policy))) == [
        "urn:oasis:names:tc:SAML:2.0:status:Requester", "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"]


def test_allow_create_false_is_fine_once_the_persistent_id_exists(client, login, register):
    from tests.protocols.saml.test_saml_errors import send
    register(nameid_format="persistent")
    login()
    first = base64.b64decode(posted_form(send(client, _policy_request("_p1", "")))[1]["SAMLResponse"]).decode()
    policy = '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="false"/>'
    again = base64.b64decode(posted_form(send(client, _policy_request("_p2", policy)))[1]["SAMLResponse"]).decode()
    name_id = re.search(r"nameid-format:persistent\"[^>]*>([^<]+)<", first).group(1)
    assert name_id in again and "status:Success" in again


def test_changes_to_the_sp_and_its_groups_apply_at_the_next_request(app, client, login, register, onelogin_sp):
    """The SP row and the app's groups are per-process copies: a change must drop them at once."""
    import json

    from idp.models import App, SamlServiceProvider
    registration = register()
    sp = onelogin_sp()
    login()
    sp.accept(client.get(sp.login_url()))
    with app.app_context():
        row = db.session.get(SamlServiceProvider, registration.sp_id)
        row.acs_endpoints = json.dumps([{"url": "https://sp.example.com/new-acs", "index": 0, "default": True}])
        db.session.commit()
    refused = client.get(sp.login_url())  # the old ACS URL is no longer registered
    assert refused.status_code == 400 and "SAMLResponse" not in refused.get_data(as_text=True)
    with app.app_context():
        db.session.get(App, registration.app_id).groups = []
        db.session.commit()
    from tests.protocols.saml.test_saml_errors import authn_request, send
    answer = send(client, authn_request(acs="https://sp.example.com/new-acs", request_id="_after_change"))
    assert posted_form(answer)[0] == "https://sp.example.com/new-acs"
    assert "status:RequestDenied" in base64.b64decode(posted_form(answer)[1]["SAMLResponse"]).decode()


def test_mfa_required_later_steps_up_before_the_next_assertion(app, client, login, register, onelogin_sp, clock):
    """A password session from before the MFA policy: the next SSO asks for password and second factor."""
    from urllib.parse import parse_qs, urlsplit

    from tests.support.mfa import post_form as post_page
    from tests.support.mfa import secret_on, set_mode, totp
    register()
    sp = onelogin_sp()
    login()
    sp.accept(client.get(sp.login_url()))
    set_mode(app, clock, "totp")
    passive = client.get(sp.login_url(is_passive=True))
    assert "status:NoPassive" in base64.b64decode(posted_form(passive)[1]["SAMLResponse"]).decode()
    first = client.get(sp.login_url())
    assert first.status_code == 302 and "reauth=1" in first.headers["Location"]
    resume = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    assert login(next_url=resume).headers["Location"] == "/login/mfa"
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    post_page(client, "/login/mfa/totp", {"code": totp(secret, clock)})
    auth = sp.accept(client.get(resume))
    assert auth.get_last_authn_contexts() == ["https://refeds.org/profile/mfa"]


PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MFA = "https://refeds.org/profile/mfa"
X509 = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509"


@pytest.mark.parametrize("mfa, comparison, requested, stated", [
    (False, "exact", [PPT], PPT),
    (False, "exact", [MFA], None),
    (False, "minimum", [MFA], None),
    (False, "minimum", [PPT], PPT),
    (False, "maximum", [MFA], PPT),
    (False, "better", [PPT], None),
    (True, "exact", [PPT], PPT),  # exact: one of the requested classes, even for a stronger session
    (True, "exact", [X509, MFA], MFA),
    (True, "exact", [X509], None),
    (True, "minimum", [PPT], MFA),
    (True, "better", [PPT], MFA),
    (True, "maximum", [PPT], PPT),
])
def test_requested_authn_context_is_met_or_answered_no_authn_context(app, client, register, onelogin_sp, clock,
                                                                     mfa, comparison, requested, stated):
    from idp.authn import sessions
    from idp.logs.audit import NO_CLIENT
    from idp.models import Account
    from idp.web.sso import SSO_COOKIE
    register()
    sp = onelogin_sp(requestedAuthnContext=requested, requestedAuthnContextComparison=comparison)
    with app.app_context():
        account = db.session.query(Account).filter_by(email="taro@acme.example.com").one()
        raw, _session = sessions.start(account, clock.now(), NO_CLIENT, amr=("pwd", "otp", "mfa") if mfa else ("pwd",))
        db.session.commit()
    client.set_cookie(SSO_COOKIE, raw)
    answer = client.get(sp.login_url())
    if stated is None:
        assert status_codes(answer) == ["urn:oasis:names:tc:SAML:2.0:status:Responder",
                                        "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"]
    else:
        assert sp.accept(answer).get_last_authn_contexts() == [stated]
