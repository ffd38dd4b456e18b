"""The operator CLI `idp`: what an operator sees (exit code, one JSON object on
stdout, one error line on stderr) and what it leaves behind (rows, mails, links
and passwords that work through HTTP).

In-process tests use Flask's CliRunner (click 8.2+ keeps stdout and stderr
apart); the `sqlite_only` tests run the installed console script.
"""
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from flask.cli import FlaskGroup
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from conftest import START, STRONG_PASSWORD, csrf_token_from
from idp.authn import lockout
from idp.models import Account, ActionToken, AuditEvent, Group, Owner, Tenant
from idp.platform.extensions import db
from tests.support.cli_runner import ok_json

BASE = "http://127.0.0.1:8000"
SERVICE_START = "【まとめログイン】サービス利用開始通知"
ACCOUNT_CREATED = "【まとめログイン】アカウント登録通知"
CONTRACT_LOGIN_URL = BASE + "/contract/login"
TENANT_KEYS = {"slug", "issuer", "saml_metadata_url", "owner_id", "admin_id", "activation_url"}
IDP_SCRIPT = os.path.join(os.path.dirname(sys.executable), "idp")
COUNTED = (Tenant, Owner, Group, Account, ActionToken, AuditEvent)


@pytest.fixture(autouse=True)
def _no_password_from_environment(monkeypatch):
    """`account create --password` also reads IDP_ACCOUNT_PASSWORD; keep the operator's shell out of it."""
    monkeypatch.delenv("IDP_ACCOUNT_PASSWORD", raising=False)


def one_error_line(result):
    """The command failed cleanly: nothing on stdout, one 'Error: …' line on stderr, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def tenant_create(cli, slug="acme", company="ACME株式会社", owner="owner@acme.test", admin="admin@acme.test",
                  *extra):
    return cli("tenant", "create", slug, "--company", company, "--owner-email", owner,
               "--admin-email", admin, *extra, "--json")


def http_login(app, email, password):
    """Log in through the HTML form with a fresh browser (CSRF token scraped from GET /login)."""
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})


def assert_login_works(app, email, password):
    response = http_login(app, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"] == "/"


def assert_login_fails(app, email, password):
    response = http_login(app, email, password)
    assert response.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありません。" in response.get_data(as_text=True)


def snapshot(app, outbox):
    with app.app_context():
        counts = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}
    return counts, len(outbox.messages())


def account_by_email(email):
    return db.session.scalar(select(Account).where(Account.email_normalized == email.lower()))


# --- tenant create -------------------------------------------------------------------------------


def test_tenant_create_prints_urls_and_ids_and_creates_everything(app, cli, clock):
    data = ok_json(tenant_create(cli))
    assert set(data) == TENANT_KEYS
    assert data["slug"] == "acme"
    assert data["issuer"] == BASE + "/t/acme"
    assert data["saml_metadata_url"] == data["issuer"] + "/saml/metadata"
    assert data["activation_url"].startswith(BASE + "/activate/")
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "acme"))
        assert tenant.company_name == "ACME株式会社" and tenant.status == "active"
        assert tenant.created_at == clock.now()
        groups = db.session.scalars(select(Group).where(Group.tenant_id == tenant.id)).all()
        assert [(g.name, g.is_default) for g in groups] == [("ACME株式会社", True)]
        owner = db.session.get(Owner, data["owner_id"])
        assert (owner.tenant_id, owner.email) == (tenant.id, "owner@acme.test")
        admin = db.session.get(Account, data["admin_id"])
        assert (admin.tenant_id, admin.email, admin.role) == (tenant.id, "admin@acme.test", "admin")
        assert admin.group_id == groups[0].id
        assert admin.activated is False and admin.password_hash is None
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id)).all()
        assert {"tenant.create", "group.create", "account.create"} <= set(actions)
        assert {e.actor_type for e in db.session.scalars(select(AuditEvent))} == {"operator"}


def test_tenant_create_activation_url_opens_the_set_password_page(app, cli, client):
    data = ok_json(tenant_create(cli))
    page = client.get(data["activation_url"].removeprefix(BASE))
    assert page.status_code == 200
    assert "admin@acme.test" in page.get_data(as_text=True)
    assert_login_fails(app, "admin@acme.test", STRONG_PASSWORD)  # no password until the link is used


def test_tenant_create_same_owner_and_admin_gets_one_mail_with_both_links(cli, outbox):
    data = ok_json(tenant_create(cli, owner="boss@acme.test", admin="boss@acme.test"))
    mails = outbox.messages()
    assert len(mails) == 1
    assert mails[0]["To"] == "boss@acme.test"
    assert mails[0]["Subject"] == SERVICE_START
    links = outbox.links(mails[0])
    assert data["activation_url"] in links
    assert CONTRACT_LOGIN_URL in links


@pytest.mark.parametrize("admin, extra, name", [
    ("Boss@ACME.test", ("--owner-name", "社長 一郎"), "社長 一郎"),  # the owner is the admin: the owner's name
    ("it@acme.test", ("--owner-name", "社長 一郎"), "it"),  # someone else, unnamed: never the company's name
    ("it@acme.test", ("--admin-name", "情報 次郎"), "情報 次郎"),
])
def test_tenant_create_names_the_first_admin(cli, outbox, admin, extra, name):
    ok_json(tenant_create(cli, "acme", "ACME株式会社", "boss@acme.test", admin, *extra))
    accounts = ok_json(cli("account", "list", "--tenant", "acme", "--json"))["accounts"]
    assert [a["name"] for a in accounts] == [name]


def test_tenant_create_same_person_is_detected_case_insensitively(cli, outbox):
    ok_json(tenant_create(cli, owner="Boss@ACME.test", admin="boss@acme.test"))
    assert [m["Subject"] for m in outbox.messages()] == [SERVICE_START]


def test_tenant_create_separate_owner_and_admin_get_one_mail_each(cli, outbox):
    data = ok_json(tenant_create(cli, owner="owner@acme.test", admin="admin@acme.test"))
    assert len(outbox.messages()) == 2
    [owner_mail] = outbox.to("owner@acme.test")
    assert owner_mail["Subject"] == SERVICE_START
    assert CONTRACT_LOGIN_URL in outbox.links(owner_mail)
    assert data["activation_url"] not in outbox.body(owner_mail)
    assert f"{BASE}/activate/" not in outbox.body(owner_mail)  # the admin's link; the owner's is /contract/activate/
    [admin_mail] = outbox.to("admin@acme.test")
    assert admin_mail["Subject"] == ACCOUNT_CREATED
    assert data["activation_url"] in outbox.links(admin_mail)


def test_tenant_create_text_output(cli):
    result = cli("tenant", "create", "acme", "--company", "ACME", "--owner-email", "o@acme.test",
                 "--admin-email", "a@acme.test")
    assert result.exit_code == 0, result.stderr
    assert "created tenant acme" in result.stdout
    assert f"issuer: {BASE}/t/acme" in result.stdout
    assert f"{BASE}/activate/" in result.stdout


def test_uppercase_slug_is_stored_lowercase(app, cli):
    assert ok_json(tenant_create(cli, slug="ACME"))["slug"] == "acme"


@pytest.mark.parametrize("email", ["admin@acme.example.com", "admin@sub.acme.test", "x.y+tag@acme.test"])
def test_example_and_test_domains_are_accepted(app, cli, email):
    """Only the syntax is checked: no DNS look-up, and the reserved .test/.example.com names pass."""
    data = ok_json(tenant_create(cli, owner="owner@acme.example.com", admin=email))
    account = ok_json(cli("account", "create", "--tenant", "acme", "--email", "u." + email,
                          "--name", "利用者", "--json"))
    with app.app_context():
        assert db.session.get(Account, data["admin_id"]).email == email
        assert db.session.get(Account, account["id"]).email == "u." + email


# --- bad input -----------------------------------------------------------------------------------


@pytest.fixture
def existing(cli):
    """Tenant acme (admin@acme.test), an account A@X.test and a group Sales."""
    ok_json(tenant_create(cli))
    ok_json(cli("account", "create", "--tenant", "acme", "--email", "A@X.test", "--name", "X", "--json"))
    ok_json(cli("group", "create", "--tenant", "acme", "Sales", "--json"))


def _tenant(slug="beta", company="Beta", owner="owner@beta.test", admin="admin@beta.test"):
    return ["tenant", "create", slug, "--company", company, "--owner-email", owner, "--admin-email", admin]


def _account(email="new@acme.test", tenant="acme", *extra):
    return ["account", "create", "--tenant", tenant, "--email", email, "--name", "新規", *extra]


BAD_INPUT = [
    pytest.param(_tenant(slug="acme"), "テナントID「acme」はすでに使われています", id="duplicate-slug"),
    pytest.param(_tenant(slug="ACME"), "テナントID「acme」はすでに使われています", id="duplicate-slug-other-case"),
    pytest.param(_tenant(slug="ab"), "テナントIDは半角英小文字", id="slug-too-short"),
    pytest.param(_tenant(slug="beta-"), "テナントIDは半角英小文字", id="slug-trailing-hyphen"),
    pytest.param(_tenant(slug="beta_co"), "テナントIDは半角英小文字", id="slug-underscore"),
    pytest.param(_tenant(slug="b" * 64), "テナントIDは半角英小文字", id="slug-too-long"),
    pytest.param(_tenant(slug="admin"), "テナントIDは半角英小文字", id="slug-reserved"),
    pytest.param(_tenant(slug="ｂｅｔａ"), "テナントIDは半角英小文字", id="slug-fullwidth"),
    pytest.param(_tenant(company=""), "会社名を入力してください", id="empty-company"),
    pytest.param(_tenant(company="   "), "会社名を入力してください", id="blank-company"),
    pytest.param(_tenant(admin="not-an-email"), "メールアドレスの形式が正しくありません", id="admin-email-syntax"),
    pytest.param(_tenant(admin="two@@beta.test"), "メールアドレスの形式が正しくありません", id="admin-email-double-at"),
    pytest.param(_tenant(admin="a b@beta.test"), "メールアドレスの形式が正しくありません", id="admin-email-space"),
    pytest.param(_tenant(owner="owner@"), "メールアドレスの形式が正しくありません", id="owner-email-syntax"),
    pytest.param(_account(email="bad@"), "メールアドレスの形式が正しくありません", id="account-email-syntax"),
    pytest.param(_account(email="a@x.test"), "このメールアドレスはすでに登録されています",
                 id="account-email-duplicate-case-insensitive"),
    pytest.param(_account(email="Admin@Acme.Test"), "このメールアドレスはすでに登録されています",
                 id="account-email-is-the-admin"),
    pytest.param(_account(tenant="nope"), "テナント「nope」が見つかりません", id="account-unknown-tenant"),
    pytest.param(_account("new@acme.test", "acme", "--password", "short"), "password:",
                 id="password-too-short"),
    pytest.param(_account("new@acme.test", "acme", "--password", "alllowercaseletters"), "password:",
                 id="password-one-class"),
    pytest.param(_account("new@acme.test", "acme", "--password", "Iloveyou123"), "よく使われているパスワード",
                 id="password-common"),
    pytest.param(_account("sakura@acme.test", "acme", "--password", STRONG_PASSWORD), "メールアドレスの@より前の部分",
                 id="password-contains-email-local-part"),
    pytest.param(_account("new@acme.test", "acme", "--group", "Nope"), "グループ「Nope」が見つかりません",
                 id="account-unknown-group"),
    pytest.param(["account", "create", "--tenant", "acme", "--email", "new@acme.test", "--name", "  "],
                 "名前を入力してください", id="account-blank-name"),
    pytest.param(["group", "create", "--tenant", "acme", "Sales"], "グループ「Sales」はすでに存在します",
                 id="group-duplicate"),
    pytest.param(["group", "create", "--tenant", "acme", "ACME株式会社"], "すでに存在します",
                 id="group-same-name-as-default"),
    pytest.param(["group", "create", "--tenant", "acme", "   "], "グループ名を入力してください", id="group-blank-name"),
    pytest.param(["group", "create", "--tenant", "nope", "Sales"], "テナント「nope」が見つかりません",
                 id="group-unknown-tenant"),
    pytest.param(["account", "list", "--tenant", "nope"], "テナント「nope」が見つかりません",
                 id="account-list-unknown-tenant"),
]


def test_an_address_of_another_tenant_is_a_new_account_here(app, cli, outbox, existing):
    """Login IDs are per tenant (issue 14): another tenant's addresses neither block nor show."""
    beta = ok_json(cli(*_tenant(admin="a@x.test"), "--json"))
    created = ok_json(cli(*_account("Admin@Acme.Test", "beta"), "--json"))
    assert created["email"].lower() == "admin@acme.test"
    with app.app_context():
        rows = db.session.execute(select(Account.email_normalized, Account.tenant_id)
                                  .where(Account.email_normalized.in_(["a@x.test", "admin@acme.test"]))).all()
    assert sorted(email for email, _tenant in rows) == ["a@x.test", "a@x.test", "admin@acme.test", "admin@acme.test"]
    with app.app_context():
        beta_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == beta["slug"]))
    assert len({tenant for _email, tenant in rows}) == 2 and beta_id in {tenant for _e, tenant in rows}
    duplicate = one_error_line(cli(*_account("A@x.test", "beta"), "--json"))  # within a tenant: still unique
    assert "このメールアドレスはすでに登録されています" in duplicate


@pytest.mark.parametrize("args, message", BAD_INPUT)
def test_bad_input_exits_with_one_error_line_and_creates_nothing(app, cli, outbox, existing, args, message):
    before = snapshot(app, outbox)
    line = one_error_line(cli(*args, "--json"))
    assert message in line
    assert snapshot(app, outbox) == before


@pytest.mark.parametrize("admin", ["not-an-email", "two@@beta.test"])
def test_tenant_create_with_a_bad_admin_email_leaves_no_tenant(app, cli, outbox, existing, admin):
    """The tenant, its group and owner are flushed before the admin fails: all of it is rolled back."""
    one_error_line(cli(*_tenant(slug="beta", company="Beta", admin=admin), "--json"))
    with app.app_context():
        assert db.session.scalar(select(Tenant).where(Tenant.slug == "beta")) is None
        assert db.session.scalar(select(Group).where(Group.name == "Beta")) is None
        assert db.session.scalar(select(Owner).where(Owner.email == "owner@beta.test")) is None
    assert outbox.to("owner@beta.test") == []
    # The slug is still free afterwards.
    ok_json(cli(*_tenant(slug="beta", company="Beta"), "--json"))


@pytest.mark.parametrize("args", [
    ["account", "create", "--tenant", "acme", "--email", "n@acme.test", "--name", "N", "--role", "root"],
    ["account", "create", "--tenant", "acme", "--email", "n@acme.test"],
    ["tenant", "create", "beta", "--owner-email", "o@beta.test", "--admin-email", "a@beta.test"],
], ids=["bad-role", "missing-name", "missing-company"])
def test_usage_errors_exit_2_and_create_nothing(app, cli, outbox, existing, args):
    before = snapshot(app, outbox)
    result = cli(*args, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error" in result.stderr
    assert snapshot(app, outbox) == before


def test_json_is_printed_only_after_a_successful_commit(app, cli, outbox):
    """Fault injection: a constraint that only fails at COMMIT (as a deferred one would)."""
    def fail_at_commit(session):
        raise IntegrityError("COMMIT", {}, Exception("deferred constraint violated"))

    event.listen(Session, "before_commit", fail_at_commit)
    try:
        result = tenant_create(cli)
    finally:
        event.remove(Session, "before_commit", fail_at_commit)
    assert result.exit_code == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0
    assert outbox.messages() == []
    assert result.stdout == ""  # fails: the success JSON is already out


# --- account create ------------------------------------------------------------------------------


def test_account_create_without_password_mails_an_activation_link(app, cli, outbox, client):
    ok_json(tenant_create(cli))
    data = ok_json(cli("account", "create", "--tenant", "acme", "--email", "hanako@acme.test",
                       "--name", "佐藤 花子", "--json"))
    assert set(data) == {"id", "email", "activation_url"}
    assert data["email"] == "hanako@acme.test"
    assert data["activation_url"].startswith(BASE + "/activate/")
    with app.app_context():
        account = db.session.get(Account, data["id"])
        assert account.activated is False and account.password_hash is None
        assert account.role == "user" and account.name == "佐藤 花子"
        assert account.group.is_default
    [mail] = outbox.to("hanako@acme.test")
    assert mail["Subject"] == ACCOUNT_CREATED
    assert data["activation_url"] in outbox.links(mail)
    page = client.get(data["activation_url"].removeprefix(BASE))
    assert page.status_code == 200 and "hanako@acme.test" in page.get_data(as_text=True)


def test_account_create_with_password_is_active_and_logs_in(app, cli, outbox):
    ok_json(tenant_create(cli))
    data = ok_json(cli("account", "create", "--tenant", "acme", "--email", "taro@acme.test",
                       "--name", "山田 太郎", "--password", STRONG_PASSWORD, "--json"))
    assert data["activation_url"] is None
    assert '"activation_url": null' in json.dumps(data)
    with app.app_context():
        account = db.session.get(Account, data["id"])
        assert account.activated is True and account.password_hash
        assert STRONG_PASSWORD not in account.password_hash
        assert db.session.scalar(select(func.count()).select_from(ActionToken)
                                 .where(ActionToken.account_id == account.id)) == 0
    assert outbox.to("taro@acme.test") == []
    assert_login_works(app, "taro@acme.test", STRONG_PASSWORD)
    assert_login_fails(app, "taro@acme.test", STRONG_PASSWORD + "x")


def test_account_create_reads_the_password_from_the_environment(app, cli):
    ok_json(tenant_create(cli))
    data = ok_json(cli("account", "create", "--tenant", "acme", "--email", "env@acme.test", "--name", "E",
                       "--json", env={"IDP_ACCOUNT_PASSWORD": STRONG_PASSWORD}))
    assert data["activation_url"] is None
    assert_login_works(app, "env@acme.test", STRONG_PASSWORD)


def test_account_create_in_a_named_group_with_admin_role(app, cli):
    ok_json(tenant_create(cli))
    group = ok_json(cli("group", "create", "--tenant", "acme", "Sales", "--json"))
    data = ok_json(cli("account", "create", "--tenant", "acme", "--email", "sales@acme.test", "--name", "営業",
                       "--group", "Sales", "--role", "admin", "--json"))
    with app.app_context():
        account = db.session.get(Account, data["id"])
        assert account.group_id == group["id"]
        assert account.group.name == "Sales"
        assert account.role == "admin"


def test_account_create_cannot_use_a_group_of_another_tenant(app, cli, outbox):
    ok_json(tenant_create(cli))
    ok_json(tenant_create(cli, slug="beta", company="Beta", owner="o@beta.test", admin="a@beta.test"))
    ok_json(cli("group", "create", "--tenant", "beta", "BetaOnly", "--json"))
    before = snapshot(app, outbox)
    line = one_error_line(cli("account", "create", "--tenant", "acme", "--email", "n@acme.test",
                              "--name", "N", "--group", "BetaOnly", "--json"))
    assert "グループ「BetaOnly」が見つかりません" in line
    assert snapshot(app, outbox) == before


# --- group create --------------------------------------------------------------------------------


def test_group_create(app, cli):
    ok_json(tenant_create(cli))
    data = ok_json(cli("group", "create", "--tenant", "acme", "Sales", "--description", "営業部", "--json"))
    assert set(data) == {"id", "name"}
    assert data["name"] == "Sales"
    with app.app_context():
        group = db.session.get(Group, data["id"])
        assert (group.name, group.description, group.is_default) == ("Sales", "営業部", False)
        assert group.tenant.slug == "acme"
    line = one_error_line(cli("group", "create", "--tenant", "acme", "Sales", "--json"))
    assert "グループ「Sales」はすでに存在します" in line


def test_same_group_name_in_two_tenants(cli):
    ok_json(tenant_create(cli))
    ok_json(tenant_create(cli, slug="beta", company="Beta", owner="o@beta.test", admin="a@beta.test"))
    first = ok_json(cli("group", "create", "--tenant", "acme", "Sales", "--json"))
    second = ok_json(cli("group", "create", "--tenant", "beta", "Sales", "--json"))
    assert first["id"] != second["id"]


# --- lists ---------------------------------------------------------------------------------------


def test_tenant_list(cli):
    assert ok_json(cli("tenant", "list", "--json")) == {"tenants": []}
    ok_json(tenant_create(cli, slug="beta", company="Beta", owner="o@beta.test", admin="a@beta.test"))
    ok_json(tenant_create(cli))
    assert ok_json(cli("tenant", "list", "--json")) == {"tenants": [
        {"slug": "acme", "company": "ACME株式会社", "status": "active", "created_at": START.isoformat()},
        {"slug": "beta", "company": "Beta", "status": "active", "created_at": START.isoformat()},
    ]}
    text = cli("tenant", "list")
    assert text.exit_code == 0
    assert text.stdout.splitlines() == ["acme\tactive\tACME株式会社", "beta\tactive\tBeta"]


def test_account_list_shows_when_an_account_is_locked(app, cli, clock):
    ok_json(tenant_create(cli))
    ok_json(cli("account", "create", "--tenant", "acme", "--email", "taro@acme.test", "--name", "山田 太郎",
                "--password", STRONG_PASSWORD, "--json"))
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email_normalized == "taro@acme.test"))
        for _ in range(5):
            lockout.register_failure(account, clock.now())
        db.session.commit()
    rows = {r["email"]: r for r in ok_json(cli("account", "list", "--tenant", "acme", "--json"))["accounts"]}
    assert rows["taro@acme.test"]["locked_at"] == clock.now().isoformat()
    ok_json(cli("account", "unlock", "--tenant", "acme", "taro@acme.test", "--json"))
    rows = {r["email"]: r for r in ok_json(cli("account", "list", "--tenant", "acme", "--json"))["accounts"]}
    assert rows["taro@acme.test"]["locked_at"] is None


def test_account_list(app, cli):
    tenant = ok_json(tenant_create(cli))
    ok_json(cli("group", "create", "--tenant", "acme", "Sales", "--json"))
    user = ok_json(cli("account", "create", "--tenant", "acme", "--email", "taro@acme.test",
                       "--name", "山田 太郎", "--group", "Sales", "--password", STRONG_PASSWORD, "--json"))
    ok_json(tenant_create(cli, slug="beta", company="Beta", owner="o@beta.test", admin="a@beta.test"))
    data = ok_json(cli("account", "list", "--tenant", "acme", "--json"))
    assert data == {"accounts": [
        {"id": tenant["admin_id"], "email": "admin@acme.test", "name": "admin", "role": "admin",
         "group": "ACME株式会社", "status": "enabled", "activated": False, "locked_at": None},
        {"id": user["id"], "email": "taro@acme.test", "name": "山田 太郎", "role": "user",
         "group": "Sales", "status": "enabled", "activated": True, "locked_at": None},
    ]}
    assert [a["email"] for a in ok_json(cli("account", "list", "--tenant", "beta", "--json"))["accounts"]] \
        == ["a@beta.test"]


# --- demo ----------------------------------------------------------------------------------------


@pytest.fixture
def demo(app):
    """`idp demo --json` as the console script runs it: via a FlaskGroup (which pushes the app context)."""
    runner = app.test_cli_runner()
    group = FlaskGroup(create_app=lambda: app, add_version_option=False, load_dotenv=False)

    def invoke():
        return ok_json(runner.invoke(cli=group, args=["demo", "--json"]))
    return invoke


def test_demo_works_with_flasks_cli_runner(cli):
    ok_json(cli("demo", "--json"))


def test_demo_creates_a_tenant_whose_credentials_log_in(app, demo):
    data = demo()
    assert data["slug"] == "demo"
    assert data["login_url"] == BASE + "/login"
    assert set(data["credentials"]) == {"admin", "user"}
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "demo"))
        assert tenant is not None
        accounts = db.session.scalars(select(Account).where(Account.tenant_id == tenant.id))
        roles = {a.email: a.role for a in accounts}
    credentials = data["credentials"]
    assert roles == {credentials["admin"]["email"]: "admin", credentials["user"]["email"]: "user"}
    for cred in data["credentials"].values():
        assert_login_works(app, cred["email"], cred["password"])


def test_demo_twice_gives_new_passwords_and_old_ones_stop_working(app, demo, outbox):
    first = demo()
    before = snapshot(app, outbox)
    second = demo()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 1
        assert db.session.scalar(select(func.count()).select_from(Account)) == 2
    assert snapshot(app, outbox)[1] == before[1]  # no second service-start mail
    for role in ("admin", "user"):
        old, new = first["credentials"][role], second["credentials"][role]
        assert old["email"] == new["email"]
        assert old["password"] != new["password"]
        assert_login_fails(app, old["email"], old["password"])
        assert_login_works(app, new["email"], new["password"])


def test_demo_service_start_mail_has_no_dead_link(demo, outbox):
    demo()
    [mail] = outbox.to("admin@demo.example.com")
    assert mail["Subject"] == SERVICE_START
    body = outbox.body(mail)
    assert "None" not in body.split()
    assert "パスワードを設定して" not in body


# --- the installed console script ----------------------------------------------------------------


def run_idp(instance_dir, *args, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    env.update(IDP_INSTANCE_DIR=str(instance_dir), IDP_BASE_URL=BASE, IDP_MAIL_TRANSPORT="outbox")
    return subprocess.run([IDP_SCRIPT, *args], env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=timeout, cwd=str(instance_dir.parent))


def _tenant_args(slug="acme", admin="admin@acme.test"):
    # an address owns at most one contract: each tenant gets its own owner
    return ["tenant", "create", slug, "--company", "ACME株式会社", "--owner-email", f"owner@{slug}.test",
            "--admin-email", admin, "--json"]


@pytest.mark.sqlite_only
def test_console_script_prints_one_json_object_and_errors_on_stderr(tmp_path):
    assert os.path.exists(IDP_SCRIPT)
    instance = tmp_path / "cli-instance"
    done = run_idp(instance, *_tenant_args())
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == TENANT_KEYS
    assert data["issuer"] == BASE + "/t/acme"
    assert (instance / "idp.sqlite3").exists()
    assert len(list((instance / "outbox").glob("*.eml"))) == 2

    duplicate = run_idp(instance, *_tenant_args(admin="other@acme.test"))
    assert duplicate.returncode == 1
    assert duplicate.stdout == ""
    lines = duplicate.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "acme" in lines[0], duplicate.stderr

    listed = run_idp(instance, "tenant", "list", "--json")
    assert listed.returncode == 0
    assert [t["slug"] for t in json.loads(listed.stdout)["tenants"]] == ["acme"]


@pytest.mark.sqlite_only
def test_console_script_writes_while_a_server_holds_a_read_transaction(tmp_path):
    instance = tmp_path / "cli-instance"
    assert run_idp(instance, *_tenant_args()).returncode == 0
    server = sqlite3.connect(str(instance / "idp.sqlite3"), isolation_level=None, timeout=1)
    try:
        assert server.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        server.execute("BEGIN")
        assert server.execute("SELECT count(*) FROM accounts").fetchone()[0] == 1
        account = run_idp(instance, "account", "create", "--tenant", "acme", "--email", "taro@acme.test",
                          "--name", "山田 太郎", "--password", STRONG_PASSWORD, "--json")
        assert account.returncode == 0, account.stderr
        assert json.loads(account.stdout)["activation_url"] is None
        tenant = run_idp(instance, *_tenant_args(slug="beta", admin="admin@beta.test"))
        assert tenant.returncode == 0, tenant.stderr
        # The server's snapshot is unchanged until it ends its transaction; then it sees the writes.
        assert server.execute("SELECT count(*) FROM accounts").fetchone()[0] == 1
        server.execute("COMMIT")
        assert server.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3
    finally:
        server.close()
