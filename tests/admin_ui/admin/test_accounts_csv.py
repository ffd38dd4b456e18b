"""CSV: template, export (selection or search), two-step import with full validation, round-trip."""
import csv
import io

import pytest
from sqlalchemy import func, select

from idp.console.account_csv import HEADER
from idp.models import Account, AuditEvent
from idp.platform.extensions import db
from tests.admin_ui.admin.conftest import ADMIN_EMAIL

GROUP = "ACME株式会社"


def row(email="ichiro@acme.example.com", name="鈴木 一郎", role="0", org="本社", dept="営業部", group=GROUP,
        mobile="09012345678", phone="0312345678", valid_from="2026/04/01", valid_to="", status="0", delete="0"):
    return [email, name, role, org, dept, group, mobile, phone, valid_from, valid_to, status, delete]


def csv_bytes(rows, encoding="utf-8", header=HEADER):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _accounts(app):
    with app.app_context():
        return {a.email: (a.name, a.role, a.status, a.organization, a.department, a.mobile, a.phone,
                          a.valid_from.isoformat(), a.valid_to.isoformat() if a.valid_to else "")
                for a in db.session.scalars(select(Account))}


def test_template_has_the_header_row(admin):
    response = admin.get("/admin/accounts/csv-template")
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").strip() == ",".join(HEADER)
    assert "書式ダウンロード(CSV)" in admin.get("/admin/accounts").get_data(as_text=True)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_import_creates_with_activation_mail(upload, apply, app, outbox, encoding):
    html, url = upload(csv_bytes([row(), row(email="hanako@acme.example.com", name="髙橋 花子", role="1")], encoding))
    assert "登録" in html and "取り込む" in html and "エラー" not in html
    assert "ichiro@acme.example.com" not in _accounts(app)  # nothing yet
    html = apply(url)
    assert "CSVを取り込みました（登録 2件、更新 0件、削除 0件、変更なし 0件）。" in html
    accounts = _accounts(app)
    assert accounts["ichiro@acme.example.com"] == ("鈴木 一郎", "user", "enabled", "本社", "営業部", "09012345678",
                                                   "0312345678", "2026-04-01", "")
    assert accounts["hanako@acme.example.com"][:2] == ("髙橋 花子", "admin")
    assert len(outbox.to("ichiro@acme.example.com")) == 1 and len(outbox.to("hanako@acme.example.com")) == 1
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.csv_import"))
        assert event.changes == {"create": 2, "update": 0, "delete": 0}


def test_import_updates_and_deletes(upload, apply, app, factory, acme):
    factory.group("acme", "営業")
    factory.account(email="taro@acme.example.com")
    factory.account(email="jiro@acme.example.com", name="佐藤 次郎")
    data = csv_bytes([row(email="Taro@acme.example.com", name="山田 太郎（改）", group="営業", status="1",
                          valid_to="2027/3/31"),
                      row(email="jiro@acme.example.com", delete="1")])
    html, url = upload(data)
    html = apply(url)
    assert "登録 0件、更新 1件、削除 1件" in html
    accounts = _accounts(app)
    assert "jiro@acme.example.com" not in accounts
    assert accounts["taro@acme.example.com"][:3] == ("山田 太郎（改）", "user", "disabled")
    assert accounts["taro@acme.example.com"][-1] == "2027-03-31"


CASES = [
    (row(email=""), "メールアドレス", "メールアドレスを入力してください。"),
    (row(email="not-an-email"), "メールアドレス", "メールアドレスの形式が正しくありません。"),
    (row(name=""), "名前", "名前を入力してください。"),
    (row(name="x" * 201), "名前", "200文字以内で入力してください。"),
    (row(role="2"), "ユーザータイプ", "0（ユーザー）または1（管理者）"),
    (row(org="x" * 201), "組織名", "200文字以内"),
    (row(dept="x" * 201), "部署名", "200文字以内"),
    (row(group=""), "所属グループ", "所属グループを入力してください。"),
    (row(group="存在しない"), "所属グループ", "グループ「存在しない」が見つかりません。"),
    (row(mobile="090-1234-567"), "携帯電話番号", "070・080・090で始まる11桁"),
    (row(phone="12"), "電話番号", "市外局番から10〜15桁の数字"),
    (row(valid_from=""), "有効開始年月日", "日付を入力してください。"),
    (row(valid_from="2026-04-01"), "有効開始年月日", "yyyy/MM/dd"),
    (row(valid_to="2026/02/30"), "有効終了年月日", "yyyy/MM/dd"),
    (row(valid_to="2026/03/01"), "有効終了年月日", "有効終了日は有効開始日以降"),
    (row(status="9"), "ステータス", "0（有効）または1（無効）"),
    (row(delete="x"), "論理削除フラグ", "0（登録・更新）または1（削除）"),
    (row(email="nobody@acme.example.com", delete="1"), "メールアドレス", "削除するアカウントが見つかりません。"),
    (row(email=ADMIN_EMAIL, delete="1"), "論理削除フラグ", "自分自身のアカウントは削除できません。"),
    (row(email=ADMIN_EMAIL, role="0"), "ユーザータイプ", "自分自身のユーザータイプとステータスは変更できません。"),
    (row()[:11], "-", "列の数が正しくありません"),
]


@pytest.mark.parametrize("bad, column, message", CASES)
def test_every_error_kind_is_reported_and_nothing_changes(upload, app, factory, bad, column, message):
    factory.tenant(slug="other", company="Other Inc.")
    before = _accounts(app)
    good = row(email="good@acme.example.com")
    html, url = upload(csv_bytes([good, bad]))
    assert "取り込めません" in html and "取り込む</button>" not in html
    assert f"<td>3</td><td>{column}</td>" in html and message in html
    assert _accounts(app) == before


def test_one_bad_row_applies_nothing_and_every_error_is_listed(upload, post, app):
    rows = [row(email=f"u{i}@acme.example.com") for i in range(5)]
    rows[1][2] = "7"
    rows[3][5] = "ない"
    html, url = upload(csv_bytes(rows))
    assert "<td>3</td><td>ユーザータイプ</td>" in html and "<td>5</td><td>所属グループ</td>" in html
    response = post(url, url + "/apply")  # a forged apply is refused too
    assert response.status_code == 302 and response.headers["Location"] == url
    assert not any(email.startswith("u") for email in _accounts(app))


def test_duplicate_email_in_the_file(upload):
    html, _ = upload(csv_bytes([row(), row(email="ICHIRO@acme.example.com")]))
    assert "<td>3</td><td>メールアドレス</td><td>同じメールアドレスがファイル内で重複しています。</td>" in html


def test_300_rows_are_accepted_301_are_not(upload, apply, app):
    rows = [row(email=f"user{i:03d}@acme.example.com") for i in range(301)]
    html, _ = upload(csv_bytes(rows))
    assert "一度に取り込めるのは300行までです（301行あります）。" in html
    html, url = upload(csv_bytes(rows[:300]))
    assert "取り込めません" not in html
    assert "登録 300件" in apply(url)
    with app.app_context():
        assert db.session.scalar(select(func.count(Account.id))) == 301  # + the admin


EMPTY = "ファイルが空です。見出し行の次の行から、1行に1アカウントを記入してください。"


@pytest.mark.parametrize("data, filename, message", [
    (b"", "", "CSVファイルを選択してください。"),  # no file chosen
    (b"", "a.csv", EMPTY),  # zero bytes
    (b"\xef\xbb\xbf", "a.csv", EMPTY),  # a BOM and nothing else
    (csv_bytes([]), "a.csv", EMPTY),  # the header row alone (書式ダウンロード(CSV) as downloaded)
    (csv_bytes([], encoding="cp932") + b"\r\n,,,\r\n\r\n", "a.csv", EMPTY),  # header and blank lines
])
def test_empty_upload(admin, post, data, filename, message):
    response = post("/admin/accounts/import", "/admin/accounts/import",
                    {"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html
    assert (message == EMPTY) == ("CSVファイルを選択してください。" not in html)


@pytest.mark.parametrize("data, message", [
    (csv_bytes([row()], header=HEADER[:-1]), "見出し行"),
    ("メールアドレス".encode("utf-16"), "文字コード"),
])
def test_file_level_errors(upload, data, message):
    html, _ = upload(data)
    assert message in html and "取り込めません" in html


def test_discard_removes_the_upload(upload, post, admin, app):
    html, url = upload(csv_bytes([row()]))
    response = post(url, url + "/discard", {"confirm": "1"}, follow_redirects=True)
    assert "アップロードしたファイルを削除しました。" in response.get_data(as_text=True)
    assert admin.get(url).status_code == 404
    assert post("/admin/accounts", url + "/apply").status_code == 404
    assert "ichiro@acme.example.com" not in _accounts(app)


def test_another_admin_cannot_see_the_upload(upload, app, client, login, factory):
    html, url = upload(csv_bytes([row()]))
    factory.account(email="boss@acme.example.com", role="admin")
    login(email="boss@acme.example.com")
    assert client.get(url).status_code == 404


def test_export_selected_and_search(admin, post, app, factory, acme):
    taro, _ = factory.account(email="taro@acme.example.com", department="総務部")
    factory.account(email="jiro@acme.example.com", name="佐藤 次郎", department="営業部")
    response = post("/admin/accounts", "/admin/accounts/export", {"ids": str(taro)})
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(HEADER) and len(lines) == 2 and lines[1].startswith("taro@acme.example.com,")
    lines = admin.get("/admin/accounts/export?department=営業").get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith("jiro@acme.example.com,")
    lines = admin.get("/admin/accounts/export").get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 4
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.csv_export")).all()
        assert [e.changes["count"] for e in events] == [1, 1, 3]


def test_export_import_round_trip(admin, upload, apply, app, factory, acme):
    factory.group("acme", "営業")
    from idp.directory.groups import get_by_name
    from idp.tenancy import tenants
    with app.app_context():
        sales = get_by_name(tenants.get_by_slug("acme"), "営業")
        db.session.expunge(sales)
    from datetime import date
    factory.account(email="taro@acme.example.com", organization="本社", department="総務部", phone="0312345678",
                    mobile="09012345678", group=sales, status="disabled", valid_to=date(2027, 3, 31))
    before = _accounts(app)
    exported = admin.get("/admin/accounts/export").get_data()
    html, url = upload(exported)
    assert "取り込めません" not in html, html
    assert "登録 0件、更新 0件、削除 0件、変更なし 2件" in apply(url)
    assert _accounts(app) == before
    # the same file saved by Excel in Japan (Shift_JIS, no BOM) imports the same way
    html, url = upload(exported.decode("utf-8-sig").encode("cp932"))
    assert "取り込めません" not in html


def test_mobile_is_required_under_the_sms_policy(upload, post, app, factory, acme):
    sales = factory.group("acme", "営業")
    post("/admin/security", "/admin/security/mfa", {"mode": "sms", "group": str(sales)})
    html, _ = upload(csv_bytes([row(mobile=""), row(email="jiro@acme.example.com", group="営業", mobile="")]))
    assert "<td>3</td><td>携帯電話番号</td><td>二段階認証がSMSのため、携帯電話番号を入力してください。</td>" in html
    assert "<td>2</td><td>携帯電話番号</td>" not in html  # the default group has no SMS policy


def test_a_file_over_1_mib_is_refused(admin, post, app):
    data = csv_bytes([row()]) + b"#" * (1024 * 1024)
    response = post("/admin/accounts/import", "/admin/accounts/import",
                    {"file": (io.BytesIO(data), "big.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200 and "ファイルが大きすぎます。" in response.get_data(as_text=True)
    assert "ichiro@acme.example.com" not in _accounts(app)


def test_apply_validates_again_and_applies_nothing_when_the_data_changed(upload, post, app, factory, acme):
    sales = factory.group("acme", "営業")
    html, url = upload(csv_bytes([row(email=f"u{i}@acme.example.com") for i in range(3)]
                                 + [row(email="late@acme.example.com", group="営業")]))
    assert "取り込む" in html
    post("/admin/groups", "/admin/groups/delete", {"ids": str(sales), "confirm": "1"})  # meanwhile
    response = post(url, url + "/apply")
    assert response.status_code == 302 and response.headers["Location"] == url
    assert "<td>5</td><td>所属グループ</td>" in post(url, url + "/apply", follow_redirects=True).get_data(as_text=True)
    assert not any(email.startswith(("u", "late")) for email in _accounts(app))


def test_a_failure_while_applying_rolls_every_row_back(upload, post, app, outbox, monkeypatch):
    from idp.console import accounts as console_accounts
    html, url = upload(csv_bytes([row(email=f"u{i}@acme.example.com") for i in range(5)]))
    real_create, calls = console_accounts.create, []

    def failing_create(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("database went away")
        return real_create(*args, **kwargs)
    monkeypatch.setattr(console_accounts, "create", failing_create)
    assert post(url, url + "/apply").status_code == 500
    assert len(calls) == 4
    assert not any(email.startswith("u") for email in _accounts(app))
    assert not [m for m in outbox.messages() if m["To"].startswith("u")]  # no mail for rows never committed


def test_delete_flag_ends_the_sessions(upload, apply, app, factory, other_browser, acme):
    factory.account(email="taro@acme.example.com")
    browser = other_browser("taro@acme.example.com")
    assert browser.get("/").status_code == 200
    html, url = upload(csv_bytes([row(email="taro@acme.example.com", delete="1")]))
    assert "登録 0件、更新 0件、削除 1件" in apply(url)
    assert "taro@acme.example.com" not in _accounts(app)
    assert browser.get("/").status_code == 302


def test_export_guards_formula_cells_and_the_import_reads_them_back(admin, upload, apply, app, factory, acme):
    factory.account(email="taro@acme.example.com", name="=1+2", organization="@本社", department="-営業")
    before = _accounts(app)
    exported = admin.get("/admin/accounts/export?email=taro").get_data().decode("utf-8-sig")
    cells = next(r for r in csv.reader(io.StringIO(exported)) if r[0] == "taro@acme.example.com")
    assert cells[1:5] == ["'=1+2", "0", "'@本社", "'-営業"]
    html, url = upload(exported.encode("utf-8-sig"))
    assert "取り込めません" not in html
    assert "登録 0件、更新 0件、削除 0件、変更なし 1件" in apply(url)  # the apostrophes are not a change
    assert _accounts(app) == before
