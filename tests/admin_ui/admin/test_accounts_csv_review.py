"""CSV import, what the admin sees before 取り込む: the counts and each row's changes in words, unchanged
rows left alone; the sample file and the legend; ファイル削除 asks first (issue 15)."""
import csv
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.console.account_csv import HEADER
from idp.models import Account, AuditEvent
from idp.platform.extensions import db
from tests.admin_ui.admin.test_accounts_csv import csv_bytes, row

PYTHON_REPR = ("<built-in", "None", "True", "False", "{'", "['")


def _text(html):
    """What a person reads: no tags, one space between words."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _counts(html):
    """{label: "N件"} of the review's summary."""
    block = html[html.index('<dl class="details import-counts">'):]
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block[:block.index("</dl>")]))


def _review_rows(html):
    """The review's table as read: [(row, kind, account, [what changes])]."""
    table = html[html.index('<table class="list import-changes">'):]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table[:table.index("</table>")], re.S)[1:]:
        cells = re.findall(r"<td>(.*?)</td>", tr, re.S)
        lines = [_text(item) for item in re.findall(r"<li>(.*?)</li>", cells[3], re.S)] or [_text(cells[3])]
        rows.append((int(cells[0]), _text(cells[1]), _text(cells[2]), lines))
    return rows


def _assert_no_python_values(html):
    text = _text(html)
    assert [word for word in PYTHON_REPR if word in text] == [], text


def _stored(app):
    """Every account as stored (updated_at included), and the audit actions so far."""
    with app.app_context():
        accounts = {a.email: (a.name, a.role, a.status, a.group_id, a.organization, a.department, a.mobile, a.phone,
                              a.valid_from, a.valid_to, a.updated_at) for a in db.session.scalars(select(Account))}
        return accounts, [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


@pytest.fixture
def staff(app, factory, acme):
    """taro (本社/総務部, a mobile), jiro (bare), hanako (営業, disabled, until 2027/03/31), temp: acme's users."""
    from idp.directory.groups import get_by_name
    from idp.tenancy import tenants
    factory.group("acme", "営業")
    with app.app_context():
        sales = get_by_name(tenants.get_by_slug("acme"), "営業")
        db.session.expunge(sales)
    factory.account(email="taro@acme.example.com", organization="本社", department="総務部", mobile="09012345678")
    factory.account(email="jiro@acme.example.com", name="佐藤 次郎")
    factory.account(email="hanako@acme.example.com", name="髙橋 花子", group=sales, status="disabled",
                    valid_to=date(2027, 3, 31))
    factory.account(email="temp@acme.example.com", name="臨時 職員")


def test_reimporting_an_unchanged_export_changes_nothing(admin, upload, post, app, clock, staff):
    exported = admin.get("/admin/accounts/export").get_data()
    before = _stored(app)
    html, url = upload(exported)
    assert _counts(html) == {"登録": "0件", "更新": "0件", "削除": "0件", "変更なし": "5件"}
    assert "ファイルの内容は現在のアカウントと同じです。取り込んでも何も変わりません。" in html
    assert "取り込む</button>" not in html and "import-changes" not in html
    _assert_no_python_values(html)
    clock.advance(hours=1)  # a write would move updated_at now
    response = post(url, url + "/apply", follow_redirects=True)  # applied anyway (e.g. from an older tab)
    assert "CSVを取り込みました（登録 0件、更新 0件、削除 0件、変更なし 5件）。" in response.get_data(as_text=True)
    assert _stored(app) == before  # no account written, no audit event


def test_the_review_shows_each_change_in_words_and_applies_only_those(upload, apply, app, clock, staff):
    html, url = upload(csv_bytes([
        row(email="taro@acme.example.com", name="山田 太郎", role="1", org="", dept="総務部", group="営業",
            mobile="09012345678", phone="0312345678", valid_to="2027/3/31", status="1"),
        row(email="jiro@acme.example.com", name="佐藤 次郎", org="", dept="", mobile="", phone=""),  # as stored
        row(email="hanako@acme.example.com", name="髙橋 花子", org="", dept="", group="営業", mobile="", phone="",
            valid_to="", status="0"),
        row(email="new@acme.example.com", name="新規 一郎"),
        row(email="temp@acme.example.com", delete="1"),
    ]))
    assert _counts(html) == {"登録": "1件", "更新": "2件", "削除": "1件", "変更なし": "1件"}
    assert _review_rows(html) == [
        (2, "更新", "山田 太郎 taro@acme.example.com", [
            "ユーザータイプ: ユーザー → 管理者", "組織名: 本社 → （なし）", "所属グループ: ACME株式会社 → 営業",
            "電話番号: （なし） → 0312345678", "有効終了日: （なし） → 2027/03/31", "ステータス: 有効 → 無効"]),
        (4, "更新", "髙橋 花子 hanako@acme.example.com", ["有効終了日: 2027/03/31 → （なし）", "ステータス: 無効 → 有効"]),
        (5, "登録", "新規 一郎 new@acme.example.com", ["新しいアカウントを登録し、有効化メールを送信します。"]),
        (6, "削除", "臨時 職員 temp@acme.example.com", ["アカウントを削除し、ログイン中のセッションも終了します。"]),
    ]
    _assert_no_python_values(html)
    assert "取り込む</button>" in html
    before, _actions = _stored(app)
    clock.advance(hours=1)
    assert "CSVを取り込みました（登録 1件、更新 2件、削除 1件、変更なし 1件）。" in apply(url)
    after, actions = _stored(app)
    assert after["jiro@acme.example.com"] == before["jiro@acme.example.com"]  # updated_at included
    assert after["taro@acme.example.com"][1:3] == ("admin", "disabled")
    assert after["taro@acme.example.com"][-1] == after["hanako@acme.example.com"][-1] == clock.now()
    assert "temp@acme.example.com" not in after and "new@acme.example.com" in after
    with app.app_context():
        updated = {db.session.get(Account, e.target_id).email for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "account.update"))}
    assert updated == {"taro@acme.example.com", "hanako@acme.example.com"}


def test_the_sample_downloads_and_imports_as_it_is(admin, upload, apply, app):
    page = admin.get("/admin/accounts/import").get_data(as_text=True)
    assert ">書式ダウンロード(CSV)</a>" in page and ">サンプル(CSV)</a>" in page
    response = admin.get("/admin/accounts/csv-sample")
    assert response.headers["Content-Disposition"] == 'attachment; filename="accounts_sample.csv"'
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")  # like the template and the export
    header, example = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    assert tuple(header) == HEADER
    assert example == ["yamada.taro@example.com", "山田 太郎", "0", "本社", "営業部", "ACME株式会社", "09012345678",
                       "0312345678", "2026/04/01", "", "0", "0"]
    html, url = upload(data)
    assert "取り込めません" not in html and _counts(html)["登録"] == "1件"
    assert "登録 1件" in apply(url)
    assert "yamada.taro@example.com" in _stored(app)[0]


def test_the_sample_imports_under_the_sms_policy_too(admin, post, upload):
    post("/admin/security", "/admin/security/mfa", {"mode": "sms", "group": ""})
    html, _url = upload(admin.get("/admin/accounts/csv-sample").get_data())
    assert "取り込めません" not in html and _counts(html)["登録"] == "1件"


def test_the_import_page_explains_the_codes_and_the_date_format(admin):
    text = _text(admin.get("/admin/accounts/import").get_data(as_text=True))
    for line in ("ユーザータイプ 必須 0：ユーザー、1：管理者", "ステータス 必須 0：有効、1：無効",
                 "論理削除フラグ 必須 0：登録・更新、1：削除", "有効開始年月日 必須 yyyy/MM/dd（例：2026/04/01）",
                 "有効終了年月日 yyyy/MM/dd。空欄にすると期限なしです。", "所属グループ 必須 登録済みのグループ名"):
        assert line in text


def test_discarding_an_upload_asks_first(upload, admin, app):
    html, url = upload(csv_bytes([row()]))
    token = csrf_token_from(html)
    page = admin.post(url + "/discard", data={"csrf_token": token})  # ファイル削除 on the review page
    confirm = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "アップロードしたファイルを削除します。ファイルの内容は取り込まれません。よろしいですか？" in confirm
    assert 'name="confirm" value="1"' in confirm and f'action="{url}/discard"' in confirm
    assert admin.get(url).status_code == 200  # still there
    assert admin.post(url + "/discard", data={"confirm": "1"}).status_code == 400  # no CSRF token: refused
    assert admin.get(url).status_code == 200
    done = admin.post(url + "/discard", data={"csrf_token": csrf_token_from(confirm), "confirm": "1"},
                      follow_redirects=True)
    assert "アップロードしたファイルを削除しました。" in done.get_data(as_text=True)
    assert admin.get(url).status_code == 404
    assert admin.post(url + "/discard", data={"csrf_token": token}).status_code == 404  # gone: nothing to ask
    assert "ichiro@acme.example.com" not in _stored(app)[0]
