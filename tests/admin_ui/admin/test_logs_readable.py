"""The log pages and CSVs read as words (issue 15, point 3): labels for every action, reason, result and
sign-in method, group names instead of ids, `前 → 後`, the factor used at login, code columns in the CSVs.

One history made through HTTP as the admin and the users would: accounts created and edited (group
changes, one group deleted afterwards), MFA policies, an unlock, reset requests, a wrong password, logins
with an authenticator app, SMS and a recovery code, a wrong code, an app the user may not use."""
import csv
import io
import os
import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR
from idp.models import Account, Group
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.mfa import SmsOutbox, post_form, recovery_codes_on, secret_on, totp
from tests.support.visible_text import visible

REDIRECT_URI = "https://rp.example.com/callback"
FORM = {"role": "user", "status": "enabled", "valid_from": "2026-04-01", "mobile": "09011112222"}
# What must never be visible: Python values and stored codes
REPRS = ("None", "True", "False", "[", "{'", "<built-in")
CODES = ("account.", "mfa.", "password.", "group.", "logs.", "bad_password", "bad_code", "app_not_assigned",
         "success", "failure", "totp", "recovery", "oidc")


def assert_readable(text):
    for word in REPRS + CODES:
        assert word not in text, (word, [line for line in text.splitlines() if word in line])


def _user(app, clock, email, name, group_name, mobile=""):
    """A user with a password (no activation mail) in `group_name`."""
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        accounts.create_account(tenant, accounts.NewAccount(email=email, name=name, mobile=mobile,
                                                            group=groups.get_by_name(tenant, group_name)),
                                password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        db.session.commit()


def _id_of(app, model, **where):
    with app.app_context():
        return db.session.scalar(select(model.id).filter_by(**where))


def _browser_login(app, email, password=STRONG_PASSWORD):
    browser = app.test_client()
    response = post_form(browser, "/login", {"email": email, "password": password})
    return browser, response


def _admin_history(app, clock, post, submit, factory):
    """MFA policies, an account created in 営業 then moved to 臨時 (deleted afterwards), an unlock."""
    sales, temp = factory.group("acme", "営業"), factory.group("acme", "臨時")
    factory.account()  # taro, default group
    assert post("/admin/security", "/admin/security/mfa", {"mode": "totp"}).status_code == 302
    assert post("/admin/security", "/admin/security/mfa", {"mode": "sms", "group": str(sales)}).status_code == 302
    new = submit("/admin/accounts/new", {**FORM, "email": "ichiro@acme.example.com", "name": "鈴木 一郎",
                                         "group": str(sales)})
    assert new.status_code == 302, new.get_data(as_text=True)
    ichiro = _id_of(app, Account, email_normalized="ichiro@acme.example.com")
    edit = submit(f"/admin/accounts/{ichiro}/edit", {**FORM, "name": "鈴木 一朗", "group": str(temp),
                                                     "valid_to": "2027-03-31"})
    assert edit.status_code == 302, edit.get_data(as_text=True)
    assert post("/admin/groups", "/admin/groups/delete", {"ids": str(temp), "confirm": "1"}).status_code == 302
    taro = _id_of(app, Account, email_normalized="taro@acme.example.com")
    with app.app_context():
        db.session.get(Account, taro).locked_at = clock.now()
        db.session.commit()
    assert post(f"/admin/accounts/{taro}", f"/admin/accounts/{taro}/unlock").status_code == 302
    return temp


def _sign_ins(app, clock, sms_outbox):
    """taro: wrong password, TOTP enrolment, then a wrong code and a recovery code; hanako: SMS."""
    _browser_login(app, "taro@acme.example.com", "Wrong-Password-99")
    taro, response = _browser_login(app, "taro@acme.example.com")
    assert taro.get("/login/mfa").headers["Location"] == "/login/mfa/totp"
    secret = secret_on(taro.get("/login/mfa/totp").get_data(as_text=True))
    codes = recovery_codes_on(post_form(taro, "/login/mfa/totp", {"code": totp(secret, clock)}).get_data(as_text=True))
    again, _ = _browser_login(app, "taro@acme.example.com")
    assert again.get("/login/mfa").headers["Location"] == "/login/mfa/code"
    wrong = "000000" if totp(secret, clock) != "000000" else "111111"
    assert post_form(again, "/login/mfa/code", {"code": wrong}).status_code == 200
    assert post_form(again, "/login/mfa/code", {"code": codes[0]}).status_code == 302
    _user(app, clock, "hanako@acme.example.com", "佐藤 花子", "営業", mobile="09012345678")
    hanako, _ = _browser_login(app, "hanako@acme.example.com")
    assert hanako.get("/login/mfa").headers["Location"] == "/login/mfa/sms"
    assert post_form(hanako, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    assert post_form(hanako, "/login/mfa/code", {"code": sms_outbox.last_code()}).status_code == 200
    return taro


def _app_not_assigned(app, clock, taro):
    """An OIDC app for 営業 only: taro (default group) is refused."""
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        client = oidc_clients.register(tenant, oidc_clients.ClientSettings(name="経費精算", redirect_uris=(REDIRECT_URI,)),
                                       groups=[groups.get_by_name(tenant, "営業")], now=clock.now(), actor=OPERATOR)
        db.session.commit()
        client_id = client.client.client_id
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": "openid",
             "state": "s", "nonce": "n"}
    response = taro.get(f"/t/acme/oidc/authorize?{urlencode(query)}")
    assert "error=access_denied" in response.headers["Location"]


@pytest.fixture
def history(app, clock, admin, post, submit, factory):
    """The whole history; returns the id of the deleted group 臨時."""
    temp = _admin_history(app, clock, post, submit, factory)
    for email in ("taro@acme.example.com", "disabled@acme.example.com"):
        if email.startswith("disabled"):
            factory.account(email=email, name="無効 ユーザー", status="disabled")
        assert post_form(app.test_client(), "/password/forgot", {"email": email}).status_code == 200
    taro = _sign_ins(app, clock, SmsOutbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "sms")))
    _app_not_assigned(app, clock, taro)
    return temp


def _change_lines(html):
    """The lines of the 変更内容 cells, one per recorded field."""
    cells = re.findall(r'<td class="changes"[^>]*>(.*?)</td>', html, re.S)
    return [line for cell in cells for line in re.findall(r"<div>(.*?)</div>", cell, re.S)]


def test_operation_log_reads_as_words(app, admin, history):
    assert _id_of(app, Group, name="臨時") is None  # named by its id below
    html = admin.get("/admin/logs/operations").get_data(as_text=True)
    text = visible(html)
    for words in ("アカウントの登録", "アカウントの変更", "二段階認証の設定変更", "アカウントのロック解除",
                  "パスワード再設定の申請", "グループの削除", "二段階認証の登録", "運用担当者（コマンド）",
                  "所属グループ: 営業", "名前: 鈴木 一郎 → 鈴木 一朗", f"所属グループ: 営業 → #{history}（削除済み）",
                  "有効終了日: （なし） → 2027/03/31", "二段階認証: 使用しない → 認証アプリ（必須）",
                  "二段階認証: 会社の設定に従う → SMS（必須）", "ロック状態: ロック中", "メール送信: はい",
                  "メール送信: いいえ", "メールを送らなかった理由: アカウント無効", "認証方法: 認証アプリ",
                  "ユーザータイプ: ユーザー", "会社全体"):
        assert words in text, words
    assert_readable(text)
    assert text.count("メールを送らなかった理由") == 1  # the request that nothing blocked shows no empty reason
    lines = _change_lines(html)
    assert len(lines) > 20 and [line for line in lines if not re.fullmatch(r"[^:<]+: \S[^<]*", line)] == []
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', html)
    assert ("account.update", "アカウントの変更") in options and ("mfa.policy_set", "二段階認証の設定変更") in options


def _csv_rows(response):
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_login_log_and_the_csvs_read_as_words(admin, history):
    """The login log names the factor; both CSVs hold the page's words plus the stored codes."""
    text = visible(admin.get("/admin/logs/logins").get_data(as_text=True))
    for words in ("パスワード誤り", "認証コード誤り", "サービスの利用権限なし", "パスワード＋認証アプリ",
                  "パスワード＋SMS", "パスワード＋回復コード", "OpenID Connect", "経費精算", "ポータル", "成功", "失敗"):
        assert words in text, words
    assert_readable(text)
    rows = re.findall(r"taro@acme\.example\.com\n(.+)\n(.+)\n(.+)\n(.+)\n", text)
    assert ("ポータル", "パスワード＋認証アプリ", "失敗", "認証コード誤り") in rows
    assert ("経費精算", "OpenID Connect", "失敗", "サービスの利用権限なし") in rows
    failures = _csv_rows(admin.get("/admin/logs/logins.csv?result=failure"))
    logins = _csv_rows(admin.get("/admin/logs/logins.csv"))
    assert list(logins[0]) == ["日時", "ユーザー", "サービス", "認証方式", "結果", "理由", "IPアドレス",
                               "認証方式コード", "結果コード", "理由コード"]
    picked = {(r["認証方式"], r["結果"], r["理由"], r["認証方式コード"], r["結果コード"], r["理由コード"]) for r in logins}
    assert ("パスワード", "失敗", "パスワード誤り", "password", "failure", "bad_password") in picked
    assert ("パスワード＋SMS", "成功", "", "sms", "success", "") in picked
    assert ("OpenID Connect", "失敗", "サービスの利用権限なし", "oidc", "failure", "app_not_assigned") in picked
    operations = _csv_rows(admin.get("/admin/logs/operations.csv"))
    assert list(operations[0]) == ["日時", "管理者", "操作", "対象", "変更内容", "操作コード", "変更内容（JSON）"]
    [moved] = [r for r in operations if "鈴木 一朗" in r["変更内容"]]
    assert (moved["操作"], moved["操作コード"]) == ("アカウントの変更", "account.update")
    assert moved["対象"] == "ichiro@acme.example.com"
    assert f"所属グループ: 営業 → #{history}（削除済み）" in moved["変更内容"].split("\n")
    assert '"group": [' in moved["変更内容（JSON）"]  # the stored values, for scripts
    text = visible(admin.get("/admin/logs/operations?action=logs.login_export").get_data(as_text=True))
    assert f"件数: {len(failures)}\n検索条件: 結果: 失敗" in text and "ログイン履歴のダウンロード" in text
    for row in operations + logins:
        assert_readable(" ".join(value for key, value in row.items() if "コード" not in key and "JSON" not in key))


def test_english_labels(admin, history):
    admin.set_cookie("lang", "en")
    text = visible(admin.get("/admin/logs/operations").get_data(as_text=True))
    for words in ("Account changed", "Two-step verification policy changed", "Account unlocked",
                  "Two-step verification: Off → Authenticator app (required)", "Lock state: Locked",
                  "Email sent: Yes", "Valid to: (none) → 2027/03/31", f"#{history} (deleted)"):
        assert words in text, words
    assert_readable(text)
    text = visible(admin.get("/admin/logs/logins").get_data(as_text=True))
    for words in ("Wrong password", "Wrong verification code", "App not assigned", "Password + authenticator app",
                  "Password + SMS", "Password + recovery code", "Success", "Failure", "Portal"):
        assert words in text, words
    header = admin.get("/admin/logs/logins.csv").get_data().decode("utf-8-sig").splitlines()[0]
    assert header == ("Time,User,App,Sign-in method,Result,Reason,IP address,Sign-in method code,Result code,"
                      "Reason code")
