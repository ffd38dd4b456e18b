"""One address, accounts in two companies, a second factor in one or both (issue 14): at `/login` a
company whose policy requires MFA (with a factor enrolled) is named only after its code; the code page
names no company, a wrong code counts for each account it was checked against."""
import os
import re

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.models import Account, LoginEvent, SsoSession
from idp.platform.extensions import db
from tests.support.mfa import SmsOutbox, post_form, recovery_codes_on, secret_on, set_mode, totp

SAME = "same@example.com"
ALPHA, BETA = "アルファ株式会社", "ベータ株式会社"
WRONG_CODE = "000000"


@pytest.fixture
def config_overrides():
    return {"IDP_RATELIMIT_CODE_ACCOUNT": "50/minute"}  # the lockout, not the rate limit, is under test


@pytest.fixture
def sms_outbox(app):
    return SmsOutbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "sms"))


@pytest.fixture
def ids(app, factory):
    factory.tenant(slug="alpha", company=ALPHA)
    factory.tenant(slug="beta", company=BETA)
    return {"alpha": factory.account("alpha", email=SAME, mobile="090-1111-2222")[0],
            "beta": factory.account("beta", email=SAME, mobile="090-1111-2222")[0]}


def _sign_in(browser, url="/login"):
    return post_form(browser, url, {"email": SAME, "password": STRONG_PASSWORD, "next": ""})


def _enrol_totp(app, clock, slug):
    """The account of `slug` enrols an authenticator at its company's login page; returns its secret."""
    set_mode(app, clock, "totp", slug=slug)
    browser = app.test_client()
    assert _sign_in(browser, f"/t/{slug}/login").headers["Location"] == "/login/mfa"
    secret = secret_on(browser.get("/login/mfa/totp").get_data(as_text=True))
    done = post_form(browser, "/login/mfa/totp", {"code": totp(secret, clock)})
    assert len(recovery_codes_on(done.get_data(as_text=True))) == 10
    clock.advance(seconds=30)  # the next code is a new time step
    return secret, recovery_codes_on(done.get_data(as_text=True))


def _enrol_sms(app, clock, slug, sms_outbox):
    set_mode(app, clock, "sms", slug=slug)
    browser = app.test_client()
    assert _sign_in(browser, f"/t/{slug}/login").headers["Location"] == "/login/mfa"
    assert post_form(browser, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    done = post_form(browser, "/login/mfa/code", {"code": sms_outbox.last_code()})
    assert len(recovery_codes_on(done.get_data(as_text=True))) == 10
    clock.advance(seconds=61)  # the SMS throttle's interval


def _company_of(browser):
    match = re.search(r'<span class="company">([^<]*)</span>', browser.get("/").get_data(as_text=True))
    return match.group(1) if match else None


def _failures(app):
    with app.app_context():
        return {a.tenant.slug: a.failed_login_count or 0
                for a in db.session.scalars(select(Account).where(Account.email_normalized == SAME))}


def _amr_of(app, account_id):
    with app.app_context():
        return db.session.scalars(select(SsoSession.amr).where(SsoSession.account_id == account_id)
                                  .order_by(SsoSession.id.desc())).first()


def test_the_code_comes_before_any_company_is_named(app, clock, ids):
    secret, _ = _enrol_totp(app, clock, "alpha")
    browser = app.test_client()
    assert _sign_in(browser).headers["Location"] == "/login/choose/code"
    page = browser.get("/login/choose/code").get_data(as_text=True)
    assert ALPHA not in page and BETA not in page and 'name="code"' in page
    assert browser.get("/login/choose").headers["Location"] == "/login/choose/code"  # no list before the code
    wrong = post_form(browser, "/login/choose/code", {"code": WRONG_CODE})
    assert wrong.status_code == 400 and "認証コードが正しくありません。" in wrong.get_data(as_text=True)
    assert ALPHA not in wrong.get_data(as_text=True)
    assert _failures(app) == {"alpha": 1, "beta": 0}  # checked against alpha's factor only
    accepted = post_form(browser, "/login/choose/code", {"code": totp(secret, clock)})
    assert accepted.headers["Location"] == "/login/choose"
    choice = browser.get("/login/choose").get_data(as_text=True)
    assert ALPHA in choice and BETA in choice
    assert post_form(browser, "/login/choose", {"account": str(ids["alpha"])}).headers["Location"] == "/"
    assert _company_of(browser) == ALPHA
    assert "mfa" in _amr_of(app, ids["alpha"]).split()
    with app.app_context():
        event = db.session.scalars(select(LoginEvent).where(LoginEvent.result == "success")
                                   .order_by(LoginEvent.id.desc())).first()
    assert (event.account_id, event.protocol) == (ids["alpha"], "totp")


def test_without_the_code_only_the_companies_that_need_none(app, clock, ids):
    _enrol_totp(app, clock, "alpha")
    browser = app.test_client()
    _sign_in(browser)
    skipped = post_form(browser, "/login/choose/code")  # the page's own form posts to /login/choose/skip
    assert skipped.status_code == 400  # a code is required on the code form itself
    page = browser.get("/login/choose/code")
    skip = browser.post("/login/choose/skip", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert skip.headers["Location"] == "/"  # beta alone is left: signed in at once
    assert _company_of(browser) == BETA and _amr_of(app, ids["beta"]) == "pwd"


def test_each_company_its_own_authenticator(app, clock, ids):
    alpha_secret, _ = _enrol_totp(app, clock, "alpha")
    beta_secret, _ = _enrol_totp(app, clock, "beta")
    for secret, slug, company in ((beta_secret, "beta", BETA), (alpha_secret, "alpha", ALPHA)):
        browser = app.test_client()
        _sign_in(browser)
        page = browser.get("/login/choose/code").get_data(as_text=True)
        assert "二段階認証のない会社へ進む" not in page  # nothing is ready without a code
        done = post_form(browser, "/login/choose/code", {"code": totp(secret, clock)})
        assert done.headers["Location"] == "/"  # one company's factor accepted it: no choice to make
        assert _company_of(browser) == company and "mfa" in _amr_of(app, ids[slug]).split()
        clock.advance(seconds=30)


def test_a_recovery_code_opens_its_company(app, clock, ids):
    _, codes = _enrol_totp(app, clock, "alpha")
    _enrol_totp(app, clock, "beta")
    browser = app.test_client()
    _sign_in(browser)
    assert post_form(browser, "/login/choose/code", {"code": codes[0]}).headers["Location"] == "/"
    assert _company_of(browser) == ALPHA


def test_one_sms_for_the_number_both_companies_share(app, clock, ids, sms_outbox):
    _enrol_sms(app, clock, "alpha", sms_outbox)
    _enrol_sms(app, clock, "beta", sms_outbox)
    before = len(sms_outbox.messages())
    browser = app.test_client()
    _sign_in(browser)
    page = browser.get("/login/choose/code").get_data(as_text=True)
    assert "+********2222 に認証コードを送信します" in page  # the one number, masked
    sent = browser.post("/login/choose/code/sms", data={"csrf_token": csrf_token_from(page)})
    assert sent.headers["Location"] == "/login/choose/code"
    assert len(sms_outbox.messages()) == before + 1  # one SMS, one code for both accounts
    done = post_form(browser, "/login/choose/code", {"code": sms_outbox.last_code()})
    assert done.headers["Location"] == "/login/choose"
    choice = browser.get("/login/choose").get_data(as_text=True)
    assert ALPHA in choice and BETA in choice
    assert post_form(browser, "/login/choose", {"account": str(ids["beta"])}).headers["Location"] == "/"
    assert _company_of(browser) == BETA and "sms" in _amr_of(app, ids["beta"]).split()


def test_wrong_codes_lock_the_guarded_account_only(app, clock, ids):
    secret, _ = _enrol_totp(app, clock, "alpha")
    browser = app.test_client()
    _sign_in(browser)
    for _ in range(5):
        post_form(browser, "/login/choose/code", {"code": WRONG_CODE})
    assert _failures(app) == {"alpha": 5, "beta": 0}
    locked = post_form(browser, "/login/choose/code", {"code": totp(secret, clock)})
    assert "ロックされています" in locked.get_data(as_text=True)
    assert _company_of(browser) is None


def test_a_policy_that_asks_another_method_enrols_it_after_the_choice(app, clock, ids):
    secret, _ = _enrol_totp(app, clock, "alpha")
    set_mode(app, clock, "sms", slug="alpha")
    browser = app.test_client()
    _sign_in(browser)
    assert post_form(browser, "/login/choose/code", {"code": totp(secret, clock)}).headers["Location"] == \
        "/login/choose"
    chosen = post_form(browser, "/login/choose", {"account": str(ids["alpha"])})
    assert chosen.headers["Location"] == "/login/mfa"
    assert browser.get("/login/mfa").headers["Location"] == "/login/mfa/sms"  # the new method, no second TOTP
    assert _company_of(browser) is None
