"""One person holding the contracts of two companies (issue 14): the contract login picks the company
after the password, and a reset mails one link per company."""
import re

import pytest

from conftest import csrf_token_from
from tests.support.owners import OWNER_PASSWORD, activate_owner, mailed_links, owner_login

OWNER = "owner@example.com"


@pytest.fixture
def two_contracts(factory, submit, outbox):
    factory.tenant(slug="alpha", company="アルファ株式会社", owner_email=OWNER)
    factory.tenant(slug="beta", company="ベータ株式会社", owner_email=OWNER)
    paths = mailed_links(outbox, OWNER, "/contract/activate/")
    for path, password in zip(paths, (OWNER_PASSWORD, "Beta-Momiji-2026")):
        assert submit(path, {"password": password, "password_confirm": password}).status_code == 302


def test_each_password_opens_its_own_contract(app, two_contracts):
    for password, company in ((OWNER_PASSWORD, "アルファ株式会社"), ("Beta-Momiji-2026", "ベータ株式会社")):
        browser = app.test_client()
        response = owner_login(browser, OWNER, password)
        assert response.status_code == 302 and response.headers["Location"] == "/contract/"
        assert company in browser.get("/contract/").get_data(as_text=True)


def test_the_same_password_offers_the_choice(app, factory, submit, outbox):
    factory.tenant(slug="alpha", company="アルファ株式会社", owner_email=OWNER)
    factory.tenant(slug="beta", company="ベータ株式会社", owner_email=OWNER)
    for path in mailed_links(outbox, OWNER, "/contract/activate/"):
        submit(path, {"password": OWNER_PASSWORD, "password_confirm": OWNER_PASSWORD})
    browser = app.test_client()
    assert owner_login(browser, OWNER, "Wrong-Password-99").status_code == 200
    response = owner_login(browser, OWNER)
    assert response.headers["Location"] == "/contract/login/choose"
    page = browser.get("/contract/login/choose").get_data(as_text=True)
    assert "アルファ株式会社" in page and "ベータ株式会社" in page and 'name="remember"' not in page
    beta = re.search(r'value="(\d+)">ベータ株式会社', page).group(1)
    assert browser.get("/contract/").status_code == 302  # nothing before the choice
    chosen = browser.post("/contract/login/choose", data={"csrf_token": csrf_token_from(page), "account": beta})
    assert chosen.headers["Location"] == "/contract/"
    assert "ベータ株式会社" in browser.get("/contract/").get_data(as_text=True)


def test_forgot_password_mails_one_link_per_contract(app, two_contracts, outbox, submit):
    before = len(outbox.to(OWNER))
    submit("/contract/password/forgot", {"email": OWNER})
    [mail] = outbox.to(OWNER)[before:]
    body = outbox.body(mail)
    assert "アルファ株式会社" in body and "ベータ株式会社" in body
    [alpha_link, beta_link] = [link for link in mailed_links(outbox, OWNER, "/contract/password/reset/")]
    assert submit(beta_link, {"password": "Reset-Kaede-2026", "password_confirm": "Reset-Kaede-2026"}
                  ).status_code == 302
    assert owner_login(app.test_client(), OWNER, "Reset-Kaede-2026").headers["Location"] == "/contract/"
    assert owner_login(app.test_client(), OWNER, OWNER_PASSWORD).headers["Location"] == "/contract/"  # alpha's


def test_handing_over_to_another_companys_owner_is_allowed(app, factory, submit, outbox):
    factory.tenant(slug="alpha", company="アルファ株式会社")
    factory.tenant(slug="beta", company="ベータ株式会社", owner_email=OWNER)
    activate_owner(submit, outbox, "owner@alpha.example.com")
    browser = app.test_client()
    owner_login(browser, "owner@alpha.example.com")
    page = browser.get("/contract/handover").get_data(as_text=True)
    response = browser.post("/contract/handover", data={"csrf_token": csrf_token_from(page), "email": OWNER,
                                                        "name": "兼任 花子"})
    assert response.status_code == 302
    assert mailed_links(outbox, OWNER, "/contract/handover/")
