"""Numbers larger than any row id (2**63 - 1, the largest integer SQLite and PostgreSQL hold) in the console:
a 404 in a path, a 400 or a form error in a field, the filter ignored in a list; never a 500."""
import pytest
from sqlalchemy import func, select

from idp.models import Account, App, Group
from idp.platform.extensions import db

TOO_LARGE = ["9223372036854775808", "99999999999999999999", "9" * 5000]


@pytest.fixture
def count_rows(app):
    def _count(model):
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(model))
    return _count


@pytest.mark.parametrize("number", TOO_LARGE)
@pytest.mark.parametrize("path", ["/admin/accounts/{}", "/admin/accounts/{}/edit", "/admin/groups/{}",
                                  "/admin/groups/{}/edit", "/admin/groups/{}/members", "/admin/apps/{}",
                                  "/admin/apps/{}/edit"])
def test_a_path_id_no_row_can_have_is_a_404(admin, path, number):
    assert admin.get(path.format(number)).status_code == 404


def test_the_largest_id_still_routes(admin):
    assert admin.get("/admin/accounts/9223372036854775807").status_code == 404  # looked up, not there


@pytest.mark.parametrize("number", TOO_LARGE)
@pytest.mark.parametrize("page, url", [("/admin/accounts", "/admin/accounts/delete"),
                                       ("/admin/accounts", "/admin/accounts/export"),
                                       ("/admin/groups", "/admin/groups/delete")])
def test_a_ticked_row_no_row_can_be_is_a_400(admin, post, count_rows, page, url, number):
    before = count_rows(Account), count_rows(Group)
    assert post(page, url, {"ids": ["1", number], "confirm": "1"}).status_code == 400
    assert (count_rows(Account), count_rows(Group)) == before


def test_adding_members_no_row_can_be_is_a_400(admin, post, factory):
    group_id = factory.group("acme", "営業")
    page = f"/admin/groups/{group_id}/members"
    assert post(page, page, {"ids": TOO_LARGE[1]}).status_code == 400


def test_a_group_with_an_app_no_row_can_be_is_a_400(admin, submit, count_rows):
    assert submit("/admin/groups/new", {"name": "営業", "apps": [TOO_LARGE[0]]}).status_code == 400
    assert count_rows(Group) == 1  # the default group only


def test_an_app_with_a_group_no_row_can_be_is_a_form_error(admin, submit, count_rows):
    response = submit("/admin/apps/new/oidc", {"name": "経費精算", "redirect_uris": "https://rp.example.com/cb",
                                               "groups": [TOO_LARGE[1]], "client_type": "confidential"})
    assert response.status_code == 200 and "グループが見つかりません。" in response.get_data(as_text=True)
    assert count_rows(App) == 0


@pytest.mark.parametrize("number", TOO_LARGE)
def test_an_account_in_a_group_no_row_can_be_is_a_form_error(admin, submit, count_rows, number):
    response = submit("/admin/accounts/new", {"email": "ichiro@acme.example.com", "name": "鈴木 一郎",
                                              "group": number, "role": "user", "status": "enabled",
                                              "valid_from": "2026-04-01"})
    assert response.status_code == 200 and "グループが見つかりません。" in response.get_data(as_text=True)
    assert count_rows(Account) == 1  # the admin


def test_the_mfa_policy_of_a_group_no_row_can_be_is_a_400(admin, post):
    assert post("/admin/security", "/admin/security/mfa", {"mode": "totp", "group": TOO_LARGE[0]}).status_code == 400


@pytest.mark.parametrize("number", TOO_LARGE)
@pytest.mark.parametrize("url", ["/admin/accounts?group={}", "/admin/accounts?page={}", "/admin/groups?page={}",
                                 "/admin/groups/{gid}/members?group={}", "/admin/logs/logins?app={}",
                                 "/admin/logs/operations?page={}", "/admin/accounts/export?group={}"])
def test_a_list_filter_no_row_can_match_is_ignored(admin, factory, url, number):
    group_id = factory.group("acme", "営業")
    assert admin.get(url.format(number, gid=group_id)).status_code == 200
