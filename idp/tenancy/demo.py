"""The demo tenant that `make run` serves: one admin, one user, one app tile."""
from idp.apps import catalogue as apps
from idp.directory import accounts
from idp.directory.groups import default_group
from idp.directory.passwords import hash_password
from idp.logs.audit import OPERATOR
from idp.platform.errors import NotFound
from idp.platform.urls import external_url
from idp.tenancy import tenants

DEMO_SLUG = "demo"
DEMO_ADMIN = "admin@demo.example.com"
DEMO_USER = "user@demo.example.com"


def ensure_demo(*, now, new_password):
    """Create the demo tenant once; every call sets fresh passwords and returns them."""
    try:
        tenant = tenants.get_by_slug(DEMO_SLUG)
    except NotFound:
        tenant = tenants.create_tenant(slug=DEMO_SLUG, company_name="デモ株式会社", owner_email=DEMO_ADMIN,
                                       admin_email=DEMO_ADMIN, admin_name="デモ 管理者",
                                       admin_password=new_password(), now=now, actor=OPERATOR).tenant
        accounts.create_account(
            tenant, accounts.NewAccount(email=DEMO_USER, name="デモ 太郎", organization="本社", department="営業部"),
            password=new_password(), now=now, actor=OPERATOR)
        apps.create_bookmark_app(tenant, name="サンプルアプリ", launch_url="https://example.com/",
                                 groups=[default_group(tenant)], now=now, actor=OPERATOR)
    credentials = {}
    for role, email in (("admin", DEMO_ADMIN), ("user", DEMO_USER)):
        account = accounts.find_in_tenant(tenant, email)
        password = new_password()
        account.password_hash = hash_password(password)
        account.activated = True
        credentials[role] = {"email": email, "password": password}
    return {"slug": DEMO_SLUG, "login_url": external_url("/login"), "credentials": credentials}
