"""Groups pages: search, create with apps, detail, edit, add members, delete (members to the default group)."""
import pytest
from sqlalchemy import select

from idp.apps import catalogue as apps
from idp.directory.groups import default_group, get_by_name
from idp.logs.audit import OPERATOR
from idp.models import Account, AuditEvent, Group
from idp.platform.extensions import db
from idp.tenancy import tenants


@pytest.fixture
def app_ids(app, clock, acme):
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        ids = [apps.create_bookmark_app(tenant, name=name, launch_url=f"https://{name}.example.com/", now=clock.now(),
                                        actor=OPERATOR).id for name in ("payroll", "wiki")]
        db.session.commit()
        return ids


def _group(app, name):
    with app.app_context():
        group = get_by_name(tenants.get_by_slug("acme"), name)
        values = {"id": group.id, "name": group.name, "description": group.description,
                  "apps": sorted(a.name for a in group.apps)}
        return values


def _group_of(app, account_id):
    with app.app_context():
        return db.session.get(Account, account_id).group.name


def test_create_with_apps_then_detail(admin, submit, app, app_ids):
    response = submit("/admin/groups/new", {"name": "営業", "description": "営業部門", "apps": [str(app_ids[0])]})
    assert response.status_code == 302
    group = _group(app, "営業")
    assert group["description"] == "営業部門" and group["apps"] == ["payroll"]
    html = admin.get(f"/admin/groups/{group['id']}").get_data(as_text=True)
    assert "営業部門" in html and "payroll" in html and "wiki" not in html
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "group.create",
                                                          AuditEvent.actor_type == "admin"))


@pytest.mark.parametrize("name, message", [("", "グループ名を入力してください。"),
                                           ("ACME株式会社", "はすでに存在します。"),
                                           ("x" * 101, "100文字以内")])
def test_create_validation(admin, submit, name, message, acme):
    response = submit("/admin/groups/new", {"name": name, "description": ""})
    assert response.status_code == 200 and message in response.get_data(as_text=True)


def test_foreign_app_cannot_be_attached(admin, submit, app, clock, factory, acme):
    factory.tenant(slug="other", company="Other Inc.")
    with app.app_context():
        foreign = apps.create_bookmark_app(tenants.get_by_slug("other"), name="foreign", now=clock.now(),
                                           launch_url="https://f.example.com/", actor=OPERATOR).id
        db.session.commit()
    response = submit("/admin/groups/new", {"name": "営業", "apps": [str(foreign)]})
    assert "サービスが見つかりません。" in response.get_data(as_text=True)


def test_search_and_member_counts(admin, factory, acme):
    factory.group("acme", "営業")
    factory.group("acme", "開発")
    factory.account()
    html = admin.get("/admin/groups?q=営").get_data(as_text=True)
    assert "営業" in html and "開発" not in html
    html = admin.get("/admin/groups").get_data(as_text=True)
    assert "デフォルト" in html and "<td>2</td>" in html  # the admin and taro are in the default group


def test_edit_and_moving_a_user_changes_their_apps_at_once(admin, submit, client, app, factory, app_ids, login):
    group_id = factory.group("acme", "営業")
    taro, _ = factory.account()
    submit(f"/admin/groups/{group_id}/edit", {"name": "営業部", "description": "d", "apps": [str(app_ids[1])]})
    assert _group(app, "営業部")["apps"] == ["wiki"]
    response = submit(f"/admin/groups/{group_id}/members", {"ids": [str(taro)]})
    assert response.status_code == 302
    assert _group_of(app, taro) == "営業部"
    html = admin.get(f"/admin/groups/{group_id}").get_data(as_text=True)
    assert f'href="/admin/accounts/{taro}"' in html
    login()  # taro's portal now shows the group's app
    assert "wiki" in client.get("/").get_data(as_text=True)


def test_member_dialog_searches_accounts(admin, factory, acme):
    group_id = factory.group("acme", "営業")
    factory.account()
    factory.account(email="jiro@acme.example.com", name="佐藤 次郎")
    html = admin.get(f"/admin/groups/{group_id}/members?name=佐藤").get_data(as_text=True)
    assert "佐藤 次郎" in html and "山田 太郎" not in html and "data-select-all" in html


def test_delete_moves_members_to_the_default_group(admin, post, app, factory, acme):
    sales = factory.group("acme", "営業")
    dev = factory.group("acme", "開発")
    from idp.directory.groups import get_by_name as by_name
    with app.app_context():
        group = by_name(tenants.get_by_slug("acme"), "営業")
        db.session.expunge(group)
    taro, _ = factory.account(group=group)
    response = post("/admin/groups", "/admin/groups/delete", {"ids": [str(sales), str(dev)]})
    assert "メンバーはデフォルトグループに移動します" in response.get_data(as_text=True)
    response = post("/admin/groups", "/admin/groups/delete", {"ids": [str(sales), str(dev)], "confirm": "1"},
                    follow_redirects=True)
    assert "1人をデフォルトグループに移動しました" in response.get_data(as_text=True)
    assert _group_of(app, taro) == "ACME株式会社"
    with app.app_context():
        assert db.session.scalar(select(Group).where(Group.id.in_([sales, dev]))) is None
        assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "group.delete")).all()) == 2


def test_default_group_cannot_be_deleted(admin, post, app, acme):
    with app.app_context():
        default_id = default_group(tenants.get_by_slug("acme")).id
    assert f'name="ids" value="{default_id}"' not in admin.get("/admin/groups").get_data(as_text=True)
    response = post("/admin/groups", "/admin/groups/delete", {"ids": str(default_id), "confirm": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "デフォルトグループ「ACME株式会社」は削除できないため、対象から除外しました。" in html
    assert "削除できるグループが選択されていません。" in html and "削除する</button>" not in html
    with app.app_context():
        assert db.session.get(Group, default_id) is not None


def test_select_all_with_the_default_group_leaves_it_out_and_deletes_the_rest(admin, post, app, factory, acme):
    sales, dev = factory.group("acme", "営業"), factory.group("acme", "開発")
    with app.app_context():
        default_id = default_group(tenants.get_by_slug("acme")).id
    ticked = {"ids": [str(default_id), str(sales), str(dev)]}
    response = post("/admin/groups", "/admin/groups/delete", ticked)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "デフォルトグループ「ACME株式会社」は削除できないため、対象から除外しました。" in html
    assert "<li>営業</li>" in html and "<li>開発</li>" in html and "<li>ACME株式会社</li>" not in html
    assert f'name="ids" value="{default_id}"' not in html and "削除する</button>" in html
    response = post("/admin/groups", "/admin/groups/delete", {**ticked, "confirm": "1"}, follow_redirects=True)
    assert response.status_code == 200
    assert "グループを削除しました（0人をデフォルトグループに移動しました）。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Group, default_id) is not None
        assert db.session.scalar(select(Group).where(Group.id.in_([sales, dev]))) is None


def test_create_goes_on_to_the_members_dialog_with_select_all(admin, submit, post, app, factory, app_ids):
    html = admin.get("/admin/groups/new").get_data(as_text=True)
    assert 'data-select-all="apps"' in html and html.count('name="apps"') == 2
    taro, _ = factory.account()
    jiro, _ = factory.account(email="jiro@acme.example.com", name="佐藤 次郎")
    response = submit("/admin/groups/new", {"name": "営業", "apps": [str(i) for i in app_ids]})
    group = _group(app, "営業")
    assert response.headers["Location"] == f"/admin/groups/{group['id']}/members"
    assert group["apps"] == ["payroll", "wiki"]
    dialog = response.headers["Location"]
    html = admin.get(dialog).get_data(as_text=True)
    assert "グループを登録しました。続けてメンバーを追加できます。" in html and "data-select-all" in html
    assert f'name="ids" value="{taro}"' in html and f'name="ids" value="{jiro}"' in html
    response = post(dialog, dialog, {"ids": [str(taro), str(jiro)]}, follow_redirects=True)
    assert "2人をグループに追加しました。" in response.get_data(as_text=True)
    assert _group_of(app, taro) == _group_of(app, jiro) == "営業"
    with app.app_context():
        moves = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.update",
                                                            AuditEvent.actor_type == "admin")).all()
        assert sorted(e.target_id for e in moves) == sorted([taro, jiro])


def test_edit_is_audited_with_the_changes(admin, submit, app, factory, app_ids):
    group_id = factory.group("acme", "営業")
    html = admin.get(f"/admin/groups/{group_id}/edit").get_data(as_text=True)
    assert 'value="営業"' in html
    submit(f"/admin/groups/{group_id}/edit", {"name": "営業部", "description": "東日本", "apps": [str(app_ids[0])]})
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "group.update"))
        assert event.actor_type == "admin" and event.changes == {
            "name": ["営業", "営業部"], "description": ["", "東日本"], "apps": [[], [app_ids[0]]]}


def test_moving_a_user_by_editing_the_account_switches_their_apps_at_once(admin, submit, app, factory, app_ids,
                                                                          other_browser):
    sales = factory.group("acme", "営業")
    dev = factory.group("acme", "開発")
    submit(f"/admin/groups/{sales}/edit", {"name": "営業", "apps": [str(app_ids[0])]})
    submit(f"/admin/groups/{dev}/edit", {"name": "開発", "apps": [str(app_ids[1])]})
    taro, _ = factory.account()
    form = {"name": "山田 太郎", "role": "user", "status": "enabled", "valid_from": "2026-04-01"}
    submit(f"/admin/accounts/{taro}/edit", {**form, "group": str(sales)})
    portal = other_browser("taro@acme.example.com")
    html = portal.get("/").get_data(as_text=True)
    assert "payroll" in html and "wiki" not in html
    submit(f"/admin/accounts/{taro}/edit", {**form, "group": str(dev)})
    html = portal.get("/").get_data(as_text=True)  # the same session, the next request
    assert "wiki" in html and "payroll" not in html


def test_delete_one_group_from_its_detail_page(admin, post, app, factory, acme):
    sales = factory.group("acme", "営業")
    factory.group("acme", "開発")
    html = admin.get(f"/admin/groups/{sales}").get_data(as_text=True)
    assert f'<input type="hidden" name="ids" value="{sales}">' in html
    with app.app_context():
        default_id = default_group(tenants.get_by_slug("acme")).id
    assert 'name="ids"' not in admin.get(f"/admin/groups/{default_id}").get_data(as_text=True)
    response = post(f"/admin/groups/{sales}", "/admin/groups/delete", {"ids": str(sales)})
    html = response.get_data(as_text=True)
    assert "<li>営業</li>" in html and "<li>開発</li>" not in html
    post("/admin/groups", "/admin/groups/delete", {"ids": str(sales), "confirm": "1"})
    with app.app_context():
        assert db.session.get(Group, sales) is None
    assert "開発" in admin.get("/admin/groups").get_data(as_text=True)


def test_group_detail_links_members_and_lists_apps(admin, submit, app, factory, app_ids):
    sales = factory.group("acme", "営業")
    submit(f"/admin/groups/{sales}/edit", {"name": "営業", "apps": [str(app_ids[1])]})
    with app.app_context():
        group = db.session.get(Group, sales)
        db.session.expunge(group)
    taro, _ = factory.account(group=group)
    html = admin.get(f"/admin/groups/{sales}").get_data(as_text=True)
    assert f'<a href="/admin/accounts/{taro}">山田 太郎</a>' in html and "payroll" not in html
    assert f'href="/admin/apps/{app_ids[1]}">wiki</a>' in html


def test_oidc_access_follows_group_changes_at_once(admin, submit, post, app, clock, factory, other_browser):
    """Through the OIDC authorize endpoint (its per-process caches included), not only the portal."""
    import base64
    import hashlib
    from urllib.parse import parse_qs, urlencode, urlsplit

    from idp.oidc import clients as oidc_clients
    sales = factory.group("acme", "営業")
    taro, _ = factory.account()
    with app.app_context():
        registered = oidc_clients.register(
            tenants.get_by_slug("acme"), oidc_clients.ClientSettings(
                name="経費精算", redirect_uris=["https://rp.example.com/cb"]),
            now=clock.now(), actor=OPERATOR)
        db.session.commit()
        client_id, app_id = registered.as_json()["client_id"], registered.as_json()["app_id"]
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = "/t/acme/oidc/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": "https://rp.example.com/cb",
        "scope": "openid", "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"})
    browser = other_browser("taro@acme.example.com")

    def outcome():
        response = browser.get(url)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        return "code" if "code" in query else query.get("error", ["?"])[0]

    assert outcome() == "access_denied"
    submit(f"/admin/groups/{sales}/edit", {"name": "営業", "apps": [str(app_id)]})
    assert outcome() == "access_denied"  # taro is not in 営業 yet
    post(f"/admin/groups/{sales}/members", f"/admin/groups/{sales}/members", {"ids": str(taro)})
    assert outcome() == "code"
    submit(f"/admin/groups/{sales}/edit", {"name": "営業", "apps": []})
    assert outcome() == "access_denied"
