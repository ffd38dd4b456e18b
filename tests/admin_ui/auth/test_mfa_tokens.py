"""A login with a second factor shows in the ID token (amr, acr), verified by an independent RP (joserfc);
a half-done login gets no code."""
import os
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.protocols.oidc.conftest import REDIRECT_URI, RelyingParty
from tests.support.mfa import SmsOutbox, post_form, secret_on, set_mode, totp


@pytest.fixture
def registration(app, factory, clock):
    factory.tenant()
    factory.account(mobile="09012345678")
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = oidc_clients.register(
            tenant, oidc_clients.ClientSettings(
                name="経費精算", redirect_uris=(REDIRECT_URI,)),
            groups=[groups.default_group(tenant)], now=clock.now(), actor=OPERATOR)
        db.session.commit()
        return SimpleNamespace(**created.as_json())


def totp_step(client, app, clock):
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    return post_form(client, "/login/mfa/totp", {"code": totp(secret, clock)})


def sms_step(client, app, clock):
    assert post_form(client, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    code = SmsOutbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "sms")).last_code()
    return post_form(client, "/login/mfa/code", {"code": code})


@pytest.mark.parametrize("mode, second_step, amr", [("totp", totp_step, ["pwd", "otp", "mfa"]),
                                                    ("sms", sms_step, ["pwd", "sms", "mfa"])])
def test_id_token_carries_amr_and_acr_of_the_mfa_login(client, login, app, clock, registration,
                                                       mode, second_step, amr):
    set_mode(app, clock, mode)
    rp = RelyingParty(client, clock, login)
    first = rp.authorize(registration)
    next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    assert login(next_url=next_url).headers["Location"] == "/login/mfa"
    done = second_step(client, app, clock)
    assert f'href="{next_url}"'.replace("&", "&amp;") in done.get_data(as_text=True)
    code = rp.code_from(client.get(next_url))
    body = rp.exchange(registration, code).get_json()
    claims = rp.verify(body["id_token"], registration.client_id).claims
    assert claims["amr"] == amr
    assert claims["acr"] == "urn:matome:acr:mfa"


def test_password_only_login_has_no_mfa_in_the_token(client, login, app, clock, registration):
    rp = RelyingParty(client, clock, login)
    claims = rp.verify(rp.full_login(registration).get_json()["id_token"], registration.client_id).claims
    assert claims["amr"] == ["pwd"] and claims["acr"] != "urn:matome:acr:mfa"


def test_half_done_login_gets_no_code_and_no_page(client, login, app, clock, registration):
    set_mode(app, clock, "totp")
    rp = RelyingParty(client, clock, login)
    first = rp.authorize(registration)
    next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    assert login(next_url=next_url).headers["Location"] == "/login/mfa"
    again = client.get(next_url)  # the app's request, password typed, code pending
    assert again.status_code == 302 and again.headers["Location"].startswith("/t/acme/login?")
    for path in ("/", "/profile", "/password", "/mfa", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert client.get_cookie("idp_sso") is None


def test_mfa_required_later_steps_up_before_the_next_code(client, login, app, clock, registration):
    """A password session from before the MFA policy: prompt=none gets login_required, a normal request
    re-authenticates (password, then the second factor) and the new ID token says so."""
    rp = RelyingParty(client, clock, login)
    rp.full_login(registration)  # a live password-only session
    set_mode(app, clock, "totp")
    passive = rp.authorize(registration, prompt="none")
    assert passive.status_code == 302
    assert parse_qs(urlsplit(passive.headers["Location"]).query)["error"] == ["login_required"]
    first = rp.authorize(registration)
    assert first.status_code == 302 and "/login?" in first.headers["Location"]
    assert "reauth=1" in first.headers["Location"]
    next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    assert login(next_url=next_url).headers["Location"] == "/login/mfa"
    totp_step(client, app, clock)
    claims = rp.verify(rp.exchange(registration, rp.code_from(client.get(next_url))).get_json()["id_token"],
                       registration.client_id).claims
    assert claims["amr"] == ["pwd", "otp", "mfa"]
