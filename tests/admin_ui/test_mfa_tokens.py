"""A login with a second factor shows in the ID token (amr, acr), verified by an independent RP (joserfc)."""
from urllib.parse import parse_qs, urlsplit

from conftest import csrf_token_from
from idp import groups, oidc_clients, tenants
from idp.audit import OPERATOR
from idp.extensions import db
from tests.protocols.oidc.conftest import REDIRECT_URI, RelyingParty
from tests.support.mfa import secret_on, set_mode, totp


def test_id_token_carries_amr_and_acr_of_the_mfa_login(client, login, app, factory, clock):
    factory.tenant()
    factory.account()
    set_mode(app, clock, "totp")
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        registration = oidc_clients.register(tenant, name="経費精算", redirect_uris=(REDIRECT_URI,),
                                             groups=[groups.default_group(tenant)], now=clock.now(), actor=OPERATOR)
        db.session.commit()
        created = registration.as_json()
        client_id, client_secret = created["client_id"], created["client_secret"]
    rp = RelyingParty(client, clock, login)
    registration = type("Registration", (), {"client_id": client_id, "client_secret": client_secret})
    first = rp.authorize(registration)
    next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    assert login(next_url=next_url).headers["Location"] == "/login/mfa"
    page = client.get("/login/mfa/totp").get_data(as_text=True)
    done = client.post("/login/mfa/totp", data={"csrf_token": csrf_token_from(page),
                                                "code": totp(secret_on(page), clock)})
    assert f'href="{next_url}"'.replace("&", "&amp;") in done.get_data(as_text=True)
    code = rp.code_from(client.get(next_url))
    body = rp.exchange(registration, code).get_json()
    claims = rp.verify(body["id_token"], client_id).claims
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == "urn:matome:acr:mfa"
