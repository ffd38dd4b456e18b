"""The owner's CSV exports (利用終了 → データのダウンロード) read as the admin's log CSVs do: labels in the
UI language, then the stored codes for scripts; every download is in the audit log (issue 15)."""
import csv
import io
import re

import pytest

from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.owners import OWNER_EMAIL, activate_owner, owner_login

USER = "taro@acme.example.com"
PYTHON_REPR = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|<built-in|\{'|\['")


@pytest.fixture
def signed_in(app, clock, factory, submit, outbox, client):
    factory.tenant()
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        sales = groups.create_group(tenant, "営業部", now=clock.now(), actor=OPERATOR)
        accounts.create_account(tenant, accounts.NewAccount(
            email=USER, name="山田 太郎", group=sales, status="disabled", department="営業一課"),
            now=clock.now(), actor=OPERATOR)
        db.session.commit()
    activate_owner(submit, outbox)
    owner_login(client)


def _rows(client, kind):
    response = client.get(f"/contract/export/{kind}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="acme-{kind}.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff") and "\r\n" in text
    assert not PYTHON_REPR.search(text), text
    header, *rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    return header, [dict(zip(header, row)) for row in rows]


def test_accounts_in_words_with_code_columns(signed_in, client):
    header, rows = _rows(client, "accounts")
    assert header == ["メールアドレス", "名前", "ユーザータイプ", "ステータス", "所属グループ", "組織名", "部署名",
                      "電話番号", "携帯電話番号", "有効開始日", "有効終了日", "初期設定の完了", "最終ログイン日時",
                      "登録日時", "ユーザータイプコード", "ステータスコード"]
    admin, taro = rows
    assert (admin["メールアドレス"], admin["ユーザータイプ"], admin["ステータス"], admin["所属グループ"]) == (
        "admin@acme.example.com", "管理者", "有効", "ACME株式会社")
    assert (admin["ユーザータイプコード"], admin["ステータスコード"], admin["初期設定の完了"]) == ("admin", "enabled", "はい")
    assert (taro["名前"], taro["ユーザータイプ"], taro["ステータス"], taro["所属グループ"], taro["部署名"]) == (
        "山田 太郎", "ユーザー", "無効", "営業部", "営業一課")
    assert (taro["ユーザータイプコード"], taro["ステータスコード"]) == ("user", "disabled")
    assert taro["有効開始日"] == "2026/04/01" and taro["有効終了日"] == "" and taro["最終ログイン日時"] == ""
    assert re.fullmatch(r"2026/04/01 \d\d:\d\d", taro["登録日時"])  # Japan time, as the log pages show


def test_audit_log_in_words_with_the_action_code(signed_in, client):
    header, rows = _rows(client, "audit")
    assert header[:5] == ["日時", "管理者", "操作", "対象", "変更内容"] and "操作コード" in header
    created = [row for row in rows if row["操作コード"] == "account.create"]
    assert created and all(row["操作"] == "アカウントの登録" for row in created)
    activation = next(row for row in rows if row["操作コード"] == "owner.activate")
    assert activation["操作"] == "契約者の初期設定" and activation["管理者"] == OWNER_EMAIL
    start = next(row for row in rows if row["操作コード"] == "tenant.create")
    assert "会社名: ACME株式会社" in start["変更内容"] and start["管理者"] == "運用担当者（コマンド）"


def test_login_log_in_words_with_code_columns(signed_in, client):
    header, rows = _rows(client, "logins")
    assert header[:6] == ["日時", "ユーザー", "サービス", "認証方式", "結果", "理由"]
    [login] = rows
    assert (login["ユーザー"], login["サービス"], login["認証方式"], login["結果"]) == (
        OWNER_EMAIL, "契約管理", "パスワード", "成功")
    assert (login["認証方式コード"], login["結果コード"]) == ("password", "success")


def test_failed_logins_carry_the_reason_in_words_and_code(factory, submit, outbox, client, app):
    factory.tenant()
    activate_owner(submit, outbox)
    owner_login(app.test_client(), password="Wrong-Password-1")
    owner_login(client)
    _header, rows = _rows(client, "logins")
    failure = next(row for row in rows if row["結果コード"] == "failure")
    assert (failure["結果"], failure["理由"], failure["理由コード"]) == ("失敗", "パスワード誤り", "bad_password")


def test_downloads_are_in_the_audit_log(signed_in, client):
    _rows(client, "accounts")
    _rows(client, "logins")
    _header, rows = _rows(client, "audit")
    done = {row["操作コード"]: row for row in rows if row["管理者"] == OWNER_EMAIL}
    assert done["account.csv_export"]["操作"] == "アカウント一覧のダウンロード"
    assert done["account.csv_export"]["変更内容"] == "件数: 2"
    assert done["logs.login_export"]["操作"] == "ログイン履歴のダウンロード"


def test_english_labels_keep_the_codes(signed_in, client):
    client.set_cookie("lang", "en")
    header, rows = _rows(client, "accounts")
    assert header[0] == "Email address"
    admin = rows[0]
    assert admin["Email address"] == "admin@acme.example.com" and "有効" not in admin.values()
    assert "enabled" in admin.values() and "admin" in admin.values()
