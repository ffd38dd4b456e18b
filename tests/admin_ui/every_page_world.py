"""The realistic data of tests/admin_ui/test_every_page.py, made once per module through HTTP as the owner,
the admin and the users would (the services only where no page does it).

Two tenants (acme, beta, sharing a user's address); acme has accounts of each state (active, locked, pending
activation, disabled, not yet valid, expired), groups with members and MFA policies, an OIDC and a SAML app,
audit events of every action of idp/logs/labels.py, login events of every result, reason and sign-in method,
and a CSV upload left on its review page. `build(app, clock)` returns the signed-in browsers and the ids.
"""
import io
import os
import re
from datetime import date
from urllib.parse import urlencode

from sqlalchemy import select

from conftest import STRONG_PASSWORD, Outbox, csrf_token_from
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR, Actor, record_audit, record_login
from idp.logs.labels import ACTIONS, REASONS
from idp.models import Account, AuditEvent, LoginEvent
from idp.models.oidc import OidcClient
from idp.models.passkey import Passkey
from idp.models.scim import ScimToken
from idp.platform.extensions import db
from idp.tenancy import lifecycle, tenants
from tests.admin_ui.admin.test_accounts_csv import csv_bytes, row
from tests.admin_ui.admin.test_apps import create_oidc, oidc_form, saml_form
from tests.protocols.saml.conftest import make_key_pair
from tests.support.mfa import SmsOutbox, recovery_codes_on, secret_on, totp
from tests.support.owners import OWNER_PASSWORD

BASE = "http://127.0.0.1:8000"
NEW_PASSWORD = "Momiji-Autumn-2027"
NEW_OWNER = "tanaka@acme.example.com"
REDIRECT = "https://expense.example.com/callback"
USER = {"role": "user", "status": "enabled", "valid_from": "2026-04-01"}


class World:
    def __init__(self, app, clock):
        self.app, self.clock = app, clock
        self.outbox = Outbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "outbox"))
        self.sms = SmsOutbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "sms"))
        self.ids = {}
        self.admin, self.user, self.owner = app.test_client(), app.test_client(), app.test_client()

    # -- HTTP helpers ---------------------------------------------------------------------------------
    def form(self, browser, url, data=None, post_url=None, **kwargs):
        """GET the page holding the form, POST `data` with its CSRF token (like a browser)."""
        page = browser.get(url)
        assert page.status_code == 200, (url, page.status_code)
        token = csrf_token_from(page.get_data(as_text=True))
        return browser.post(post_url or url, data={"csrf_token": token, **(data or {})}, **kwargs)

    @staticmethod
    def expect(response, *statuses):
        """`response`, which must have one of `statuses` (the page's errors are shown otherwise)."""
        html = response.get_data(as_text=True)
        shown = re.findall(r'class="[^"]*(?:error|flash)[^"]*"[^>]*>([^<]+)<', html)
        assert response.status_code in statuses, (response.status_code, shown or html[:400])
        return response

    def link(self, address, marker):
        """The path of the newest link containing `marker` mailed to `address`."""
        links = [x.removeprefix(BASE) for m in self.outbox.to(address) for x in self.outbox.links(m) if marker in x]
        assert links, (address, marker)
        return links[-1]

    def login(self, email, password=STRONG_PASSWORD, browser=None, at="/t/acme/login"):
        browser = browser or self.app.test_client()
        return browser, self.form(browser, at, {"email": email, "password": password})

    def owner_login(self, email, password=OWNER_PASSWORD):
        response = self.form(self.owner, "/contract/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]

    # -- the services, where no page does it ----------------------------------------------------------
    def account(self, email, name, group=None, **fields):
        with self.app.app_context():
            tenant = tenants.get_by_slug(fields.pop("tenant", "acme"))
            found = groups.get_by_name(tenant, group) if group else None
            created = accounts.create_account(tenant, accounts.NewAccount(email=email, name=name, group=found,
                                                                          **fields),
                                              password=STRONG_PASSWORD, now=self.clock.now(), actor=OPERATOR)
            db.session.commit()
            return created.account.id

    def change(self, account_id, **values):
        with self.app.app_context():
            account = db.session.get(Account, account_id)
            for key, value in values.items():
                setattr(account, key, value)
            db.session.commit()

    def id_of(self, model, **where):
        with self.app.app_context():
            return db.session.scalar(select(model.id).filter_by(**where))

    def recorded(self):
        """(actions, reasons, methods, results) found in acme's events."""
        with self.app.app_context():
            tenant_id = tenants.get_by_slug("acme").id
            actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == tenant_id)))
            logins = db.session.execute(select(LoginEvent.reason, LoginEvent.protocol, LoginEvent.result)
                                        .where(LoginEvent.tenant_id == tenant_id)).all()
        return actions, {r for r, _, _ in logins}, {p for _, p, _ in logins}, {r for _, _, r in logins}


def _tenants_and_owner(w):
    """Both tenants; acme's owner activates, resets the password, terminates, acme is restored."""
    with w.app.app_context():
        for slug, company in (("acme", "ACME株式会社"), ("beta", "ベータ工業株式会社")):
            tenants.create_tenant(slug=slug, company_name=company, owner_email=f"owner@{slug}.example.com",
                                  owner_name="契約 太郎", admin_email=f"admin@{slug}.example.com",
                                  admin_password=STRONG_PASSWORD, now=w.clock.now(), actor=OPERATOR)
        db.session.commit()
    owner = "owner@acme.example.com"
    path = w.link(owner, "/contract/activate/")
    w.ids["spent_activation"] = path
    first = "Sakura-Contract-2026"
    w.expect(w.form(w.app.test_client(), path, {"password": first, "password_confirm": first}), 302)
    w.form(w.app.test_client(), "/contract/password/forgot", {"email": owner})
    path = w.link(owner, "/contract/password/reset/")
    w.expect(w.form(w.app.test_client(), path, {"password": OWNER_PASSWORD, "password_confirm": OWNER_PASSWORD}),
             302)
    w.form(w.app.test_client(), "/contract/login", {"email": owner, "password": "Wrong-Contract-2026"})
    w.owner_login(owner)
    done = w.form(w.owner, "/contract/terminate", {"company_name": "ACME株式会社", "password": OWNER_PASSWORD})
    assert done.status_code == 200, done.get_data(as_text=True)[:300]
    w.login("admin@acme.example.com", at="/login")  # tenant_terminated
    with w.app.app_context():
        lifecycle.restore(tenants.get_by_slug("acme"), now=w.clock.now(), actor=OPERATOR)
        db.session.commit()


def _groups_apps_and_policies(w):
    browser = w.admin
    _, response = w.login("admin@acme.example.com", browser=browser)
    assert response.status_code == 302
    for name, text in (("営業", "営業部門"), ("開発", "開発部門"), ("臨時", "")):
        response = w.form(browser, "/admin/groups/new", {"name": name, "description": text})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        w.ids[name] = int(response.headers["Location"].split("/")[-2])
    w.form(browser, f"/admin/groups/{w.ids['営業']}/edit", {"name": "営業", "description": "東日本の営業部門"})
    w.form(browser, "/admin/groups", {"ids": str(w.ids["臨時"]), "confirm": "1"}, post_url="/admin/groups/delete")
    submit = lambda url, data: w.form(browser, url, data)  # noqa: E731 (the signature create_oidc calls)
    _, oidc_id, _secret = create_oidc(submit, groups=[str(w.ids["営業"])])
    w.ids["oidc"] = oidc_id
    with w.app.app_context():
        w.ids["client_id"] = db.session.scalar(select(OidcClient.client_id).where(OidcClient.app_id == oidc_id))
    w.form(browser, f"/admin/apps/{oidc_id}", post_url=f"/admin/apps/{oidc_id}/secret")
    w.form(browser, f"/admin/apps/{oidc_id}/edit", oidc_form(groups=[str(w.ids["営業"])], name="経費精算システム"))
    saml = {**saml_form(make_key_pair("sp.example.com").cert), "groups": [str(w.ids["営業"])]}
    response = w.form(browser, "/admin/apps/new/saml", saml)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    w.ids["saml"] = int(response.headers["Location"].rsplit("/", 1)[1])
    _, doomed, _ = create_oidc(submit, name="廃止予定", client_type="public")
    w.form(browser, f"/admin/apps/{doomed}", {"confirm": "1"}, post_url=f"/admin/apps/{doomed}/delete")
    for mode, group in (("sms", "営業"), ("totp", "開発")):
        w.form(browser, "/admin/security", {"mode": mode, "group": str(w.ids[group])}, post_url="/admin/security/mfa")
    w.form(browser, "/admin/security", {"confirm": "1"}, post_url="/admin/security/keys/rotate")


def _accounts(w):
    """Accounts in every state, created, edited, deleted, unlocked, activated through the console."""
    w.ids["taro"] = w.account("taro@acme.example.com", "山田 太郎", group="開発", department="開発部")
    w.account("taro@acme.example.com", "山田 太郎", tenant="beta")
    w.ids["jiro"] = w.account("jiro@acme.example.com", "佐藤 次郎", group="開発")
    w.ids["hanako"] = w.account("hanako@acme.example.com", "鈴木 花子", group="営業", mobile="09012345678")
    w.ids["disabled"] = w.account("disabled@acme.example.com", "無効 一郎", status="disabled")
    w.ids["future"] = w.account("future@acme.example.com", "未来 二郎", valid_from=date(2026, 5, 1))
    w.ids["expired"] = w.account("expired@acme.example.com", "過去 三郎", valid_from=date(2025, 4, 1),
                                 valid_to=date(2026, 3, 1))
    w.ids["locked"] = w.account("locked@acme.example.com", "施錠 四郎")
    w.ids["unlocked"] = w.account("unlocked@acme.example.com", "解除 五郎")
    w.ids["inactive"] = w.account("inactive@acme.example.com", "未設定 六郎")
    w.change(w.ids["inactive"], activated=False)
    for key in ("locked", "unlocked"):
        w.change(w.ids[key], locked_at=w.clock.now(), failed_login_count=5)
    w.form(w.admin, f"/admin/accounts/{w.ids['unlocked']}", post_url=f"/admin/accounts/{w.ids['unlocked']}/unlock")
    for number, (email, name) in enumerate((("pending@acme.example.com", "保留 七子"),
                                            ("newbie@acme.example.com", "新人 八子"),
                                            ("gone@acme.example.com", "退職 九郎"))):
        response = w.form(w.admin, "/admin/accounts/new", {**USER, "email": email, "name": name,
                                                           "mobile": f"0901234000{number}",
                                                           "group": str(w.ids["営業"])})
        w.expect(response, 302)
        w.ids[email.split("@")[0]] = w.id_of(Account, email_normalized=email)
    pending = w.ids["pending"]
    w.form(w.admin, f"/admin/accounts/{pending}", post_url=f"/admin/accounts/{pending}/resend-activation")
    path = w.link("newbie@acme.example.com", "/activate/")
    w.form(w.app.test_client(), path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    w.expect(w.form(w.admin, f"/admin/accounts/{w.ids['jiro']}/edit",
                    {**USER, "name": "佐藤 次朗", "group": str(w.ids["開発"]), "valid_to": "2027-03-31",
                     "role": "admin", "mobile": "09087654321"}), 302)
    w.expect(w.form(w.admin, f"/admin/accounts/{w.ids['future']}/edit",
                    {**USER, "name": "未来 二郎", "group": str(w.ids["開発"]), "valid_from": "2026-05-01"}), 302)
    w.form(w.admin, "/admin/accounts", {"ids": [str(w.ids["gone"]), str(w.admin_id)], "confirm": "1"},
           post_url="/admin/accounts/delete")


def _sign_ins(w):
    """Every login reason and sign-in method of acme; the user taro stays signed in with TOTP."""
    w.form(w.app.test_client(), "/t/acme/login", {"email": "taro@acme.example.com", "password": ""})
    w.login("nobody@acme.example.com")
    w.login("taro@acme.example.com", "Wrong-Password-99")
    for key in ("locked", "disabled", "future", "expired", "inactive"):
        w.login(f"{key}@acme.example.com")
    _, response = w.login("taro@acme.example.com", browser=w.user)
    secret = secret_on(w.user.get("/login/mfa/totp").get_data(as_text=True))
    codes = recovery_codes_on(w.form(w.user, "/login/mfa/totp", {"code": totp(secret, w.clock)})
                              .get_data(as_text=True))
    again, _ = w.login("taro@acme.example.com")
    wrong = "000000" if totp(secret, w.clock) != "000000" else "111111"
    w.form(again, "/login/mfa/code", {"code": wrong})
    assert w.form(again, "/login/mfa/code", {"code": codes[0]}).status_code == 302
    query = {"response_type": "code", "client_id": w.ids["client_id"], "redirect_uri": REDIRECT, "scope": "openid",
             "state": "s", "nonce": "n"}
    assert "error=access_denied" in w.user.get(f"/t/acme/oidc/authorize?{urlencode(query)}").headers["Location"]
    hanako, _ = w.login("hanako@acme.example.com")
    assert w.form(hanako, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    assert w.form(hanako, "/login/mfa/code", {"code": w.sms.last_code()}).status_code in (200, 302)
    assert "code=" in hanako.get(f"/t/acme/oidc/authorize?{urlencode(query)}").headers["Location"]
    for attempt in range(40):  # the rate limit of one login ID
        _, response = w.login("flood@acme.example.com", f"Wrong-Password-{attempt}")
        if "rate_limited" in w.recorded()[1]:
            break
    with w.app.app_context():  # no page records these for a tenant: federation is the owner's, SAML needs an SP
        tenant_id = tenants.get_by_slug("acme").id
        record_login(result="failure", reason="federation_failed", target="contract", protocol="oidc",
                     tenant_id=tenant_id, login_id=NEW_OWNER, now=w.clock.now())
        hanako_row = db.session.get(Account, w.ids["hanako"])
        for result in ("success", "failure"):
            record_login(result=result, account=hanako_row, target="勤怠", protocol="saml", app_id=w.ids["saml"],
                         now=w.clock.now())
        db.session.commit()


def _portal_and_mfa(w):
    w.form(w.user, "/profile/edit", {"name": "山田 太郎", "phone": "03-1234-5678", "mobile": "090-1111-2222",
                                     "organization": "本社", "department": "開発部"})
    w.form(w.user, "/password", {"current_password": STRONG_PASSWORD, "password": NEW_PASSWORD,
                                 "password_confirm": NEW_PASSWORD})
    w.form(w.user, "/mfa", post_url="/mfa/recovery-codes")
    w.form(w.app.test_client(), "/password/forgot", {"email": "hanako@acme.example.com"})
    w.form(w.app.test_client(), "/password/forgot", {"email": "disabled@acme.example.com"})
    path = w.link("hanako@acme.example.com", "/password/reset/")
    w.form(w.app.test_client(), path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    jiro, _ = w.login("jiro@acme.example.com")
    secret = secret_on(jiro.get("/login/mfa/totp").get_data(as_text=True))
    w.form(jiro, "/login/mfa/totp", {"code": totp(secret, w.clock)})
    jiro_id = w.ids["jiro"]
    w.form(w.admin, f"/admin/accounts/{jiro_id}", {"confirm": "1"}, post_url=f"/admin/accounts/{jiro_id}/reset-mfa")


def _csv(w):
    """An export, one applied import, and an upload with new, changed, unchanged and deleted rows under review."""
    w.admin.get("/admin/accounts/export")
    upload = lambda data: w.form(w.admin, "/admin/accounts/import", {  # noqa: E731
        "file": (io.BytesIO(data), "accounts.csv")}, content_type="multipart/form-data")
    url = upload(csv_bytes([row(email="csv@acme.example.com", name="取込 十郎", group="営業")])).headers["Location"]
    w.form(w.admin, url, post_url=url + "/apply")
    response = upload(csv_bytes([
        row(email="csv2@acme.example.com", name="新規 十一郎", group="営業"),
        row(email="csv@acme.example.com", name="取込 十郎", group="開発", org="", dept="", mobile="", phone="",
            valid_to="2027/3/31", status="1"),
        row(email="unlocked@acme.example.com", name="解除 五郎", group="ACME株式会社", org="", dept="", mobile="",
            phone=""),
        row(email="pending@acme.example.com", delete="1")]))
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    w.ids["review"] = response.headers["Location"]
    w.admin.get("/admin/logs/logins.csv")
    w.admin.get("/admin/logs/operations.csv?action=account.update")


def _handover(w):
    """The contract passes to a new owner, who is signed in and has offered it to a third person."""
    w.owner_login("owner@acme.example.com")  # the termination ended the owner's session
    w.form(w.owner, "/contract/handover", {"email": NEW_OWNER, "name": "田中 花子"})
    path = w.link(NEW_OWNER, "/contract/handover/")
    w.expect(w.form(w.app.test_client(), path, {"password": OWNER_PASSWORD, "password_confirm": OWNER_PASSWORD}),
             302)
    w.owner_login(NEW_OWNER)
    w.form(w.owner, "/contract/handover", {"email": "suzuki@acme.example.com", "name": "鈴木 三郎"})
    w.ids["handover"] = w.link("suzuki@acme.example.com", "/contract/handover/")
    w.form(w.app.test_client(), "/contract/password/forgot", {"email": NEW_OWNER})
    w.ids["owner_reset"] = w.link(NEW_OWNER, "/contract/password/reset/")


def _passkeys_and_provisioning(w):
    """A SCIM token created and revoked, pushing turned on for the OIDC app (its target down: a failed row)
    and a sync; a passkey of taro's, with the passkey events no page makes without an authenticator."""
    w.form(w.admin, "/admin/scim-tokens", {"name": "Entra ID", "scope": "write", "expires_days": "365"})
    w.form(w.admin, "/admin/scim-tokens", {"name": "人事システム", "scope": "read", "expires_days": ""})
    w.expect(w.form(w.admin, "/admin/scim-tokens", {"token": str(w.id_of(ScimToken, name="人事システム"))},
                    post_url="/admin/scim-tokens/revoke"), 302)
    app_page = f"/admin/apps/{w.ids['oidc']}"
    w.expect(w.form(w.admin, app_page, {"base_url": "http://127.0.0.1:9/scim/v2", "token": "secret", "enabled": "y",
                                        "deprovision": "deactivate"}, post_url=app_page + "/provisioning"), 302)
    w.expect(w.form(w.admin, app_page, post_url=app_page + "/provisioning/sync"), 302)
    with w.app.app_context():
        taro = db.session.get(Account, w.ids["taro"])
        key = Passkey(tenant_id=taro.tenant_id, account_id=taro.id, credential_id=b"every-page", public_key=b"-",
                      name="会社のパソコン", created_at=w.clock.now(), last_used_at=w.clock.now())
        db.session.add(key)
        for action in ("passkey.registered", "passkey.deleted", "passkey.clone_suspected"):
            record_audit(tenant_id=taro.tenant_id, actor=Actor.of_account(taro), action=action, target=taro,
                         now=w.clock.now(), changes={"name": key.name})
        for reason in ("bad_passkey", "clone_suspected"):
            record_login(result="failure", reason=reason, account=taro, protocol="passkey", now=w.clock.now())
        db.session.commit()


def build(app, clock):
    w = World(app, clock)
    _tenants_and_owner(w)
    clock.advance(minutes=5)
    _groups_apps_and_policies(w)
    w.admin_id = w.id_of(Account, email_normalized="admin@acme.example.com")
    _accounts(w)
    _sign_ins(w)
    _portal_and_mfa(w)
    _csv(w)
    _handover(w)
    _passkeys_and_provisioning(w)
    clock.advance(minutes=5)
    actions, reasons, methods, results = w.recorded()
    missing = (set(ACTIONS) - actions) | (set(REASONS) - reasons)
    assert not missing, f"the data lacks events of {sorted(missing)}"
    assert methods >= {"password", "totp", "sms", "recovery", "oidc", "saml", "passkey"}
    assert results == {"success", "failure"}
    return w
