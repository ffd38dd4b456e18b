"""/groups: create, change, delete and members through the API, with the console's rules: one group per
account (adding moves), removing moves to the default group, the default group stays."""
from sqlalchemy import select

from idp.models import Account
from idp.platform.extensions import db
from tests.protocols.api.conftest import problem
from tests.protocols.api.test_api_accounts import TARO, account_id, audit_rows


def group_of(app, email):
    with app.app_context():
        return db.session.scalar(select(Account.group_id).where(Account.email == email))


def new_group(api, name="営業", **fields):
    response = api.post("/groups", json={"name": name, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_create_get_list_update_delete(api, app, api_client):
    created = new_group(api, description="東京の営業", app_ids=[api_client.app_id])
    assert (created["name"], created["description"], created["members"], created["is_default"]) == (
        "営業", "東京の営業", 0, False)
    assert created["apps"] == [{"id": api_client.app_id, "name": "人事システム連携", "protocol": "oidc"}]
    assert api.get(f"/groups/{created['id']}").get_json() == created
    listed = api.get("/groups").get_json()
    assert [(g["name"], g["is_default"]) for g in listed["items"]] == [("ACME株式会社", True), ("営業", False)]
    assert api.get("/groups?q=営").get_json()["total"] == 1
    changed = api.patch(f"/groups/{created['id']}", json={"name": "営業部"}).get_json()
    assert (changed["name"], changed["description"], len(changed["apps"])) == ("営業部", "東京の営業", 1)
    assert api.patch(f"/groups/{created['id']}", json={"app_ids": []}).get_json()["apps"] == []
    assert audit_rows(app, "group.update")[0][:2] == ("api_client", "人事システム連携")
    assert api.delete(f"/groups/{created['id']}").status_code == 204
    problem(api.get(f"/groups/{created['id']}"), 404)
    assert audit_rows(app, "group.delete")[-1][:3] == ("api_client", "人事システム連携", "営業部")


def test_console_rules_refusals(api, factory):
    new_group(api)
    assert "すでに存在" in problem(api.post("/groups", json={"name": "営業"}), 409)["detail"]
    assert set(problem(api.post("/groups", json={"name": ""}), 422)["errors"]) == {"name"}
    factory.tenant("globex")
    with_foreign_app = api.post("/groups", json={"name": "経理", "app_ids": [999999]})
    assert set(problem(with_foreign_app, 422)["errors"]) == {"apps"}
    default_id = api.get("/groups").get_json()["items"][0]["id"]
    assert "削除できません" in problem(api.delete(f"/groups/{default_id}"), 409)["detail"]


def test_adding_members_moves_them_and_removing_sends_them_to_the_default_group(api, app):
    default_id = group_of(app, TARO)
    sales, support = new_group(api, "営業")["id"], new_group(api, "サポート")["id"]
    taro = account_id(app, TARO)
    added = api.post(f"/groups/{sales}/members", json={"account_ids": [taro]}).get_json()
    assert added == {"added": 1, "moved_from_other_groups": 0}
    moved = api.post(f"/groups/{support}/members", json={"account_ids": [taro, 99999]}).get_json()
    assert moved == {"added": 1, "moved_from_other_groups": 1}  # unknown ids are ignored, as in the console
    assert group_of(app, TARO) == support
    members = api.get(f"/groups/{support}/members").get_json()
    assert [m["email"] for m in members["items"]] == [TARO] and api.get(f"/groups/{support}").get_json()["members"] == 1
    assert api.delete(f"/groups/{support}/members/{taro}").status_code == 204
    assert group_of(app, TARO) == default_id
    assert [row[3] for row in audit_rows(app, "account.update")] == [
        {"group": [default_id, sales]}, {"group": [sales, support]}, {"group": [support, default_id]}]
    problem(api.delete(f"/groups/{support}/members/{taro}"), 404)  # no longer a member
    assert "外せません" in problem(api.delete(f"/groups/{default_id}/members/{taro}"), 409)["detail"]
    assert set(problem(api.post(f"/groups/{sales}/members", json={"account_ids": []}), 422)["errors"]) == {
        "account_ids"}


def test_sms_group_refuses_members_without_a_mobile_number(api, app, clock):
    from idp.authn.mfa import policy
    from idp.logs.audit import OPERATOR
    from idp.models import Group
    sales = new_group(api)["id"]
    with app.app_context():
        group = db.session.get(Group, sales)
        policy.set_policy(group.tenant, policy.SMS, group=group, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    body = problem(api.post(f"/groups/{sales}/members", json={"account_ids": [account_id(app, TARO)]}), 409)
    assert body["errors"]["accounts"] == [f"山田 太郎 <{TARO}>"]
    assert group_of(app, TARO) != sales
