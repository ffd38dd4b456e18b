"""The demo tenant that `make run` serves: one admin, one user, one app tile."""
from . import accounts, apps, tenants
from .audit import OPERATOR
from .errors import NotFound
from .groups import default_group
from .passwords import hash_password
from .urls import external_url

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
        accounts.create_account(tenant, email=DEMO_USER, name="デモ 太郎", password=new_password(),
                                organization="本社", department="営業部", now=now, actor=OPERATOR)
        apps.create_bookmark_app(tenant, name="サンプルアプリ", launch_url="https://example.com/",
                                 groups=[default_group(tenant)], now=now, actor=OPERATOR)
    credentials = {}
    for role, email in (("admin", DEMO_ADMIN), ("user", DEMO_USER)):
        account = accounts.find_by_email(email)
        password = new_password()
        account.password_hash = hash_password(password)
        account.activated = True
        credentials[role] = {"email": email, "password": password}
    return {"slug": DEMO_SLUG, "login_url": external_url("/login"), "credentials": credentials}
