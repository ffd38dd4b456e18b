"""Self-service sign-up through HTTP: form, verification mail (30 min), tenant creation, abuse."""
import pytest
from sqlalchemy import func, select

from idp.models import Account, Group, Owner, Tenant
from idp.platform.extensions import db
from tests.support.owners import activate_owner, mailed_links, owner_login, set_password

OWNER = "yamada@sakura.example.com"
ADMIN = "it@sakura.example.com"
SERVICE_START = "【まとめログイン】サービス利用開始通知"
SENT = "にメールを送信しました。"


def _form(**fields):
    data = {"company_name": "Sakura Trading 株式会社", "owner_name": "山田 花子", "owner_email": OWNER,
            "admin_email": "", "agreed": "y"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def _sign_up(submit, **fields):
    return submit("/signup", _form(**fields))


def _verify_link(outbox, address=OWNER):
    [path] = mailed_links(outbox, address, "/signup/verify/")
    return path


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_signup_page_is_public(client):
    page = client.get("/signup")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("company_name", "owner_name", "owner_email", "admin_email", "agreed", "csrf_token"):
        assert f'name="{name}"' in html
    assert "https://example.com/terms" in html


@pytest.mark.parametrize("config_overrides", [{"IDP_SIGNUP": "closed"}])
def test_signup_can_be_closed(client, config_overrides):
    assert client.get("/signup").status_code == 404
    assert client.get("/signup/verify/whatever").status_code == 404


@pytest.mark.parametrize("config_overrides", [{"IDP_TERMS_URL": "https://terms.example.org/v2"}])
def test_terms_url_is_configurable(client, config_overrides):
    assert "https://terms.example.org/v2" in client.get("/signup").get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("company_name", "", "会社名を入力してください。"),
    ("owner_name", "", "名前を入力してください。"),
    ("owner_email", "not-an-email", "メールアドレスの形式が正しくありません。"),
    ("admin_email", "bad@", "メールアドレスの形式が正しくありません。"),
    ("agreed", None, "利用規約に同意してください。"),
])
def test_signup_form_validation(app, submit, outbox, field, value, message):
    response = _sign_up(submit, **{field: value})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert outbox.messages() == []


def test_no_tenant_exists_until_the_link_is_used(app, submit, outbox):
    response = _sign_up(submit)
    assert response.status_code == 200 and SENT in response.get_data(as_text=True)
    [mail] = outbox.to(OWNER)
    assert "30分" in outbox.body(mail)
    assert _count(app, Tenant) == _count(app, Owner) == _count(app, Account) == 0


def test_verified_signup_creates_the_tenant_and_one_mail(app, submit, outbox, client):
    _sign_up(submit)
    path = _verify_link(outbox)
    page = client.get(path).get_data(as_text=True)
    assert 'value="sakura-trading"' in page  # slug derived from the company name
    response = submit(path, {"slug": "sakura-trading", "admin_email": OWNER})
    assert response.status_code == 200 and "ご利用を開始しました" in response.get_data(as_text=True)
    with app.app_context():
        tenant = db.session.scalar(select(Tenant))
        assert (tenant.slug, tenant.company_name, tenant.status) == ("sakura-trading", "Sakura Trading 株式会社",
                                                                     "active")
        assert db.session.scalar(select(Owner.email)) == OWNER
        admin = db.session.scalar(select(Account))
        assert (admin.email, admin.role, admin.name, admin.activated) == (OWNER, "admin", "山田 花子", False)
        assert db.session.scalar(select(Group.is_default))
    [start] = [m for m in outbox.to(OWNER) if m["Subject"] == SERVICE_START]
    links = outbox.links(start)
    assert any("/contract/activate/" in link for link in links)
    assert any("/activate/" in link and "/contract/" not in link for link in links)
    assert client.get(path).status_code == 410  # single use


def test_separate_admin_gets_its_own_first_login_mail(app, submit, outbox, client):
    _sign_up(submit, admin_email=ADMIN)
    path = _verify_link(outbox)
    submit(path, {"slug": "sakura", "admin_email": ADMIN, "admin_name": "佐藤 次郎"})
    [start] = [m for m in outbox.to(OWNER) if m["Subject"] == SERVICE_START]
    assert not any("/activate/" in link and "/contract/" not in link for link in outbox.links(start))
    assert mailed_links(outbox, ADMIN, "/activate/")


def test_verification_link_lasts_30_minutes(submit, outbox, client, clock):
    _sign_up(submit)
    path = _verify_link(outbox)
    clock.advance(minutes=29)
    assert client.get(path).status_code == 200
    clock.advance(minutes=1)
    assert client.get(path).status_code == 410


@pytest.mark.parametrize("slug,message", [
    ("A!", "テナントIDは半角英小文字・数字・ハイフンの3〜63文字で指定してください。"),
    ("signup", "テナントIDは半角英小文字・数字・ハイフンの3〜63文字で指定してください。"),
    ("acme", "テナントID「acme」はすでに使われています。"),
])
def test_slug_is_editable_and_unique(app, factory, submit, outbox, slug, message):
    factory.tenant()
    _sign_up(submit)
    response = submit(_verify_link(outbox), {"slug": slug, "admin_email": OWNER})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _count(app, Tenant) == 1


def test_suggested_slug_avoids_taken_ones(factory, submit, outbox, client):
    factory.tenant(slug="sakura-trading", company="既存")
    _sign_up(submit)
    assert 'value="sakura-trading-2"' in client.get(_verify_link(outbox)).get_data(as_text=True)


def test_japanese_company_name_falls_back_to_the_mail_domain(submit, outbox, client):
    _sign_up(submit, company_name="さくら商事株式会社")
    assert 'value="sakura"' in client.get(_verify_link(outbox)).get_data(as_text=True)


def test_an_admin_address_of_another_tenant_is_just_an_address(app, factory, submit, outbox):
    """Tenants are independent: another company's admin address neither blocks nor shows (issue 14)."""
    factory.tenant()
    _sign_up(submit, admin_email="admin@acme.example.com")
    response = submit(_verify_link(outbox), {"slug": "sakura", "admin_email": "admin@acme.example.com",
                                             "admin_name": "佐藤 次郎"})
    assert "ご利用を開始しました" in response.get_data(as_text=True) and _count(app, Tenant) == 2
    with app.app_context():
        from idp.directory.accounts import with_email
        assert sorted(a.tenant.slug for a in with_email("admin@acme.example.com")) == ["acme", "sakura"]


def test_a_slug_error_answers_alike_whether_the_admin_address_exists_elsewhere(app, factory, submit, outbox):
    factory.tenant()
    _sign_up(submit)
    link = _verify_link(outbox)
    pages = [submit(link, {"slug": "!", "admin_email": email}).get_data(as_text=True)
             for email in ("admin@acme.example.com", "nobody-xyz@acme.example.com")]
    strip = [page.replace("admin@acme", "X").replace("nobody-xyz@acme", "X") for page in pages]
    assert strip[0] == strip[1] and "すでに登録" not in pages[0]


def test_an_existing_owner_signs_up_a_second_company(app, factory, submit, outbox):
    factory.tenant()
    fresh = _sign_up(submit).get_data(as_text=True)
    taken = _sign_up(submit, owner_email="owner@acme.example.com").get_data(as_text=True)
    assert SENT in fresh and SENT in taken
    [mail] = outbox.to("owner@acme.example.com")[1:]  # after the service-start mail of the factory
    [link] = [link for link in outbox.links(mail) if "/signup/verify/" in link]
    response = submit(link[link.index("/signup/"):], {"slug": "second", "admin_email": ADMIN, "admin_name": "佐藤 次郎"})
    assert "ご利用を開始しました" in response.get_data(as_text=True) and _count(app, Tenant) == 2


@pytest.mark.parametrize("config_overrides", [{"IDP_RATELIMIT_SIGNUP_ACCOUNT": "2/hour",
                                               "IDP_RATELIMIT_SIGNUP_IP": "3/hour"}])
def test_signup_is_rate_limited_per_email_and_ip(submit, outbox, config_overrides):
    assert _sign_up(submit).status_code == 200
    assert _sign_up(submit).status_code == 200
    refused = _sign_up(submit)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert _sign_up(submit, owner_email="other@sakura.example.com").status_code == 200
    assert _sign_up(submit, owner_email="third@sakura.example.com").status_code == 429
    assert len(outbox.to(OWNER)) == 2


def test_owner_of_a_signup_can_activate_and_log_in(app, submit, outbox, client):
    _sign_up(submit)
    submit(_verify_link(outbox), {"slug": "sakura", "admin_email": OWNER})
    activate_owner(submit, outbox, OWNER)
    assert owner_login(client, OWNER).status_code == 302
    [admin_link] = [link for link in mailed_links(outbox, OWNER, "/activate/") if "/contract/" not in link]
    assert set_password(submit, admin_link, "Another-Secret-77").status_code == 302
