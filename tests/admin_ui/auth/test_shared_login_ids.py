"""One address, accounts in two companies (issue 14): each tenant's account is its own, `/login` lets
the person pick the company after the password, `/t/{tenant}/login` signs in that tenant's only."""
import io
import re

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.models import Account, LoginEvent
from idp.platform.extensions import db
from tests.support.mfa import set_mode
from tests.support.owners import mailed_links

SAME = "same@example.com"
ALPHA_PASSWORD = "Alpha-Sakura-2026"
BETA_PASSWORD = "Beta-Momiji-2026"
FORM = {"name": "同名 太郎", "phone": "", "mobile": "", "organization": "", "department": "", "role": "user",
        "status": "enabled", "valid_from": "2026-04-01", "valid_to": ""}


@pytest.fixture
def companies(factory):
    factory.tenant(slug="alpha", company="アルファ株式会社")
    factory.tenant(slug="beta", company="ベータ株式会社")


def _post(browser, url, data, page_url=None):
    token = csrf_token_from(browser.get(page_url or url).get_data(as_text=True))
    return browser.post(url, data={"csrf_token": token, **data})


def _sign_in(browser, password, url="/login", email=SAME):
    return _post(browser, url, {"email": email, "password": password, "next": ""})


def _company_of(browser):
    html = browser.get("/").get_data(as_text=True)
    match = re.search(r'<span class="company">([^<]*)</span>', html)
    return match.group(1) if match else None


def _accounts(app):
    with app.app_context():
        return {a.tenant.slug: (a.id, a.activated, a.failed_login_count, a.locked_at is not None)
                for a in db.session.scalars(select(Account).where(Account.email_normalized == SAME))}


def _create_through_console(app, slug):
    admin = app.test_client()
    assert _sign_in(admin, STRONG_PASSWORD, f"/t/{slug}/login", f"admin@{slug}.example.com").status_code == 302
    with app.app_context():
        from idp.directory.groups import default_group
        from idp.tenancy import tenants
        group = default_group(tenants.get_by_slug(slug)).id
    return _post(admin, "/admin/accounts/new", {**FORM, "email": SAME, "group": str(group)})


@pytest.fixture
def both(app, companies, outbox, client):
    """Each company's admin creates `same@example.com` in the console; each activates with its own password."""
    responses = [_create_through_console(app, slug) for slug in ("alpha", "beta")]
    assert [r.status_code for r in responses] == [302, 302]  # the second answers as the first did
    links = mailed_links(outbox, SAME, "/activate/")
    bodies = [outbox.body(m) for m in outbox.to(SAME)]
    assert len(links) == 2 and "アルファ株式会社" in bodies[0] and "ベータ株式会社" in bodies[1]
    for link, password in zip(links, (ALPHA_PASSWORD, BETA_PASSWORD)):
        browser = app.test_client()
        done = _post(browser, link, {"password": password, "password_confirm": password})
        assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert {slug: row[1] for slug, row in _accounts(app).items()} == {"alpha": True, "beta": True}


def test_each_password_opens_its_own_company(app, both):
    for password, company in ((ALPHA_PASSWORD, "アルファ株式会社"), (BETA_PASSWORD, "ベータ株式会社")):
        browser = app.test_client()
        response = _sign_in(browser, password)
        assert response.status_code == 302 and response.headers["Location"] == "/"  # no choice: one matched
        assert _company_of(browser) == company


def test_tenant_login_page_signs_in_that_tenant_only(app, both):
    browser = app.test_client()
    page = browser.get("/t/beta/login").get_data(as_text=True)
    assert "ベータ株式会社 のアカウントでログインします。" in page and 'action="/t/beta/login"' in page
    wrong = _sign_in(browser, ALPHA_PASSWORD, "/t/beta/login")  # alpha's password means nothing at beta
    assert wrong.status_code == 200 and "メールアドレスまたはパスワードが正しくありません。" in wrong.get_data(as_text=True)
    assert _sign_in(browser, BETA_PASSWORD, "/t/beta/login").status_code == 302
    assert _company_of(browser) == "ベータ株式会社"
    assert app.test_client().get("/t/nope/login").status_code == 404


def test_same_password_offers_the_choice_after_authentication(app, companies, factory):
    factory.account("alpha", email=SAME)
    factory.account("beta", email=SAME)
    browser = app.test_client()
    wrong = _sign_in(browser, "Wrong-Password-99")
    assert "アルファ" not in wrong.get_data(as_text=True) and "ベータ" not in wrong.get_data(as_text=True)
    response = _sign_in(browser, STRONG_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/login/choose"
    page = browser.get("/login/choose").get_data(as_text=True)
    assert "アルファ株式会社" in page and "ベータ株式会社" in page
    ids = _accounts(app)
    assert browser.get("/").status_code == 302  # not signed in before the choice
    chosen = _post(browser, "/login/choose", {"account": str(ids["beta"][0])})
    assert chosen.status_code == 302 and chosen.headers["Location"] == "/"
    assert _company_of(browser) == "ベータ株式会社"
    with app.app_context():
        successes = db.session.scalars(select(LoginEvent.account_id).where(LoginEvent.result == "success")).all()
    assert successes == [ids["beta"][0]]


def test_a_remembered_company_skips_the_choice(app, companies, factory):
    factory.account("alpha", email=SAME)
    factory.account("beta", email=SAME)
    browser = app.test_client()
    _sign_in(browser, STRONG_PASSWORD)
    ids = _accounts(app)
    chosen = _post(browser, "/login/choose", {"account": str(ids["alpha"][0]), "remember": "y"})
    assert any(c.startswith("idp_company=alpha;") for c in chosen.headers.getlist("Set-Cookie"))
    _post(browser, "/logout", {})
    again = _sign_in(browser, STRONG_PASSWORD)
    assert again.headers["Location"] == "/" and _company_of(browser) == "アルファ株式会社"


def test_the_choice_accepts_only_the_offered_accounts_and_expires(app, companies, factory, clock):
    factory.account("alpha", email=SAME)
    factory.account("beta", email=SAME)
    other, _ = factory.account("alpha", email="other@example.com")
    browser = app.test_client()
    _sign_in(browser, STRONG_PASSWORD)
    assert _post(browser, "/login/choose", {"account": str(other)}).status_code == 400
    assert _company_of(browser) is None
    clock.advance(seconds=301)
    expired = browser.get("/login/choose")
    assert expired.status_code == 302 and expired.headers["Location"] == "/login"
    assert app.test_client().get("/login/choose").headers["Location"] == "/login"


def test_the_chosen_company_asks_its_own_second_factor(app, companies, factory, clock):
    factory.account("alpha", email=SAME)
    factory.account("beta", email=SAME)
    set_mode(app, clock, "totp", slug="beta")
    browser = app.test_client()
    _sign_in(browser, STRONG_PASSWORD)
    ids = _accounts(app)
    assert _post(browser, "/login/choose", {"account": str(ids["beta"][0])}).headers["Location"] == "/login/mfa"
    assert _company_of(browser) is None
    other = app.test_client()
    _sign_in(other, STRONG_PASSWORD)
    assert _post(other, "/login/choose", {"account": str(ids["alpha"][0])}).headers["Location"] == "/"


def test_locking_one_account_leaves_the_other_alone(app, both):
    browser = app.test_client()
    for _ in range(5):
        _sign_in(browser, "Wrong-Password-99", "/t/alpha/login")
    state = _accounts(app)
    assert state["alpha"][3] and not state["beta"][3] and state["beta"][2] == 0
    locked = _sign_in(browser, ALPHA_PASSWORD, "/t/alpha/login").get_data(as_text=True)
    assert "ロックされています" in locked
    assert _sign_in(browser, BETA_PASSWORD, "/t/beta/login").status_code == 302
    assert _sign_in(app.test_client(), BETA_PASSWORD).headers["Location"] == "/"  # /login too


def test_a_wrong_password_at_login_counts_for_each_account(app, both):
    _sign_in(app.test_client(), "Wrong-Password-99")
    assert {slug: row[2] for slug, row in _accounts(app).items()} == {"alpha": 1, "beta": 1}


def test_forgot_password_mails_one_link_per_company(app, both, outbox, client):
    before = len(outbox.to(SAME))
    answer = _post(client, "/password/forgot", {"email": SAME}).get_data(as_text=True)
    unknown = _post(app.test_client(), "/password/forgot", {"email": "nobody@example.com"}).get_data(as_text=True)
    assert answer.replace(SAME, "X") == unknown.replace("nobody@example.com", "X")
    [mail] = outbox.to(SAME)[before:]
    body = outbox.body(mail)
    assert "アルファ株式会社" in body and "ベータ株式会社" in body
    links = mailed_links(outbox, SAME, "/password/reset/")
    assert len(links) == 2
    new_password = "Reset-Kaede-2026"
    _post(app.test_client(), links[1], {"password": new_password, "password_confirm": new_password})
    assert _sign_in(app.test_client(), new_password, "/t/beta/login").status_code == 302
    assert _sign_in(app.test_client(), ALPHA_PASSWORD, "/t/alpha/login").status_code == 302  # alpha's unchanged
    assert _sign_in(app.test_client(), BETA_PASSWORD, "/t/beta/login").status_code == 200


def test_an_address_of_another_company_imports_like_a_new_one(app, companies, factory, outbox):
    factory.account("beta", email=SAME)
    admin = app.test_client()
    _sign_in(admin, STRONG_PASSWORD, "/t/alpha/login", "admin@alpha.example.com")
    header = "メールアドレス,名前,ユーザータイプ,組織名,部署名,所属グループ,携帯電話番号,電話番号,有効開始年月日,有効終了年月日,ステータス,論理削除フラグ"
    line = f"{SAME},同名 太郎,0,,,アルファ株式会社,,,2026/04/01,,0,0"
    token = csrf_token_from(admin.get("/admin/accounts/import").get_data(as_text=True))
    review = admin.post("/admin/accounts/import", data={
        "csrf_token": token, "file": (io.BytesIO(f"{header}\n{line}\n".encode()), "a.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    html = review.get_data(as_text=True)
    assert "取り込めません" not in html and "取り込む</button>" in html
    url = review.request.path
    applied = admin.post(url + "/apply", data={"csrf_token": csrf_token_from(html)}, follow_redirects=True)
    assert "登録 1件" in applied.get_data(as_text=True)
    assert set(_accounts(app)) == {"alpha", "beta"}
    assert "アルファ株式会社" in outbox.body(outbox.to(SAME)[-1])


def test_the_portal_shows_the_company_login_url(app, companies, factory):
    factory.account("beta", email=SAME)
    browser = app.test_client()
    _sign_in(browser, STRONG_PASSWORD)
    html = browser.get("/").get_data(as_text=True)
    assert 'href="http://127.0.0.1:8000/t/beta/login"' in html and "ベータ株式会社 専用のログインURL" in html
