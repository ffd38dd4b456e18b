"""Rate limits as a browser meets them: 429 with Retry-After on login, reset request and link pages,
each refusal kept as a login event (reason rate_limited); a whole office behind one IP is not refused."""
import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.models import Account, LoginEvent
from idp.platform.extensions import db

EMAIL = "taro@acme.example.com"


@pytest.fixture
def config_overrides():
    return {"IDP_RATELIMIT_LOGIN_ACCOUNT": "3/minute", "IDP_RATELIMIT_RESET_REQUEST_ACCOUNT": "2/hour",
            "IDP_RATELIMIT_LINK_ACCOUNT": "3/minute"}


@pytest.fixture
def taro(factory):
    factory.tenant()
    return factory.account(email=EMAIL)


def _post_form(client, get_url, data, post_url=None):
    token = csrf_token_from(client.get(get_url).get_data(as_text=True))
    return client.post(post_url or get_url, data={"csrf_token": token, **data})


def _events(app, reason):
    with app.app_context():
        return db.session.scalars(select(LoginEvent).where(LoginEvent.reason == reason)).all()


def test_login_over_the_account_limit_is_429_with_retry_after_and_logged(app, client, taro):
    for _ in range(3):
        assert _post_form(client, "/login", {"email": EMAIL, "password": "wrong-Password-1"}).status_code == 200
    refused = _post_form(client, "/login", {"email": EMAIL, "password": STRONG_PASSWORD})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "リクエストが多すぎます" in refused.get_data(as_text=True)
    [event] = _events(app, "rate_limited")
    with app.app_context():
        account_id = db.session.scalar(select(Account.id).where(Account.email == EMAIL))
    assert event.result == "failure" and event.account_id == account_id and event.login_id == EMAIL
    assert event.target == "login"
    # the refused attempt did not count as a password failure
    with app.app_context():
        assert db.session.get(Account, account_id).failed_login_count == 3


def test_the_account_limit_is_per_login_id(client, taro, factory):
    factory.account(email="hanako@acme.example.com")
    for _ in range(3):
        _post_form(client, "/login", {"email": EMAIL, "password": "wrong-Password-1"})
    ok = _post_form(client, "/login", {"email": "hanako@acme.example.com", "password": STRONG_PASSWORD})
    assert ok.status_code == 302


def test_unknown_email_is_limited_like_a_known_one(app, client, taro):
    for _ in range(3):
        _post_form(client, "/login", {"email": "ghost@acme.example.com", "password": "wrong-Password-1"})
    refused = _post_form(client, "/login", {"email": "ghost@acme.example.com", "password": "x"})
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    [event] = _events(app, "rate_limited")
    assert event.account_id is None and event.login_id == "ghost@acme.example.com"


def test_reset_requests_over_the_limit_are_429(app, client, taro, outbox):
    for _ in range(2):
        assert _post_form(client, "/password/forgot", {"email": EMAIL}).status_code == 200
    refused = _post_form(client, "/password/forgot", {"email": EMAIL})
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert len(outbox.to(EMAIL)) == 2
    assert [e.target for e in _events(app, "rate_limited")] == ["reset_request"]


def test_one_link_is_limited_per_token(client, taro):
    """LINK_ACCOUNT counts uses of one token (3/minute here); other tokens have their own budget."""
    assert [client.get("/activate/same-token").status_code for _ in range(3)] == [410] * 3
    assert client.get("/activate/same-token").status_code == 429
    assert client.get("/activate/other-token").status_code == 410


@pytest.mark.parametrize("config_overrides", [{"IDP_RATELIMIT_LINK_IP": "4/minute"}])
def test_link_pages_over_the_ip_limit_are_429(app, client, taro, config_overrides):
    assert [client.get(f"/password/reset/guess-{i}").status_code for i in range(4)] == [410] * 4
    refused = client.get("/activate/another-guess")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert [e.target for e in _events(app, "rate_limited")] == ["link"]


@pytest.mark.parametrize("config_overrides", [{}])
def test_a_whole_office_behind_one_ip_logs_in_at_nine(app, client, factory, config_overrides):
    """100 staff, one shared IP, default limits, a typo each: nobody gets a 429."""
    factory.tenant()
    emails = [f"staff{i:03d}@acme.example.com" for i in range(100)]
    with app.app_context():
        from idp.directory import accounts
        from idp.directory.passwords import hash_password
        from idp.logs.audit import OPERATOR
        from idp.tenancy import tenants
        tenant = tenants.get_by_slug("acme")
        password_hash = hash_password(STRONG_PASSWORD)
        for email in emails:
            created = accounts.create_account(
                tenant, accounts.NewAccount(email=email, name="社員"),
                now=app.extensions["idp_clock"].now(), actor=OPERATOR, mail_template=None)
            created.account.password_hash = password_hash
            created.account.activated = True
        db.session.commit()
    statuses = []
    for email in emails:
        browser = app.test_client()
        statuses.append(_post_form(browser, "/login", {"email": email, "password": "typo"}).status_code)
        statuses.append(_post_form(browser, "/login", {"email": email, "password": STRONG_PASSWORD}).status_code)
    assert statuses.count(429) == 0 and statuses.count(302) == 100
