"""Only admins of the tenant reach /admin; ids of another tenant answer 404."""
import pytest

PAGES = ["/admin/accounts", "/admin/accounts/new", "/admin/accounts/import", "/admin/groups", "/admin/groups/new",
         "/admin/logs/logins", "/admin/logs/operations", "/admin/accounts/csv-template",
         "/admin/logs/logins.csv", "/admin/logs/operations.csv", "/admin/accounts/export", "/admin/security"]


@pytest.mark.sqlite_only  # roles, not storage (cross-tenant lookups: both databases)
@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, acme, url):
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


@pytest.mark.sqlite_only  # roles, not storage (cross-tenant lookups: both databases)
@pytest.mark.parametrize("url", PAGES)
def test_users_get_403(client, login, factory, acme, url):
    factory.account()
    login()
    assert client.get(url).status_code == 403


@pytest.mark.sqlite_only  # roles, not storage (cross-tenant lookups: both databases)
@pytest.mark.parametrize("url", PAGES)
def test_admins_get_the_page(admin, url):
    assert admin.get(url).status_code == 200


def test_menu_link_only_for_admins(client, login, factory, acme):
    factory.account()
    login()
    assert 'href="/admin/accounts"' not in client.get("/").get_data(as_text=True)
    login(email="admin@acme.example.com")
    assert 'href="/admin/accounts"' in client.get("/").get_data(as_text=True)


def test_user_cannot_post_to_admin_actions(client, login, factory, acme):
    account_id, _ = factory.account()
    login()
    assert client.post("/admin/accounts/delete", data={"ids": str(account_id)}).status_code in (400, 403)


@pytest.fixture
def foreign(factory, acme):
    factory.tenant(slug="other", company="Other Inc.")
    group_id = factory.group("other", "営業")
    account_id, _ = factory.account("other", email="hanako@other.example.com", name="他社 花子")
    return {"account": account_id, "group": group_id}


@pytest.mark.parametrize("url", ["/admin/accounts/{account}", "/admin/accounts/{account}/edit",
                                 "/admin/groups/{group}", "/admin/groups/{group}/edit",
                                 "/admin/groups/{group}/members"])
def test_another_tenants_objects_are_not_found(admin, foreign, url):
    assert admin.get(url.format(**foreign)).status_code == 404


def test_another_tenants_objects_cannot_be_changed(admin, post, app, foreign):
    from idp.models import Account, Group
    from idp.platform.extensions import db
    for url in (f"/admin/accounts/{foreign['account']}/edit", f"/admin/accounts/{foreign['account']}/unlock",
                f"/admin/accounts/{foreign['account']}/resend-activation", f"/admin/groups/{foreign['group']}/edit"):
        assert post("/admin/accounts", url, {"name": "x"}).status_code == 404
    assert post("/admin/accounts", "/admin/accounts/delete",
                {"ids": str(foreign["account"]), "confirm": "1"}).status_code == 404
    assert post("/admin/groups", "/admin/groups/delete",
                {"ids": str(foreign["group"]), "confirm": "1"}).status_code == 404
    with app.app_context():
        assert db.session.get(Account, foreign["account"]).name == "他社 花子"
        assert db.session.get(Group, foreign["group"]) is not None


def test_foreign_accounts_are_not_listed_nor_added_to_groups(admin, post, app, factory, foreign):
    assert "他社 花子" not in admin.get("/admin/accounts?name=花子").get_data(as_text=True)
    group_id = factory.group("acme", "営業")
    post(f"/admin/groups/{group_id}/members", f"/admin/groups/{group_id}/members", {"ids": str(foreign["account"])})
    from idp.models import Account
    from idp.platform.extensions import db
    with app.app_context():
        assert db.session.get(Account, foreign["account"]).group_id != group_id


def test_forms_need_csrf(admin, app, factory):
    account_id, _ = factory.account()
    assert admin.post("/admin/accounts/new", data={"email": "x@acme.example.com", "name": "x"}).status_code == 400
    assert admin.post("/admin/accounts/delete", data={"ids": str(account_id), "confirm": "1"}).status_code == 400
    assert admin.post("/admin/groups/new", data={"name": "営業"}).status_code == 400
    from idp.directory.accounts import with_email
    from idp.models import Account
    from idp.platform.extensions import db
    with app.app_context():
        assert db.session.get(Account, account_id) is not None
        assert with_email("x@acme.example.com") == []


def _placeholder(rule, argument):
    items = getattr(rule._converters[argument], "items", None)  # any(oidc, saml)
    return sorted(items)[0] if items else {"token": "t" * 32}.get(argument, 1)


def _post_routes(app):
    """Every POST route of the console, with placeholder ids (CSRF is checked before any look-up)."""
    with app.test_request_context():
        from flask import url_for
        return sorted({url_for(rule.endpoint, **{arg: _placeholder(rule, arg) for arg in rule.arguments})
                       for rule in app.url_map.iter_rules()
                       if rule.endpoint.startswith("admin.") and "POST" in rule.methods})


def test_every_console_form_needs_csrf(admin, app):
    routes = _post_routes(app)
    assert "/admin/accounts/delete" in routes and "/admin/security/keys/rotate" in routes
    for url in routes:
        response = admin.post(url, data={"ids": "1", "confirm": "1", "mode": "off", "name": "x"})
        assert response.status_code == 400, url


DESTRUCTIVE = ["/admin/accounts/delete", "/admin/accounts/{account}/unlock", "/admin/accounts/{account}/reset-mfa",
               "/admin/accounts/{account}/resend-activation", "/admin/groups/delete", "/admin/security/mfa",
               "/admin/security/keys/rotate", "/admin/accounts/import/{token}/apply",
               "/admin/accounts/import/{token}/discard"]


@pytest.mark.sqlite_only  # roles, not storage (cross-tenant lookups: both databases)
@pytest.mark.parametrize("url", DESTRUCTIVE)
def test_changes_are_post_only(admin, factory, url):
    account_id, _ = factory.account()
    assert admin.get(url.format(account=account_id, token="t" * 32)).status_code == 405


def test_another_tenants_account_mfa_and_export(admin, post, foreign):
    page = "/admin/accounts"
    assert post(page, f"/admin/accounts/{foreign['account']}/reset-mfa", {"confirm": "1"}).status_code == 404
    response = post(page, "/admin/accounts/export", {"ids": str(foreign["account"])})
    assert "hanako@other.example.com" not in response.get_data().decode("utf-8-sig")
    response = post(page, "/admin/accounts/delete", {"ids": str(foreign["account"])})  # the confirmation step
    assert response.status_code == 404 and "他社 花子" not in response.get_data(as_text=True)


def test_another_tenants_group_cannot_be_chosen(admin, submit, app, foreign):
    data = {"email": "ichiro@acme.example.com", "name": "鈴木 一郎", "group": str(foreign["group"]), "role": "user",
            "status": "enabled", "valid_from": "2026-04-01"}
    response = submit("/admin/accounts/new", data)
    assert response.status_code == 200 and "グループが見つかりません。" in response.get_data(as_text=True)
    from idp.directory.accounts import with_email
    with app.app_context():
        assert with_email("ichiro@acme.example.com") == []
