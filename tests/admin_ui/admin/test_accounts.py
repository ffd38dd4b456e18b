"""Accounts pages: search, create (activation mail), detail, edit, unlock, re-send, delete."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from idp.directory.groups import get_by_name
from idp.models import Account, AuditEvent
from idp.platform.extensions import db
from tests.admin_ui.admin.conftest import ADMIN_EMAIL

FORM = {"name": "鈴木 一郎", "phone": "0312345678", "mobile": "09012345678", "organization": "本社",
        "department": "営業部", "role": "user", "status": "enabled", "valid_from": "2026-04-01", "valid_to": ""}


def _group_id(app, name):
    with app.app_context():
        from idp.tenancy import tenants
        return get_by_name(tenants.get_by_slug("acme"), name).id


def _account(app, email):
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email_normalized == email))
        if account is not None:
            db.session.expunge(account)
        return account


def _actions(app):
    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.actor_type == "admin"))]


@pytest.fixture
def people(factory, acme):
    factory.group("acme", "営業")
    factory.account(email="taro@acme.example.com", name="山田 太郎", organization="本社", department="総務部")
    factory.account(email="jiro@acme.example.com", name="佐藤 次郎", department="営業部")
    factory.account(email="boss@acme.example.com", name="高橋 部長", role="admin")


def test_create_sends_activation_mail_and_first_login_works(admin, submit, app, outbox, client, login):
    group = _group_id(app, "ACME株式会社")
    response = submit("/admin/accounts/new", {**FORM, "email": "ichiro@acme.example.com", "group": str(group)})
    assert response.status_code == 302
    account = _account(app, "ichiro@acme.example.com")
    assert response.headers["Location"] == f"/admin/accounts/{account.id}"
    assert (account.name, account.mobile, account.department, account.activated) == (
        "鈴木 一郎", "09012345678", "営業部", False)
    mail, = outbox.to("ichiro@acme.example.com")
    link = next(u for u in outbox.links(mail) if "/activate/" in u)
    path = link.replace("http://127.0.0.1:8000", "")
    client.get("/logout")
    response = submit(path, {"password": "Kaede-Leaves-2026", "password_confirm": "Kaede-Leaves-2026"})
    assert response.status_code == 302
    assert login(email="ichiro@acme.example.com", password="Kaede-Leaves-2026").status_code == 302
    assert "account.create" in _actions(app)


def test_create_shows_company_and_errors(admin, submit, app):
    html = admin.get("/admin/accounts/new").get_data(as_text=True)
    assert "ACME株式会社" in html and 'value="2026-04-01"' in html
    response = submit("/admin/accounts/new", {**FORM, "email": "bad", "name": "", "group": "999999"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "名前を入力してください。" in html and "グループが見つかりません。" in html
    response = submit("/admin/accounts/new", {**FORM, "email": "bad", "group": str(_group_id(app, "ACME株式会社"))})
    assert "メールアドレスの形式が正しくありません。" in response.get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("phone", "03-1234", "市外局番から10〜15桁の数字"),
    ("valid_from", "", "有効開始日を入力してください。"),
    ("valid_to", "2026-03-01", "有効終了日は有効開始日以降の日付にしてください。"),
    ("valid_from", "2026-13-01", "日付の形式が正しくありません。"),
    ("role", "root", "ユーザータイプが正しくありません。"),
    ("status", "deleted", "ステータスが正しくありません。"),
    ("name", "x" * 201, "200文字以内で入力してください。"),
    ("organization", "x" * 201, "200文字以内で入力してください。"),
    ("department", "x" * 201, "200文字以内で入力してください。"),
    ("name", "山田\x07太郎", "制御文字は使用できません。"),  # NUL itself: a 400 before any form (url_input)
    ("department", "営業\x1b部", "制御文字は使用できません。"),
    ("mobile", "090-1234-567", "070・080・090で始まる11桁"),
    ("mobile", "03-1234-5678", "070・080・090で始まる11桁"),
])
def test_create_validation(admin, submit, app, field, value, message):
    data = {**FORM, "email": "new@acme.example.com", "group": str(_group_id(app, "ACME株式会社")), field: value}
    response = submit("/admin/accounts/new", data)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _account(app, "new@acme.example.com") is None


def test_create_refuses_a_taken_email(admin, submit, app, people):
    data = {**FORM, "email": "TARO@acme.example.com", "group": str(_group_id(app, "ACME株式会社"))}
    response = submit("/admin/accounts/new", data)
    assert "このメールアドレスはすでに登録されています。" in response.get_data(as_text=True)


@pytest.mark.parametrize("query, shown, hidden", [
    ("name=山田", ["山田 太郎"], ["佐藤 次郎"]),
    ("email=JIRO", ["佐藤 次郎"], ["山田 太郎"]),
    ("role=admin", ["高橋 部長"], ["山田 太郎"]),
    ("organization=本社", ["山田 太郎"], ["佐藤 次郎"]),
    ("department=営業", ["佐藤 次郎"], ["山田 太郎"]),
    ("status=disabled", [], ["山田 太郎", "佐藤 次郎"]),
    ("lock=locked", [], ["山田 太郎"]),
    ("name=%25", [], ["山田 太郎"]),  # LIKE wildcards are literal
])
def test_search(admin, people, query, shown, hidden):
    html = admin.get(f"/admin/accounts?{query}").get_data(as_text=True)
    for name in shown:
        assert name in html
    for name in hidden:
        assert name not in html


def test_search_by_group_and_lock_state(admin, app, clock, people):
    sales = _group_id(app, "営業")
    with app.app_context():
        taro = db.session.scalar(select(Account).where(Account.email_normalized == "taro@acme.example.com"))
        taro.group_id = sales
        taro.locked_at = clock.now()
        db.session.commit()
    html = admin.get(f"/admin/accounts?group={sales}").get_data(as_text=True)
    assert "山田 太郎" in html and "佐藤 次郎" not in html
    html = admin.get("/admin/accounts?lock=locked").get_data(as_text=True)
    assert "山田 太郎" in html and "ロック中" in html and "佐藤 次郎" not in html
    clock.advance(minutes=31)  # the lock ran out
    assert "山田 太郎" not in admin.get("/admin/accounts?lock=locked").get_data(as_text=True)


def test_sort_and_pagination(admin, app, clock, acme):
    from idp.console import account_search
    with app.app_context():
        from idp.tenancy import tenants
        tenant = tenants.get_by_slug("acme")
        group_id = get_by_name(tenant, "ACME株式会社").id
        for i in range(account_search.PER_PAGE + 5):
            db.session.add(Account(tenant_id=tenant.id, group_id=group_id, subject=f"s{i}",
                                   email=f"u{i:03d}@acme.example.com", email_normalized=f"u{i:03d}@acme.example.com",
                                   name=f"利用者{i:03d}", valid_from=date(2026, 4, 1), created_at=clock.now(),
                                   updated_at=clock.now()))
        db.session.commit()
    html = admin.get("/admin/accounts?sort=email").get_data(as_text=True)
    assert "56件中 1 / 2 ページ" in html and "u000@" in html and "u054@" not in html
    assert 'href="/admin/accounts?sort=email&amp;page=2"' in html
    html = admin.get("/admin/accounts?sort=email&page=2").get_data(as_text=True)
    assert "u054@" in html and "u000@" not in html
    html = admin.get("/admin/accounts?sort=email&dir=desc").get_data(as_text=True)
    assert html.index("u054@") < html.index("u053@")
    assert 'href="/admin/accounts">クリア</a>' in html


def test_detail_shows_every_field(admin, app, people):
    taro = _account(app, "taro@acme.example.com")
    html = admin.get(f"/admin/accounts/{taro.id}").get_data(as_text=True)
    for text in ("山田 太郎", "taro@acme.example.com", "ACME株式会社", "本社", "総務部", "2026/04/01", "完了",
                 "利用できるサービス", "最終ログイン日時", "最終更新日時", "ロック日時"):
        assert text in html


def test_detail_lists_the_apps_the_account_can_use(admin, app, clock, people):
    from idp.apps import catalogue as apps
    from idp.directory.groups import default_group
    from idp.logs.audit import OPERATOR
    from idp.tenancy import tenants
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        apps.create_bookmark_app(tenant, name="経費精算", launch_url="https://expense.example.com/",
                                 groups=[default_group(tenant)], now=clock.now(), actor=OPERATOR)
        db.session.commit()
    taro = _account(app, "taro@acme.example.com")
    assert "経費精算" in admin.get(f"/admin/accounts/{taro.id}").get_data(as_text=True)


def test_edit_changes_fields_but_not_email_and_disabling_blocks_login(app, admin, submit, login, people,
                                                                      other_browser):
    taro = _account(app, "taro@acme.example.com")
    user_browser = other_browser("taro@acme.example.com")
    assert user_browser.get("/").status_code == 200
    sales = _group_id(app, "営業")
    response = submit(f"/admin/accounts/{taro.id}/edit", {**FORM, "email": "evil@acme.example.com",
                                                          "group": str(sales), "status": "disabled"})
    assert response.status_code == 302
    taro = _account(app, "taro@acme.example.com")
    assert (taro.name, taro.group_id, taro.status) == ("鈴木 一郎", sales, "disabled")
    assert user_browser.get("/").status_code == 302  # the session ended
    assert login(email="taro@acme.example.com").status_code == 200  # refused
    assert "account.update" in _actions(app)


def test_own_type_and_status_are_shown_read_only_and_never_taken_from_the_form(admin, submit, app, people):
    """Issue 15 point 10: no menus that look editable and are refused after saving."""
    me = _account(app, ADMIN_EMAIL)
    html = admin.get(f"/admin/accounts/{me.id}/edit").get_data(as_text=True)
    assert 'name="role"' not in html and 'name="status"' not in html
    assert "自分自身のユーザータイプとステータスは変更できません（管理画面に入れなくなるのを防ぐため）。" in html
    assert "<dt>ユーザータイプ</dt><dd>管理者</dd>" in html and "<dt>ステータス</dt><dd>有効</dd>" in html
    data = {**FORM, "group": str(me.group_id), "role": "user", "status": "disabled"}  # sent anyway: ignored
    response = submit(f"/admin/accounts/{me.id}/edit", data)
    assert response.status_code == 302
    me = _account(app, ADMIN_EMAIL)
    assert (me.name, me.role, me.status) == ("鈴木 一郎", "admin", "enabled")
    taro_page = admin.get(f"/admin/accounts/{_other_id(app)}/edit").get_data(as_text=True)
    assert 'name="role"' in taro_page and 'name="status"' in taro_page  # another account's menus stay


def _other_id(app):
    with app.app_context():
        return db.session.scalars(select(Account.id).where(Account.email != ADMIN_EMAIL)).first()


def test_unlock(admin, post, app, clock, people):
    taro = _account(app, "taro@acme.example.com")
    with app.app_context():
        db.session.get(Account, taro.id).locked_at = clock.now()
        db.session.get(Account, taro.id).failed_login_count = 5
        db.session.commit()
    page = f"/admin/accounts/{taro.id}"
    assert "ロック解除" in admin.get(page).get_data(as_text=True)
    response = post(page, f"{page}/unlock", follow_redirects=True)
    assert "ロックを解除しました。" in response.get_data(as_text=True)
    assert _account(app, "taro@acme.example.com").locked_at is None
    assert "account.unlock" in _actions(app)


def test_resend_activation_mails_a_new_link(admin, post, app, outbox, factory):
    account_id, first_url = factory.account(email="new@acme.example.com", password=None)
    page = f"/admin/accounts/{account_id}"
    assert "有効化メール再送" in admin.get(page).get_data(as_text=True)
    response = post(page, f"{page}/resend-activation", follow_redirects=True)
    assert "有効化メールを再送しました。" in response.get_data(as_text=True)
    mails = outbox.to("new@acme.example.com")
    assert len(mails) == 2
    new_link = next(u for u in outbox.links(mails[-1]) if "/activate/" in u)
    assert new_link != first_url
    assert "再送を依頼してください" in admin.get(first_url.replace("http://127.0.0.1:8000", "")).get_data(as_text=True)
    assert "再送を依頼してください" not in admin.get(new_link.replace("http://127.0.0.1:8000", "")).get_data(
        as_text=True)
    assert "account.resend_activation" in _actions(app)


def test_delete_many_after_confirmation_ends_sessions(admin, post, app, people, other_browser):
    taro, jiro = _account(app, "taro@acme.example.com"), _account(app, "jiro@acme.example.com")
    user_browser = other_browser("taro@acme.example.com")
    data = {"ids": [str(taro.id), str(jiro.id)]}
    response = post("/admin/accounts", "/admin/accounts/delete", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "山田 太郎" in html and "佐藤 次郎" in html  # confirmation
    assert _account(app, "taro@acme.example.com") is not None
    response = post("/admin/accounts", "/admin/accounts/delete", {**data, "confirm": "1"}, follow_redirects=True)
    assert "2件のアカウントを削除しました。" in response.get_data(as_text=True)
    assert _account(app, "taro@acme.example.com") is None and _account(app, "jiro@acme.example.com") is None
    assert user_browser.get("/").status_code == 302
    assert _actions(app).count("account.delete") == 2


def test_admin_cannot_delete_themselves(admin, post, app):
    me = _account(app, ADMIN_EMAIL)
    response = post("/admin/accounts", "/admin/accounts/delete", {"ids": str(me.id), "confirm": "1"})
    assert response.status_code == 200 and "削除する</button>" not in response.get_data(as_text=True)
    assert _account(app, ADMIN_EMAIL) is not None  # the note: tests/admin_ui/admin/test_accounts_delete_self.py


def test_validity_dates_block_login(admin, submit, app, login, people, clock):
    taro = _account(app, "taro@acme.example.com")
    tomorrow = (date(2026, 4, 1) + timedelta(days=1)).isoformat()
    submit(f"/admin/accounts/{taro.id}/edit", {**FORM, "group": str(taro.group_id), "valid_from": tomorrow})
    assert login(email="taro@acme.example.com").status_code == 200


def _set(app, email, **values):
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email_normalized == email))
        for key, value in values.items():
            setattr(account, key, value)
        db.session.commit()


def test_create_stores_every_field_and_the_company_is_not_editable(admin, submit, app, outbox, people):
    html = admin.get("/admin/accounts/new").get_data(as_text=True)
    assert "ACME株式会社" in html and 'name="company"' not in html
    sales = _group_id(app, "営業")
    data = {**FORM, "email": "ichiro@acme.example.com", "group": str(sales), "role": "admin", "status": "disabled",
            "valid_from": "2026-05-01", "valid_to": "2027-03-31", "company": "乗っ取り株式会社"}
    assert submit("/admin/accounts/new", data).status_code == 302
    account = _account(app, "ichiro@acme.example.com")
    assert (account.name, account.phone, account.mobile, account.organization, account.department, account.group_id,
            account.role, account.status, account.valid_from, account.valid_to) == (
        "鈴木 一郎", "0312345678", "09012345678", "本社", "営業部", sales, "admin", "disabled",
        date(2026, 5, 1), date(2027, 3, 31))
    with app.app_context():
        from idp.tenancy import tenants
        assert tenants.get_by_slug("acme").company_name == "ACME株式会社"
    mail, = outbox.to("ichiro@acme.example.com")
    assert any("/activate/" in link for link in outbox.links(mail))


def test_search_by_status_and_sort_by_last_login(admin, app, clock, people):
    _set(app, "jiro@acme.example.com", status="disabled", last_login_at=clock.now() - timedelta(days=2))
    _set(app, "taro@acme.example.com", last_login_at=clock.now() - timedelta(days=1))
    html = admin.get("/admin/accounts?status=disabled").get_data(as_text=True)
    assert "佐藤 次郎" in html and "山田 太郎" not in html
    html = admin.get("/admin/accounts?status=enabled").get_data(as_text=True)
    assert "山田 太郎" in html and "佐藤 次郎" not in html
    html = admin.get("/admin/accounts?sort=last_login&dir=desc&name=郎").get_data(as_text=True)
    assert html.index("山田 太郎") < html.index("佐藤 次郎")
    html = admin.get("/admin/accounts?sort=last_login&name=郎").get_data(as_text=True)
    assert html.index("佐藤 次郎") < html.index("山田 太郎")


def test_clear_link_drops_every_filter(admin, people):
    html = admin.get("/admin/accounts?name=山田&role=user&department=総務").get_data(as_text=True)
    assert 'value="山田"' in html and "佐藤 次郎" not in html
    assert '<a class="button" href="/admin/accounts">クリア</a>' in html
    html = admin.get("/admin/accounts").get_data(as_text=True)  # where クリア leads
    assert 'value="山田"' not in html and "佐藤 次郎" in html and "山田 太郎" in html


def test_detail_shows_setup_state_last_login_update_and_lock_time(admin, app, clock, factory, acme):
    account_id, _ = factory.account(email="new@acme.example.com", name="新人 花子", password=None)
    html = admin.get(f"/admin/accounts/{account_id}").get_data(as_text=True)
    assert "未完了" in html and "有効化メール再送" in html and "初期設定待ち" not in html
    assert "初期設定待ち" in admin.get("/admin/accounts").get_data(as_text=True)
    from datetime import datetime
    _set(app, "new@acme.example.com", last_login_at=datetime(2026, 3, 30, 1, 2), updated_at=datetime(2026, 3, 31, 3, 4),
         locked_at=clock.now() - timedelta(minutes=5), activated=True)
    html = admin.get(f"/admin/accounts/{account_id}").get_data(as_text=True)
    assert "2026/03/30 10:02" in html and "2026/03/31 12:04" in html  # Japan time
    assert "2026/04/01 08:55" in html and "ロック中" in html and "ロック解除" in html
    assert "有効化メール再送" not in html
    list_html = admin.get("/admin/accounts?lock=locked").get_data(as_text=True)
    assert "新人 花子" in list_html and "ロック中 2026/04/01 08:55" in list_html
    clock.advance(minutes=30)  # the lock ran out: the time stays visible, the button goes
    html = admin.get(f"/admin/accounts/{account_id}").get_data(as_text=True)
    assert "2026/04/01 08:55" in html and "解除済み" in html and "ロック解除</button>" not in html


def test_delete_one_from_the_detail_page(admin, post, app, people):
    taro = _account(app, "taro@acme.example.com")
    page = f"/admin/accounts/{taro.id}"
    response = post(page, "/admin/accounts/delete", {"ids": str(taro.id)})
    html = response.get_data(as_text=True)
    assert "山田 太郎 &lt;taro@acme.example.com&gt;" in html and "佐藤 次郎" not in html
    assert _account(app, "taro@acme.example.com") is not None
    response = post(page, "/admin/accounts/delete", {"ids": str(taro.id), "confirm": "1"}, follow_redirects=True)
    assert "1件のアカウントを削除しました。" in response.get_data(as_text=True)
    assert _account(app, "taro@acme.example.com") is None and _account(app, "jiro@acme.example.com") is not None


def test_list_has_select_all_and_no_selection_is_refused(admin, post, app, people):
    html = admin.get("/admin/accounts").get_data(as_text=True)
    assert "data-select-all" in html and html.count('name="ids"') == 4
    response = post("/admin/accounts", "/admin/accounts/delete", {"confirm": "1"}, follow_redirects=True)
    assert "削除するアカウントを選択してください。" in response.get_data(as_text=True)
    assert _account(app, "taro@acme.example.com") is not None


def test_edit_form_keeps_email_and_company_read_only(admin, app, people):
    taro = _account(app, "taro@acme.example.com")
    html = admin.get(f"/admin/accounts/{taro.id}/edit").get_data(as_text=True)
    assert "taro@acme.example.com" in html and 'name="email"' not in html and 'name="company"' not in html
    assert 'value="山田 太郎"' in html and 'value="本社"' in html


@pytest.mark.parametrize("query", ["page=²", "group=²", "page=①"])
def test_list_filters_that_only_look_like_numbers_are_ignored(admin, people, query):
    """str.isdigit() takes '²'; int() does not: such a value is no number (no 500)."""
    assert admin.get(f"/admin/accounts?{query}").status_code == 200
