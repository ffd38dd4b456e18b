"""The password alone never gets a factor of its own onto an enrolled account.

- an enrolled SMS number cannot be re-set after the password step (only while SMS is not yet verified);
- a code sent to the previous number does not confirm a re-set number;
- when the policy switches method, the enrolled factor (or a recovery code) is checked before the new
  method is enrolled;
- a recovery code works on the SMS page without sending anything (lost phone).
"""
import os

import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import AuditEvent, MfaFactor, SsoSession
from idp.platform.extensions import db
from tests.support.mfa import SmsOutbox, post_form, recovery_codes_on, secret_on, set_mode, totp

WRONG_CODE = "認証コードが正しくありません。"


@pytest.fixture
def sms_outbox(app):
    return SmsOutbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "sms"))


def step_of(client):
    return client.get("/login/mfa").headers["Location"]


def factor(app):
    with app.app_context():
        row = db.session.scalar(select(MfaFactor))
        return None if row is None else (row.method, row.phone)


def fresh_login(client, login, clock):
    client.delete_cookie("idp_sso")
    clock.advance(minutes=1)
    assert login().headers["Location"] == "/login/mfa"


def enrol_sms(client, login, factory, app, clock, sms_outbox):
    factory.tenant()
    factory.account(mobile="09012345678")
    set_mode(app, clock, "sms")
    login()
    post_form(client, "/login/mfa/sms")
    done = post_form(client, "/login/mfa/code", {"code": sms_outbox.last_code()})
    return recovery_codes_on(done.get_data(as_text=True))


def enrol_totp(client, login, factory, app, clock):
    factory.tenant()
    factory.account(mobile="09012345678")
    set_mode(app, clock, "totp")
    login()
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    done = post_form(client, "/login/mfa/totp", {"code": totp(secret, clock)})
    return secret, recovery_codes_on(done.get_data(as_text=True))


def test_enrolled_number_cannot_be_re_set_after_the_password(client, login, app, factory, clock, sms_outbox):
    enrol_sms(client, login, factory, app, clock, sms_outbox)
    fresh_login(client, login, clock)
    page = client.get("/login/mfa/sms").get_data(as_text=True)
    assert "電話番号再設定" not in page  # no link to the re-set page
    assert 'href="/login/mfa/phone"' not in page
    refused = client.get("/login/mfa/phone")
    assert refused.status_code == 403 and "管理者に二段階認証のリセット" in refused.get_data(as_text=True)
    token = csrf_token_from(page)
    forced = client.post("/login/mfa/phone", data={"csrf_token": token, "phone": "08011112222",
                                                   "phone_confirm": "08011112222"})
    assert forced.status_code == 403
    assert factor(app) == ("sms", "+819012345678")
    post_form(client, "/login/mfa/sms")
    assert sms_outbox.messages()[-1][0] == "+819012345678"  # codes still go to the enrolled number


def test_a_code_sent_before_the_number_was_re_set_does_not_confirm_it(
        client, login, app, factory, clock, sms_outbox):
    factory.tenant()
    factory.account(mobile="09012345678")
    set_mode(app, clock, "sms")
    login()
    post_form(client, "/login/mfa/sms")
    first_code = sms_outbox.last_code()
    assert post_form(client, "/login/mfa/phone", {"phone": "08011112222", "phone_confirm": "08011112222"}) \
        .headers["Location"] == "/login/mfa/sms"
    assert step_of(client) == "/login/mfa/sms"  # the new number must get its own code
    assert client.get("/login/mfa/code").headers["Location"] == "/login/mfa"
    clock.advance(seconds=60)
    post_form(client, "/login/mfa/sms")
    second_code = sms_outbox.last_code()
    assert sms_outbox.messages()[-1][0] == "+818011112222"
    if first_code != second_code:
        stale = post_form(client, "/login/mfa/code", {"code": first_code})
        assert WRONG_CODE in stale.get_data(as_text=True)
    assert post_form(client, "/login/mfa/code", {"code": second_code}).status_code == 200
    assert factor(app) == ("sms", "+818011112222")


def test_switch_from_totp_to_sms_needs_the_app_code_first(client, login, app, factory, clock, sms_outbox):
    secret, _codes = enrol_totp(client, login, factory, app, clock)
    set_mode(app, clock, "sms")
    fresh_login(client, login, clock)
    assert step_of(client) == "/login/mfa/code"  # not the SMS or phone pages
    for url in ("/login/mfa/sms", "/login/mfa/phone"):
        assert client.get(url).headers["Location"] == "/login/mfa", url
    assert WRONG_CODE in post_form(client, "/login/mfa/code", {"code": "000000"}).get_data(as_text=True)
    checked = post_form(client, "/login/mfa/code", {"code": totp(secret, clock)})
    assert checked.headers["Location"] == "/login/mfa"
    assert client.get_cookie("idp_sso") is None and len(sessions(app)) == 1  # no new session yet
    assert step_of(client) == "/login/mfa/sms"
    assert "電話番号再設定" in client.get("/login/mfa/sms").get_data(as_text=True)  # a new SMS factor: settable
    post_form(client, "/login/mfa/sms")
    done = post_form(client, "/login/mfa/code", {"code": sms_outbox.last_code()})
    assert done.status_code == 200 and len(recovery_codes_on(done.get_data(as_text=True))) == 10
    assert factor(app) == ("sms", "+819012345678")
    assert sessions(app)[-1].amr == "pwd sms mfa"
    with app.app_context():
        methods = [e.changes["method"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mfa.enrolled").order_by(AuditEvent.id))]
        assert methods == ["totp", "sms"]


def test_switch_from_sms_to_totp_with_a_recovery_code(client, login, app, factory, clock, sms_outbox):
    codes = enrol_sms(client, login, factory, app, clock, sms_outbox)
    sent = len(sms_outbox.messages())
    set_mode(app, clock, "totp")
    fresh_login(client, login, clock)
    assert step_of(client) == "/login/mfa/sms"
    assert client.get("/login/mfa/totp").headers["Location"] == "/login/mfa"
    checked = post_form(client, "/login/mfa/code", {"code": codes[0]})  # phone lost: no SMS sent
    assert checked.headers["Location"] == "/login/mfa"
    assert step_of(client) == "/login/mfa/totp"
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    done = post_form(client, "/login/mfa/totp", {"code": totp(secret, clock)})
    assert done.status_code == 200 and factor(app) == ("totp", "")
    assert len(sms_outbox.messages()) == sent


def test_cancelled_switch_keeps_the_old_factor(client, login, app, factory, clock):
    secret, _codes = enrol_totp(client, login, factory, app, clock)
    set_mode(app, clock, "sms")
    fresh_login(client, login, clock)
    post_form(client, "/login/mfa/code", {"code": totp(secret, clock)})
    page = client.get("/login/mfa/sms").get_data(as_text=True)
    client.post("/login/mfa/cancel", data={"csrf_token": csrf_token_from(page)})
    assert factor(app) == ("totp", "")
    fresh_login(client, login, clock)
    assert step_of(client) == "/login/mfa/code"  # the next attempt starts with the app code again


def test_recovery_code_on_the_sms_page_without_sending(client, login, app, factory, clock, sms_outbox):
    codes = enrol_sms(client, login, factory, app, clock, sms_outbox)
    sent = len(sms_outbox.messages())
    fresh_login(client, login, clock)
    page = client.get("/login/mfa/sms").get_data(as_text=True)
    assert 'href="/login/mfa/code"' in page and "回復コードを使う" in page
    code_page = client.get("/login/mfa/code").get_data(as_text=True)
    assert "回復コード（xxxx-xxxx-xxxx）を入力してください。" in code_page
    assert WRONG_CODE in post_form(client, "/login/mfa/code", {"code": "123456"}).get_data(as_text=True)
    assert post_form(client, "/login/mfa/code", {"code": codes[1]}).headers["Location"] == "/"
    assert len(sms_outbox.messages()) == sent
    assert sessions(app)[-1].amr == "pwd otp mfa"


def test_sms_not_yet_enrolled_takes_no_code_before_sending(client, login, app, factory, clock):
    factory.tenant()
    factory.account(mobile="09012345678")
    set_mode(app, clock, "sms")
    login()
    assert client.get("/login/mfa/code").headers["Location"] == "/login/mfa"
    token = csrf_token_from(client.get("/login/mfa/sms").get_data(as_text=True))
    assert client.post("/login/mfa/code", data={"csrf_token": token, "code": "123456"}).headers["Location"] \
        == "/login/mfa"


def sessions(app):
    with app.app_context():
        rows = db.session.scalars(select(SsoSession).order_by(SsoSession.id)).all()
        db.session.expunge_all()
        return rows
