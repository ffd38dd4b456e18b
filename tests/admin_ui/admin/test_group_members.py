"""A group's members through the console: taking members out (to the default group), the add-members dialog
(only non-members, the move warning), and the SMS rule (no mobile number, no SMS group) both ways."""
import re

import pytest
from sqlalchemy import select

from idp.apps import catalogue as apps
from idp.directory.groups import default_group
from idp.logs.audit import OPERATOR
from idp.models import Account, AuditEvent, Group
from idp.platform.extensions import db
from idp.tenancy import tenants

MOBILE = "09012345678"


@pytest.fixture
def groups(app, clock, factory, acme):
    """acme's groups: 営業 (whose members may use the app 経費精算), 開発, and the default group ACME株式会社."""
    sales, dev = factory.group("acme", "営業"), factory.group("acme", "開発")
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        apps.create_bookmark_app(tenant, name="経費精算", launch_url="https://expense.example.com/", now=clock.now(),
                                 actor=OPERATOR, groups=[db.session.get(Group, sales)])
        db.session.commit()
        return {"sales": sales, "dev": dev, "default": default_group(tenant).id}


@pytest.fixture
def member(app, factory):
    """Create an account of acme in the group with this id (None: the default group); returns its id."""
    def _member(group_id, email, name, **fields):
        group = None
        if group_id is not None:
            with app.app_context():
                group = db.session.get(Group, group_id)
                db.session.expunge(group)
        return factory.account(email=f"{email}@acme.example.com", name=name, group=group, **fields)[0]
    return _member


def _group_of(app, account_id):
    with app.app_context():
        return db.session.get(Account, account_id).group.name


def _moves(app):
    """{account id: [from group id, to group id]} of the admin's group changes (account.update events)."""
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.update",
                                                             AuditEvent.actor_type == "admin")).all()
        return {e.target_id: e.changes["group"] for e in events if "group" in (e.changes or {})}


def _alert(html):
    """The text of the refusal box (names of the refused accounts)."""
    found = re.search(r'<div class="flash flash-error" role="alert">(.*?)</div>', html, re.S)
    return found.group(1) if found else ""


def test_remove_members_moves_them_to_the_default_group_and_off_the_groups_apps(
        admin, post, app, groups, member, other_browser):
    sales = groups["sales"]
    taro = member(sales, "taro", "山田 太郎")
    jiro = member(sales, "jiro", "佐藤 次郎")
    hanako = member(sales, "hanako", "鈴木 花子")
    portal = other_browser("taro@acme.example.com")
    assert "経費精算" in portal.get("/").get_data(as_text=True)
    detail = f"/admin/groups/{sales}"
    html = admin.get(detail).get_data(as_text=True)
    assert "グループから外す" in html and "外したメンバーはデフォルトグループ「ACME株式会社」に移動します。" in html
    assert all(f'name="ids" value="{i}"' in html for i in (taro, jiro, hanako)) and "data-select-all" in html
    url = f"/admin/groups/{sales}/members/remove"
    html = post(detail, url, {"ids": [str(taro), str(jiro)]}).get_data(as_text=True)  # the confirmation
    assert "次のメンバーを「営業」から外し、デフォルトグループ「ACME株式会社」に移動します。" in html
    assert "山田 太郎" in html and "佐藤 次郎" in html and "鈴木 花子" not in html
    assert _group_of(app, taro) == "営業"  # nothing moved yet
    response = post(detail, url, {"ids": [str(taro), str(jiro)], "confirm": "1"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "2人をグループから外し、デフォルトグループ「ACME株式会社」に移動しました。" in html
    assert "メンバー（1）" in html and "山田 太郎" not in html and "鈴木 花子" in html
    assert _group_of(app, taro) == _group_of(app, jiro) == "ACME株式会社" and _group_of(app, hanako) == "営業"
    assert _moves(app) == {taro: [sales, groups["default"]], jiro: [sales, groups["default"]]}
    assert "経費精算" not in portal.get("/").get_data(as_text=True)  # the same session, the next request
    default_page = admin.get(f"/admin/groups/{groups['default']}").get_data(as_text=True)
    assert "山田 太郎" in default_page and "佐藤 次郎" in default_page


def test_default_group_members_cannot_be_removed(admin, post, app, groups, member):
    taro = member(None, "taro", "山田 太郎")
    page = f"/admin/groups/{groups['default']}"
    html = admin.get(page).get_data(as_text=True)
    assert 'name="ids"' not in html and "グループから外す</button>" not in html and "山田 太郎" in html
    assert "ここからメンバーを外すことはできません。別のグループでメンバー追加すると、そのグループに移動します。" in html
    response = post("/admin/groups", f"{page}/members/remove", {"ids": str(taro), "confirm": "1"})  # by hand
    assert response.status_code == 400 and "デフォルトグループのメンバーは外せません。" in response.get_data(as_text=True)
    assert _group_of(app, taro) == "ACME株式会社" and _moves(app) == {}


def test_remove_needs_a_selection_of_the_groups_own_members(admin, post, app, groups, member, factory):
    page = f"/admin/groups/{groups['sales']}"
    outsider = member(groups["dev"], "jiro", "佐藤 次郎")
    factory.tenant(slug="other", company="Other Inc.")
    foreign, _ = factory.account("other", email="hanako@other.example.com", name="他社 花子")
    response = post(page, f"{page}/members/remove", {}, follow_redirects=True)
    assert "グループから外すメンバーを選択してください。" in response.get_data(as_text=True)
    for account_id in (outsider, foreign):
        response = post(page, f"{page}/members/remove", {"ids": str(account_id), "confirm": "1"})
        assert response.status_code == 404 and "グループから外すメンバーが見つかりません。" in response.get_data(as_text=True)
    assert _group_of(app, outsider) == "開発" and _moves(app) == {}


def test_removing_and_adding_need_the_csrf_token(admin, app, groups, member):
    taro = member(groups["sales"], "taro", "山田 太郎")
    jiro = member(None, "jiro", "佐藤 次郎")
    sales = groups["sales"]
    assert admin.post(f"/admin/groups/{sales}/members/remove", data={"ids": str(taro), "confirm": "1"}
                      ).status_code == 400
    assert admin.post(f"/admin/groups/{sales}/members", data={"ids": str(jiro)}).status_code == 400
    assert _group_of(app, taro) == "営業" and _group_of(app, jiro) == "ACME株式会社" and _moves(app) == {}


def test_add_dialog_lists_only_non_members_and_warns_of_moves(admin, post, app, groups, member):
    sales, dev = groups["sales"], groups["dev"]
    taro = member(sales, "taro", "山田 太郎")
    jiro = member(dev, "jiro", "佐藤 次郎")
    ichiro = member(None, "ichiro", "鈴木 一郎")
    dialog = f"/admin/groups/{sales}/members"
    html = admin.get(dialog).get_data(as_text=True)
    assert f'value="{taro}"' not in html and "山田 太郎" not in html  # already a member
    assert f'value="{jiro}"' in html and f'value="{ichiro}"' in html
    assert html.count("から移動します</span>") == 1 and "現在のグループ「開発」から移動します" in html
    row = re.search(rf'value="{ichiro}".*?</tr>', html, re.S).group(0)
    assert "ACME株式会社" in row and "移動します" not in row  # the default group: no warning
    response = post(dialog, dialog, {"ids": [str(jiro), str(ichiro)]}, follow_redirects=True)
    assert "2人をグループに追加しました（うち1人はほかのグループから移動しました）。" in response.get_data(as_text=True)
    assert _group_of(app, jiro) == _group_of(app, ichiro) == "営業"
    assert _moves(app) == {jiro: [dev, sales], ichiro: [groups["default"], sales]}
    html = admin.get(dialog).get_data(as_text=True)
    assert "追加できるアカウントはありません。" not in html and "admin@acme.example.com" in html
    assert "佐藤 次郎" not in html and "鈴木 一郎" not in html


def test_add_without_a_selection_says_so(admin, post, groups):
    dialog = f"/admin/groups/{groups['sales']}/members?name=x"
    response = post(dialog, dialog, {})
    assert response.status_code == 302 and response.headers["Location"] == dialog
    assert "追加するアカウントを選択してください。" in admin.get(dialog).get_data(as_text=True)


@pytest.mark.parametrize("tenant_mode, group_mode, refused", [
    ("off", "sms", True),  # the group's override
    ("sms", None, True),  # the tenant's policy, which the group follows
    ("sms", "totp", False),  # the group's override wins
])
def test_sms_group_refuses_accounts_without_a_mobile_number(admin, post, app, groups, member, tenant_mode,
                                                            group_mode, refused):
    sales = groups["sales"]
    post("/admin/security", "/admin/security/mfa", {"mode": tenant_mode})
    if group_mode:
        post("/admin/security", "/admin/security/mfa", {"mode": group_mode, "group": str(sales)})
    jiro = member(groups["dev"], "jiro", "佐藤 次郎")
    ichiro = member(None, "ichiro", "鈴木 一郎")
    saburo = member(None, "saburo", "田中 三郎", mobile=MOBILE)
    dialog = f"/admin/groups/{sales}/members"
    html = admin.get(dialog).get_data(as_text=True)
    assert ("このグループの二段階認証はSMSのため" in html) is refused
    assert html.count("携帯電話番号未登録") == (3 if refused else 0)  # jiro, ichiro and the admin
    ids = [str(jiro), str(ichiro), str(saburo)]
    response = post(dialog, dialog, {"ids": ids}, follow_redirects=True)
    html = response.get_data(as_text=True)
    if not refused:
        assert "3人をグループに追加しました（うち1人はほかのグループから移動しました）。" in html
        return
    assert response.status_code == 200 and "携帯電話番号が登録されていない次のアカウントは追加できません。" in html
    alert = _alert(html)
    assert "佐藤 次郎" in alert and "鈴木 一郎" in alert and "田中 三郎" not in alert
    assert all(f'value="{i}" aria-label="選択" checked' in html for i in ids)  # the ticks stay
    assert _group_of(app, saburo) == "ACME株式会社" and _moves(app) == {}  # nothing moved
    response = post(dialog, dialog, {"ids": str(saburo)}, follow_redirects=True)
    assert "1人をグループに追加しました。" in response.get_data(as_text=True)
    assert _group_of(app, saburo) == "営業"


def test_removing_into_an_sms_default_group_refuses_members_without_a_mobile_number(admin, post, app, groups,
                                                                                    member):
    sales = groups["sales"]
    post("/admin/security", "/admin/security/mfa", {"mode": "sms"})
    post("/admin/security", "/admin/security/mfa", {"mode": "off", "group": str(sales)})
    taro = member(sales, "taro", "山田 太郎")
    jiro = member(sales, "jiro", "佐藤 次郎", mobile=MOBILE)
    page, url = f"/admin/groups/{sales}", f"/admin/groups/{sales}/members/remove"
    for confirm in ("", "1"):
        html = post(page, url, {"ids": [str(taro), str(jiro)], "confirm": confirm}).get_data(as_text=True)
        assert "デフォルトグループ「ACME株式会社」の二段階認証はSMSのため" in html
        assert "山田 太郎" in _alert(html) and "佐藤 次郎" not in _alert(html)
        assert 'name="confirm"' not in html
    assert _group_of(app, taro) == _group_of(app, jiro) == "営業" and _moves(app) == {}
    post(page, url, {"ids": str(jiro), "confirm": "1"})
    assert _group_of(app, jiro) == "ACME株式会社"
