"""/Users: create (activation mail unless sendActivationMail is false), read, filter, sort, page, PUT, PATCH,
DELETE, ETags; the console's rules and audit events apply."""
from urllib.parse import quote

import pytest
from sqlalchemy import select

from idp.models import Account, AuditEvent
from idp.platform.extensions import db
from tests.protocols.scim.conftest import ACCOUNT_EXT, ENTERPRISE, USER_SCHEMA, new_user


def _account(app, email):
    with app.app_context():
        return db.session.scalar(select(Account).where(Account.email == email))


def test_create_sends_the_activation_mail_and_maps_every_field(app, scim, outbox):
    response = scim.post("/Users", new_user(
        "hanako@acme.example.com", "佐藤 花子", externalId="hr-001", active=True,
        phoneNumbers=[{"value": "03-1234-5678", "type": "work"}, {"value": "090-1111-2222", "type": "mobile"}],
        **{ENTERPRISE: {"organization": "本社", "department": "営業部"},
           ACCOUNT_EXT: {"validFrom": "2026-04-01", "validTo": "2027-03-31", "role": "admin"}}))
    assert response.status_code == 201
    user = response.get_json()
    assert response.headers["Location"] == user["meta"]["location"]
    assert response.headers["ETag"] == user["meta"]["version"]
    assert user["userName"] == "hanako@acme.example.com" and user["externalId"] == "hr-001"
    assert user["name"] == {"formatted": "佐藤 花子"} and user["displayName"] == "佐藤 花子"
    assert user["phoneNumbers"] == [{"value": "0312345678", "type": "work"}, {"value": "09011112222", "type": "mobile"}]
    assert user[ENTERPRISE] == {"organization": "本社", "department": "営業部"}
    assert user[ACCOUNT_EXT] == {"validFrom": "2026-04-01", "validTo": "2027-03-31", "role": "admin"}
    assert len(outbox.to("hanako@acme.example.com")) == 1
    account = _account(app, "hanako@acme.example.com")
    assert account.subject == user["id"] and account.role == "admin" and not account.activated


def test_send_activation_mail_false_sends_nothing(app, scim, outbox):
    scim.create_user("quiet@acme.example.com", **{ACCOUNT_EXT: {"sendActivationMail": False}})
    assert outbox.to("quiet@acme.example.com") == [] and _account(app, "quiet@acme.example.com") is not None
    assert "sendActivationMail" not in str(scim.get("/Users").get_json())


def test_given_and_family_names_are_stored_in_japanese_order(scim):
    response = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "taro@acme.example.com",
                                    "name": {"givenName": "太郎", "familyName": "山田"}})
    assert response.get_json()["name"]["formatted"] == "山田 太郎"


@pytest.mark.parametrize("body, scim_type, words", [
    (new_user("not-an-email"), "invalidValue", "メールアドレス"),
    (new_user("x@acme.example.com", ""), "invalidValue", "名前を入力"),
    (new_user("x@acme.example.com", phoneNumbers=[{"value": "12", "type": "work"}]), "invalidValue", "電話番号"),
    (new_user("x@acme.example.com", **{ACCOUNT_EXT: {"validFrom": "April"}}), "invalidValue", "YYYY-MM-DD"),
    (new_user("x@acme.example.com", **{ACCOUNT_EXT: {"role": "owner"}}), "invalidValue", "ユーザータイプ"),
])
def test_invalid_users_are_400_with_the_console_message(scim, body, scim_type, words):
    response = scim.post("/Users", body)
    assert response.status_code == 400 and response.get_json()["scimType"] == scim_type
    assert words in response.get_json()["detail"]


def test_a_taken_user_name_is_409_uniqueness(scim):
    scim.create_user("hanako@acme.example.com")
    response = scim.post("/Users", new_user("HANAKO@acme.example.com"))
    assert response.status_code == 409 and response.get_json()["scimType"] == "uniqueness"


@pytest.fixture
def three(scim):
    scim.create_user("a.sato@acme.example.com", "佐藤 愛", externalId="e-1")
    scim.create_user("b.suzuki@acme.example.com", "鈴木 文", active=False)
    scim.create_user("c.takahashi@other.example.com", "高橋 千夏", externalId="e-3")
    return scim


@pytest.mark.parametrize("expression, names", [
    ('userName eq "A.SATO@acme.example.com"', ["佐藤 愛"]),
    ('userName sw "b."', ["鈴木 文"]),
    ('emails.value co "other.example"', ["高橋 千夏"]),
    ('emails[value co "other.example"]', ["高橋 千夏"]),
    ('externalId eq "e-3"', ["高橋 千夏"]),
    ('externalId pr', ["佐藤 愛", "高橋 千夏"]),
    ('active eq false', ["鈴木 文"]),
    ('displayName co "藤" or displayName co "橋"', ["佐藤 愛", "高橋 千夏"]),
    ('userName co "acme" and active eq true', ["admin", "佐藤 愛"]),
    ('userName co "%"', []),
])
def test_filters(three, expression, names):
    found = three.get(f"/Users?filter={quote(expression)}&sortBy=displayName").get_json()["Resources"]
    assert sorted(user["displayName"] for user in found) == sorted(names)


@pytest.mark.parametrize("expression", ['userName xx "a"', 'password eq "x"', 'userName eq', "title pr"])
def test_an_unusable_filter_is_400_invalid_filter(scim, expression):
    response = scim.get(f"/Users?filter={quote(expression)}")
    assert response.status_code == 400 and response.get_json()["scimType"] == "invalidFilter"


def test_sort_and_pages(three):
    page = three.get("/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2").get_json()
    assert page["totalResults"] == 4 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [u["userName"] for u in page["Resources"]] == ["b.suzuki@acme.example.com", "admin@acme.example.com"]
    assert three.get("/Users?count=0").get_json()["Resources"] == []
    assert three.get("/Users?count=abc").status_code == 400
    searched = three.post("/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                             "filter": 'userName sw "c."', "attributes": ["userName"]}).get_json()
    assert searched["totalResults"] == 1 and set(searched["Resources"][0]) == {"schemas", "id", "userName"}


def test_put_replaces_and_keeps_the_group(app, scim):
    user = scim.create_user("hanako@acme.example.com")
    replacement = new_user("hanako@acme.example.com", "佐藤 花子", active=False, **{ENTERPRISE: {"department": "人事部"}})
    response = scim.put(f"/Users/{user['id']}", replacement)
    assert response.status_code == 200
    body = response.get_json()
    assert body["displayName"] == "佐藤 花子" and body["active"] is False and body[ENTERPRISE] == {"department": "人事部"}
    assert body["groups"] == user["groups"]
    assert _account(app, "hanako@acme.example.com").status == "disabled"


def test_patch_active_name_and_extension(app, scim):
    user = scim.create_user("hanako@acme.example.com")
    response = scim.patch(f"/Users/{user['id']}", [
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": "displayName", "value": "佐藤 花子"},
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "総務部"},
        {"op": "replace", "value": {f"{ACCOUNT_EXT}:validTo": "2026-12-31"}}])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["active"] is False and body["displayName"] == "佐藤 花子"
    assert body[ENTERPRISE]["department"] == "総務部" and body[ACCOUNT_EXT]["validTo"] == "2026-12-31"
    account = _account(app, "hanako@acme.example.com")
    assert (account.status, account.name, str(account.valid_to)) == ("disabled", "佐藤 花子", "2026-12-31")
    again = scim.patch(f"/Users/{user['id']}", [
        {"op": "replace", "path": "name.givenName", "value": "華子"},
        {"op": "replace", "path": "name.familyName", "value": "佐藤"}])
    assert again.get_json()["displayName"] == "佐藤 華子"


def test_the_login_id_cannot_change(scim):
    user = scim.create_user("hanako@acme.example.com")
    rename = [{"op": "replace", "path": "userName", "value": "x@acme.example.com"}]
    response = scim.patch(f"/Users/{user['id']}", rename)
    assert response.status_code == 400 and response.get_json()["scimType"] == "mutability"


def test_if_match_guards_writes_and_if_none_match_saves_a_read(scim, clock):
    user = scim.create_user("hanako@acme.example.com")
    version = user["meta"]["version"]
    assert scim.get(f"/Users/{user['id']}", headers={"If-None-Match": version}).status_code == 304
    clock.advance(minutes=1)
    changed = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}],
                         headers={"If-Match": version})
    assert changed.status_code == 200 and changed.headers["ETag"] != version
    stale = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": True}],
                       headers={"If-Match": version})
    assert stale.status_code == 412 and scim.get(f"/Users/{user['id']}").get_json()["active"] is False


def test_delete_then_404_and_every_write_is_audited_as_the_token(app, scim):
    user = scim.create_user("hanako@acme.example.com")
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert scim.get(f"/Users/{user['id']}").status_code == 404
    assert scim.delete(f"/Users/{user['id']}").status_code == 404
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_type == "scim_token")
                                    .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["account.create", "account.update", "account.delete"]
        assert all(e.actor_label.startswith("SCIM token Entra ID") for e in events)
