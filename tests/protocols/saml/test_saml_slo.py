"""Single Logout (front channel): SP-initiated, from the portal and from OIDC RP-initiated logout.

The other SPs of the session get our signed LogoutRequest in hidden frames of one page that goes on
by itself (JavaScript, meta refresh, link), so an SP that does not answer never holds the user up."""
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request

from idp.models import SamlParticipant
from idp.platform.extensions import db
from tests.protocols.saml.conftest import SP2_ENTITY, OneLoginSp, csrf_token_of

SP3_ENTITY = "https://sp3.example.com/metadata"


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def local(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def propagation(page):
    """(frame URLs, continue URL) of the propagation page; asserts it goes on by itself."""
    body = page.get_data(as_text=True)
    assert page.status_code == 200, body[:400]
    frames = [html.unescape(u) for u in re.findall(r'<iframe class="saml-slo" src="([^"]+)"', body)]
    target = html.unescape(re.search(r'id="saml-slo-continue" href="([^"]+)"', body).group(1))
    refresh = html.unescape(re.search(r'<meta http-equiv="refresh" content="(\d+);url=([^"]+)">', body).group(2))
    assert refresh == target and "setTimeout(go, 5000)" in body
    policy = page.headers["Content-Security-Policy"]
    assert "frame-src https:" in policy
    nonce = re.search(r'<script nonce="([^"]+)">', body).group(1)
    assert f"'nonce-{nonce}'" in policy  # the script may run
    return frames, target


@pytest.fixture
def two_sps(client, register, onelogin_sp, sp2_keys):
    """SP 1 and SP 2 (both with SLO URLs) and SP 3 (without), all signed into by the logged-in browser."""
    def _signed_in(login):
        register()
        register(entity_id=SP2_ENTITY, acs_urls=("https://sp2.example.com/acs",), signing_cert=sp2_keys.cert,
                 slo_url="https://sp2.example.com/slo", name="勤怠")
        register(entity_id=SP3_ENTITY, acs_urls=("https://sp3.example.com/acs",), slo_url="", name="名刺",
                 signing_cert=sp2_keys.cert)
        sp1 = onelogin_sp()
        sp2 = OneLoginSp(client, sp2_keys, entity_id=SP2_ENTITY, acs="https://sp2.example.com/acs",
                         slo="https://sp2.example.com/slo")
        sp3 = OneLoginSp(client, sp2_keys, entity_id=SP3_ENTITY, acs="https://sp3.example.com/acs",
                         slo="https://sp3.example.com/slo")
        login()
        logins = {sp: sp.accept(client.get(sp.login_url())) for sp in (sp1, sp2, sp3)}
        return sp1, sp2, logins
    return _signed_in


def assert_sp_logs_out(client, sp, frame_url, signed_in):
    """The SP verifies our LogoutRequest (signature, NameID, SessionIndex) and its answer reaches us."""
    at_sp = sp._auth("/slo", get=query_of(frame_url))
    back_url = at_sp.process_slo(keep_local_session=True)
    assert at_sp.get_errors() == [], at_sp.get_last_error_reason()
    request_xml = at_sp.get_last_request_xml()
    assert OneLogin_Saml2_Logout_Request.get_nameid(request_xml) == signed_in.get_nameid()
    assert OneLogin_Saml2_Logout_Request.get_session_indexes(request_xml) == [signed_in.get_session_index()]
    answered = client.get(local(back_url))  # in the frame
    assert answered.status_code == 200 and "ログアウトしました" in answered.get_data(as_text=True)
    assert "frame-ancestors 'self'" in answered.headers["Content-Security-Policy"]


def test_sp_initiated_logout_propagates_and_answers(client, login, two_sps):
    sp1, sp2, logins = two_sps(login)
    logout = sp1._auth("/slo")
    url = logout.logout(name_id=logins[sp1].get_nameid(), session_index=logins[sp1].get_session_index(),
                        name_id_format=logins[sp1].get_nameid_format(), return_to="back-1")
    request_id = logout.get_last_request_id()
    frames, target = propagation(client.get(local(url)))
    assert client.get("/").status_code == 302  # the SSO session is over before any SP answered
    assert len(frames) == 1 and frames[0].startswith("https://sp2.example.com/slo?")  # not SP 1, not SP 3
    assert_sp_logs_out(client, sp2, frames[0], logins[sp2])

    assert target.startswith("https://sp.example.com/slo?")
    at_sp1 = sp1._auth("/slo", get=query_of(target))
    at_sp1.process_slo(keep_local_session=True, request_id=request_id)
    assert at_sp1.get_errors() == [], at_sp1.get_last_error_reason()  # signed LogoutResponse, InResponseTo
    assert query_of(target)["RelayState"] == "back-1"
    assert "/login?" in client.get(sp1.login_url()).headers["Location"]


def test_sp_initiated_logout_of_the_only_sp_answers_at_once(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    login()
    signed_in = sp.accept(client.get(sp.login_url()))
    logout = sp._auth("/slo")
    url = logout.logout(name_id=signed_in.get_nameid(), session_index=signed_in.get_session_index())
    answer = client.get(local(url))
    assert answer.status_code == 302 and answer.headers["Location"].startswith("https://sp.example.com/slo?")
    at_sp = sp._auth("/slo", get=query_of(answer.headers["Location"]))
    at_sp.process_slo(keep_local_session=True, request_id=logout.get_last_request_id())
    assert at_sp.get_errors() == [], at_sp.get_last_error_reason()
    assert client.get(local(url)).status_code == 400  # the same LogoutRequest again: a replay


def test_portal_logout_sends_logout_requests_then_goes_to_login(app, client, login, two_sps):
    sp1, sp2, logins = two_sps(login)
    page = client.get("/logout")
    posted = client.post("/logout", data={"csrf_token": csrf_token_of(page)})
    assert posted.status_code == 302 and "/t/acme/saml/slo/propagate?s=" in posted.headers["Location"]
    assert client.get("/").status_code == 302  # signed out already: nothing waits for the SPs
    frames, target = propagation(client.get(local(posted.headers["Location"])))
    assert target == "/login"
    assert sorted(urlsplit(f).hostname for f in frames) == ["sp.example.com", "sp2.example.com"]
    for sp in (sp1, sp2):
        assert_sp_logs_out(client, sp, next(f for f in frames if urlsplit(f).hostname == sp.acs_host), logins[sp])
    again = client.get(local(posted.headers["Location"]))  # reloaded: nobody is asked twice
    assert again.status_code == 302 and again.headers["Location"] == "/login"
    assert "ログアウトしました" in client.get("/login").get_data(as_text=True)
    with app.app_context():
        assert db.session.query(SamlParticipant).filter(SamlParticipant.logged_out_at.is_(None)).count() == 1


def test_an_sp_that_never_answers_does_not_keep_the_user_signed_in(client, login, two_sps):
    two_sps(login)
    page = client.get("/logout")
    posted = client.post("/logout", data={"csrf_token": csrf_token_of(page)})
    # the browser never loads the frames (the SPs are down): the session is over all the same
    assert client.get("/").status_code == 302
    assert "/login?" in client.get("/t/acme/saml/launch/1").headers["Location"]
    assert posted.headers["Location"]


def test_portal_logout_without_saml_sps_goes_straight_to_login(client, login, register, onelogin_sp):
    register(slo_url="")
    sp = onelogin_sp()
    login()
    sp.accept(client.get(sp.login_url()))
    posted = client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/logout"))})
    assert posted.headers["Location"] == "/login"


@pytest.mark.parametrize("token", ["garbage", ""])
def test_propagation_page_needs_a_valid_token(client, login, two_sps, token):
    two_sps(login)
    assert client.get(f"/t/acme/saml/slo/propagate?s={token}").status_code == 400


def test_propagation_token_is_bound_to_its_tenant(client, factory, login, two_sps):
    two_sps(login)
    factory.tenant("other")
    posted = client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/logout"))})
    token = query_of(posted.headers["Location"])["s"]
    assert client.get(f"/t/other/saml/slo/propagate?s={token}").status_code == 400


def test_oidc_rp_initiated_logout_also_logs_out_of_saml_sps(app, client, clock, login, two_sps):
    from idp.directory import groups
    from idp.logs.audit import OPERATOR
    from idp.oidc import clients as oidc_clients
    from idp.tenancy import tenants
    sp1, sp2, logins = two_sps(login)
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = oidc_clients.register(
            tenant, oidc_clients.ClientSettings(
                name="rp", redirect_uris=["https://rp.example.com/cb"],
                post_logout_redirect_uris=["https://rp.example.com/bye"]),
            groups=[groups.default_group(tenant)], now=clock.now(), actor=OPERATOR)
        db.session.commit()
        client_id = created.client.client_id
    params = {"client_id": client_id, "post_logout_redirect_uri": "https://rp.example.com/bye"}
    page = client.get("/t/acme/oidc/logout", query_string=params)
    confirmed = client.post("/t/acme/oidc/logout", data={"confirm": "1", "csrf_token": csrf_token_of(page),
                                                         **params})
    assert "/t/acme/saml/slo/propagate?s=" in confirmed.headers["Location"]
    frames, target = propagation(client.get(local(confirmed.headers["Location"])))
    assert target == "https://rp.example.com/bye" and len(frames) == 2
    assert_sp_logs_out(client, sp2, next(f for f in frames if "sp2.example.com" in f), logins[sp2])


def test_unsigned_logout_request_is_refused(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp(logoutRequestSigned=False)
    login()
    first = sp.accept(client.get(sp.login_url()))
    url = sp._auth("/slo").logout(name_id=first.get_nameid(), session_index=first.get_session_index())
    assert client.get(local(url)).status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_logout_request_signed_by_another_key_is_refused(client, login, register, onelogin_sp, sp2_keys):
    register()
    sp = onelogin_sp()
    login()
    first = sp.accept(client.get(sp.login_url()))
    sp.settings["sp"]["privateKey"], sp.settings["sp"]["x509cert"] = sp2_keys.key, sp2_keys.cert
    url = sp._auth("/slo").logout(name_id=first.get_nameid(), session_index=first.get_session_index())
    assert client.get(local(url)).status_code == 400
    assert client.get("/").status_code == 200


def test_logout_request_over_post_binding(client, login, register, onelogin_sp, sp_keys):
    import base64

    from onelogin.saml2.settings import OneLogin_Saml2_Settings
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
    register()
    sp = onelogin_sp()
    login()
    first = sp.accept(client.get(sp.login_url()))
    request = OneLogin_Saml2_Logout_Request(OneLogin_Saml2_Settings(sp.settings), name_id=first.get_nameid(),
                                            session_index=first.get_session_index())
    signed = OneLogin_Saml2_Utils.add_sign(request.get_xml(), sp_keys.key, sp_keys.cert,
                                           sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                           digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    answer = client.post("/t/acme/saml/slo", data={"SAMLRequest": base64.b64encode(signed).decode()})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("https://sp.example.com/slo?")
    assert client.get("/").status_code == 302
