"""ForceAuthn and the step-up ask for this request's own login (SAML Core 3.4.1), to the instant.

The clock is frozen and never advanced: the login and the AuthnRequest happen in the same instant (not even a
millisecond apart). The login made for the request's return URL counts exactly once; the same return URL
again, also after another login, asks for the password again. The SP is python3-saml (conftest)."""
from urllib.parse import parse_qs, urlsplit

from tests.protocols.saml.conftest import posted_form
from tests.support.mfa import post_form, recovery_codes_on, secret_on, set_mode, totp


def to_login(response):
    """The `next` of a redirect to the login page that asks for the password again (reauth=1)."""
    assert response.status_code == 302 and "/login?" in response.headers["Location"], response.get_data(True)[:300]
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["reauth"] == ["1"]
    return query["next"][0]


def test_force_authn_in_the_instant_of_a_login_asks_for_the_password(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    login()
    before = sp.accept(client.get(sp.login_url()))
    return_url = to_login(client.get(sp.login_url(force_authn=True)))  # same instant as that login: still asked
    assert login(next_url=return_url).headers["Location"] == return_url
    after = sp.accept(client.get(return_url))  # the login made for this request: accepted
    assert after.get_session_index() != before.get_session_index()  # a new session, in the same second
    to_login(client.get(return_url))  # the same return URL again: that login was spent


def test_a_replayed_return_url_after_another_login_asks_again(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    login()
    return_url = to_login(client.get(sp.login_url(force_authn=True)))
    login(next_url=return_url)
    sp.accept(client.get(return_url))
    login()  # another login (the portal's), not for that request
    to_login(client.get(return_url))


def test_force_authn_without_a_session_then_a_plain_request(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp()
    first = client.get(sp.login_url(force_authn=True))
    return_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    login(next_url=return_url)
    sp.accept(client.get(return_url))
    sp.accept(client.get(sp.login_url()))  # the live session serves requests that do not force a login


def test_is_passive_with_force_authn_in_the_instant_of_a_login_answers_no_passive(client, login, register,
                                                                                  onelogin_sp):
    import base64
    register()
    sp = onelogin_sp()
    login()
    answer = client.get(sp.login_url(force_authn=True, is_passive=True))
    assert "status:NoPassive" in base64.b64decode(posted_form(answer)[1]["SAMLResponse"]).decode()


def test_step_up_with_force_authn_in_the_instant_of_the_policy_change(
        app, client, login, register, onelogin_sp, clock):
    """Login, MFA required and the request in one instant: password and a newly enrolled factor (then the
    recovery codes' page); the return URL is accepted once, with the MFA context."""
    register()
    sp = onelogin_sp()
    login()
    sp.accept(client.get(sp.login_url()))
    set_mode(app, clock, "totp")
    return_url = to_login(client.get(sp.login_url(force_authn=True)))
    assert login(next_url=return_url).headers["Location"] == "/login/mfa"
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    codes_page = post_form(client, "/login/mfa/totp", {"code": totp(secret, clock)})
    assert codes_page.status_code == 200 and recovery_codes_on(codes_page.get_data(as_text=True))
    auth = sp.accept(client.get(return_url))
    assert auth.get_last_authn_contexts() == ["https://refeds.org/profile/mfa"]
    to_login(client.get(return_url))  # spent
