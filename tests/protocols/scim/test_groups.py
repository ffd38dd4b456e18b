"""/Groups: one group per account made explicit (a member added moves, the response header names where from),
removal moves to the default group, the default group stays; filter, PUT, PATCH, DELETE, ETags."""
from urllib.parse import quote

from sqlalchemy import select

from idp.models import Account, Group
from idp.platform.extensions import db
from tests.protocols.scim.conftest import GROUP_SCHEMA

MOVED = "Matome-Moved-From"


def _group_of(app, email):
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == email))
        return db.session.get(Group, account.group_id).name


def _new_group(name, *members):
    return {"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": m} for m in members]}


def test_create_with_members_moves_them_and_names_moves_out_of_other_groups(app, scim):
    hanako = scim.create_user("hanako@acme.example.com")
    response = scim.post("/Groups", _new_group("営業", hanako["id"]))
    assert response.status_code == 201
    sales = response.get_json()
    assert [m["value"] for m in sales["members"]] == [hanako["id"]] and MOVED not in response.headers
    assert _group_of(app, "hanako@acme.example.com") == "営業"
    moved = scim.post("/Groups", _new_group("人事", hanako["id"]))
    assert moved.headers[MOVED] == f"{hanako['id']}={quote('営業')}"
    assert scim.get(f"/Groups/{sales['id']}").get_json().get("members", []) == []
    assert scim.get(f"/Users/{hanako['id']}").get_json()["groups"][0]["display"] == "人事"


def test_patch_members_add_and_remove_to_the_default_group(app, scim):
    hanako, jiro = scim.create_user("hanako@acme.example.com"), scim.create_user("jiro@acme.example.com")
    sales = scim.post("/Groups", _new_group("営業")).get_json()
    added = scim.patch(f"/Groups/{sales['id']}", [{"op": "add", "path": "members",
                                                   "value": [{"value": hanako["id"]}, {"value": jiro["id"]}]}])
    assert added.status_code == 200 and len(added.get_json()["members"]) == 2
    removed = scim.patch(f"/Groups/{sales['id']}", [{"op": "remove", "path": f'members[value eq "{jiro["id"]}"]'}])
    assert [m["value"] for m in removed.get_json()["members"]] == [hanako["id"]]
    assert _group_of(app, "jiro@acme.example.com") == "ACME株式会社"  # the default group


def test_the_default_group_keeps_its_members_and_cannot_be_deleted(scim):
    hanako = scim.create_user("hanako@acme.example.com")
    default_id = hanako["groups"][0]["value"]
    response = scim.patch(f"/Groups/{default_id}", [{"op": "remove", "path": "members"}])
    assert response.status_code == 400 and "デフォルトグループ" in response.get_json()["detail"]
    assert scim.delete(f"/Groups/{default_id}").status_code == 400
    assert scim.get(f"/Groups/{default_id}").status_code == 200


def test_put_renames_and_sets_members_delete_moves_them_back(app, scim):
    hanako = scim.create_user("hanako@acme.example.com")
    sales = scim.post("/Groups", _new_group("営業", hanako["id"])).get_json()
    renamed = scim.put(f"/Groups/{sales['id']}", {**_new_group("営業部"), "externalId": "g-1"})
    assert renamed.get_json()["displayName"] == "営業部" and renamed.get_json()["externalId"] == "g-1"
    assert _group_of(app, "hanako@acme.example.com") == "ACME株式会社"
    scim.patch(f"/Groups/{sales['id']}", [{"op": "add", "path": "members", "value": [{"value": hanako["id"]}]}])
    assert scim.delete(f"/Groups/{sales['id']}").status_code == 204
    assert scim.get(f"/Groups/{sales['id']}").status_code == 404
    assert _group_of(app, "hanako@acme.example.com") == "ACME株式会社"


def test_unknown_members_duplicate_names_and_stale_versions_are_refused(scim):
    response = scim.post("/Groups", _new_group("営業", "no-such-user"))
    assert response.status_code == 400 and response.get_json()["scimType"] == "invalidValue"
    sales = scim.post("/Groups", _new_group("営業")).get_json()
    duplicate = scim.post("/Groups", _new_group("営業"))
    assert duplicate.status_code == 409 and duplicate.get_json()["scimType"] == "uniqueness"
    hanako = scim.create_user("hanako@acme.example.com")
    scim.patch(f"/Groups/{sales['id']}", [{"op": "add", "path": "members", "value": [{"value": hanako["id"]}]}])
    stale = scim.put(f"/Groups/{sales['id']}", _new_group("X"), headers={"If-Match": sales["meta"]["version"]})
    assert stale.status_code == 412


def test_filter_and_isolation(app, client, factory, clock, scim):
    from tests.protocols.scim.conftest import ScimClient, make_token
    scim.post("/Groups", _new_group("営業"))
    scim.post("/Groups", _new_group("人事"))
    found = scim.get("/Groups?filter=" + quote('displayName eq "営業"')).get_json()
    assert [g["displayName"] for g in found["Resources"]] == ["営業"]
    factory.tenant("beta", company="Beta株式会社")
    beta = ScimClient(client, make_token(app, clock, "beta"), base="/t/beta/scim/v2")
    acme_group = found["Resources"][0]["id"]
    assert beta.get(f"/Groups/{acme_group}").status_code == 404
    assert beta.delete(f"/Groups/{acme_group}").status_code == 404
    assert "営業" not in str(beta.get("/Groups").get_json())
