"""Issue 5 through OIDC: a password reset, a disabled account, an ended validity period or a deleted
account make the account's refresh and access tokens stop working at the next request."""
import datetime
import re

import pytest

from idp.authn import password_reset
from idp.console import accounts as console_accounts
from idp.logs.audit import NO_CLIENT, OPERATOR
from idp.models import Account
from idp.platform.clock import local_date
from idp.platform.extensions import db

OFFLINE = "openid profile offline_access"
EMAIL = "taro@acme.example.com"


def _refresh(rp, registration, token):
    return rp.token(registration, {"grant_type": "refresh_token", "refresh_token": token})


def _userinfo(rp, token):
    return rp.http.get("/t/acme/oidc/userinfo", headers={"Authorization": f"Bearer {token}"})


def _account(app):
    return db.session.query(Account).filter_by(email=EMAIL).one()


def _reset_password(app, clock, outbox):
    password_reset.request_reset(EMAIL, now=clock.now(), client=NO_CLIENT)
    db.session.commit()
    [mail] = outbox.to(EMAIL)[-1:]
    token = re.search(r"/password/reset/([A-Za-z0-9_-]+)", outbox.body(mail)).group(1)
    password_reset.reset_password(token, password="Brand-New-Passw0rd!", confirm="Brand-New-Passw0rd!",
                                  now=clock.now(), client=NO_CLIENT)


def _disable(app, clock, outbox):
    console_accounts.set_status(_account(app), "disabled", now=clock.now(), actor=OPERATOR)


def _validity_ends(app, clock, outbox):
    _account(app).valid_to = local_date(clock.now()) - datetime.timedelta(days=1)


@pytest.mark.parametrize("change", [_reset_password, _disable, _validity_ends], ids=["reset", "disable", "valid_to"])
def test_tokens_stop_working_at_the_next_request(rp, rp_client, app, clock, outbox, change):
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    assert _userinfo(rp, body["access_token"]).status_code == 200
    with app.app_context():
        change(app, clock, outbox)
        db.session.commit()
    refreshed = _refresh(rp, rp_client, body["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    assert _userinfo(rp, body["access_token"]).status_code == 401
    # and the browser's SSO session is gone too: a new authorization asks for the password again
    again = rp.authorize(rp_client)
    assert again.status_code == 302 and "/login?" in again.headers["Location"]


def test_refresh_works_again_for_a_re_enabled_account_only_after_a_new_login(rp, rp_client, app, clock):
    body = rp.full_login(rp_client, scope=OFFLINE).get_json()
    with app.app_context():
        console_accounts.set_status(_account(app), "disabled", now=clock.now(), actor=OPERATOR)
        db.session.commit()
        console_accounts.set_status(_account(app), "enabled", now=clock.now(), actor=OPERATOR)
        db.session.commit()
    # disabling revoked the grant: re-enabling does not bring the old refresh token back
    assert _refresh(rp, rp_client, body["refresh_token"]).get_json()["error"] == "invalid_grant"
    fresh = rp.full_login(rp_client, scope=OFFLINE).get_json()
    assert _refresh(rp, rp_client, fresh["refresh_token"]).status_code == 200
