"""/accounts: the console's search, create, change, delete and actions through the API, with the console's
rules (422 per field, 409), audited as done by the API client, and problem+json for every refusal."""
import pytest
from sqlalchemy import select

from idp.models import Account, AuditEvent
from idp.platform.extensions import db
from tests.protocols.api.conftest import problem

TARO = "taro@acme.example.com"


def audit_rows(app, action):
    with app.app_context():
        return [(e.actor_type, e.actor_label, e.target_label, e.changes) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def account_id(app, email):
    with app.app_context():
        return db.session.scalar(select(Account.id).where(Account.email == email))


def create(api, **fields):
    return api.post("/accounts", json={"email": "hanako@acme.example.com", "name": "佐藤 花子", **fields})


def test_list_searches_filters_and_pages(api, factory):
    for number in range(3):
        factory.account("acme", email=f"sales{number}@acme.example.com", name=f"営業 {number}",
                        department="営業部")
    everyone = api.get("/accounts").get_json()
    assert everyone["total"] == 5 and [a["email"] for a in everyone["items"]][:1] == ["admin@acme.example.com"]
    page = api.get("/accounts?department=営業&per_page=2&page=2&sort=email&dir=desc").get_json()
    assert (page["total"], page["pages"], page["page"], page["per_page"]) == (3, 2, 2, 2)
    assert [a["email"] for a in page["items"]] == ["sales0@acme.example.com"]
    admins = api.get("/accounts?role=admin").get_json()
    assert [a["email"] for a in admins["items"]] == ["admin@acme.example.com"]
    taro = api.get(f"/accounts?email={TARO}").get_json()["items"][0]
    assert taro["name"] == "山田 太郎" and taro["activated"] and not taro["locked"] and taro["mfa_method"] is None
    assert taro["created_at"].endswith("Z") and taro["valid_from"] == "2026-04-01"


@pytest.mark.parametrize("query, field", [("sort=shoe", "sort"), ("role=root", "role"), ("per_page=1000", "per_page"),
                                          ("page=0", "page"), ("group=abc", "group"), ("colour=red", "colour")])
def test_list_refuses_bad_query_values(api, query, field):
    body = problem(api.get(f"/accounts?{query}"), 422)
    assert field in body["errors"]


def test_get_one_and_other_tenants_accounts_are_not_found(api, app, factory):
    taro = account_id(app, TARO)
    assert api.get(f"/accounts/{taro}").get_json()["email"] == TARO
    factory.tenant("globex")
    other = factory.account("globex", email="jiro@globex.example.com")[0]
    problem(api.get(f"/accounts/{other}"), 404)
    problem(api.get("/accounts/99999999999999999999999"), 404)


def test_create_sends_the_activation_mail_and_is_audited_as_the_api_client(api, app, outbox):
    response = create(api, department="人事部")
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/t/acme/api/v1/accounts/{body['id']}")
    assert (body["email"], body["name"], body["department"], body["group"]) == (
        "hanako@acme.example.com", "佐藤 花子", "人事部", "ACME株式会社")
    assert body["activated"] is False and body["valid_from"] == "2026-04-01" and body["role"] == "user"
    assert len(outbox.to("hanako@acme.example.com")) == 1
    assert audit_rows(app, "account.create")[-1][:3] == ("api_client", "人事システム連携", "hanako@acme.example.com")
    assert api.get(f"/accounts/{body['id']}").get_json()["subject"] == body["subject"]


def test_create_refusals_are_the_consoles(api, outbox):
    body = problem(create(api, name="", mobile="0312345678", valid_from="2026-05-01", valid_to="2026-04-01"), 422)
    assert set(body["errors"]) == {"name", "mobile", "valid_to"}
    assert body["type"] == "urn:matome:api:problem:validation"
    duplicate = problem(create(api, email=TARO), 409)
    assert "すでに登録" in duplicate["detail"]
    assert set(problem(create(api, group_id=999999), 422)["errors"]) == {"group"}
    assert outbox.to("hanako@acme.example.com") == []


@pytest.mark.parametrize("payload, field", [
    ({"email": 5, "name": "x"}, "email"), ({"name": "x"}, "email"),
    ({"email": "a@acme.example.com", "name": "x", "valid_from": "tomorrow"}, "valid_from"),
    ({"email": "a@acme.example.com", "name": "x", "group_id": 0}, "group_id"),
    ({"email": "a@acme.example.com", "name": "x", "password": "secret"}, "password"),
])
def test_create_refuses_wrong_types_per_field(api, payload, field):
    body = problem(api.post("/accounts", json=payload), 422)
    assert field in body["errors"] and body["errors"][field][0]


def test_a_body_that_is_not_json_is_refused(api):
    problem(api.post("/accounts", data="email=a@acme.example.com",
                     content_type="application/x-www-form-urlencoded"), 415)
    problem(api.post("/accounts", data="{not json", content_type="application/json"), 400)
    problem(api.post("/accounts", json={"email": "a\u0000@acme.example.com", "name": "x"}), 400)


def test_update_changes_only_what_is_sent(api, app):
    taro = account_id(app, TARO)
    response = api.patch(f"/accounts/{taro}", json={"department": "経理部", "valid_to": "2027-03-31"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["department"], body["valid_to"], body["name"]) == ("経理部", "2027-03-31", "山田 太郎")
    actor, label, target, changes = audit_rows(app, "account.update")[-1]
    assert (actor, label, target) == ("api_client", "人事システム連携", TARO)
    assert changes == {"department": ["", "経理部"], "valid_to": [None, "2027-03-31"]}
    cleared = api.patch(f"/accounts/{taro}", json={"valid_to": None}).get_json()
    assert cleared["valid_to"] is None and cleared["department"] == "経理部"
    problem(api.patch(f"/accounts/{taro}", json={"email": "new@acme.example.com"}), 422)
    assert set(problem(api.patch(f"/accounts/{taro}", json={"status": "gone"}), 422)["errors"]) == {"status"}


def test_disabling_is_the_consoles_status_change(api, app):
    taro = account_id(app, TARO)
    assert api.patch(f"/accounts/{taro}", json={"status": "disabled"}).get_json()["status"] == "disabled"
    assert audit_rows(app, "account.update")[-1][3] == {"status": ["enabled", "disabled"]}


def test_delete(api, app):
    taro = account_id(app, TARO)
    assert api.delete(f"/accounts/{taro}").status_code == 204
    problem(api.get(f"/accounts/{taro}"), 404)
    assert audit_rows(app, "account.delete")[-1][:3] == ("api_client", "人事システム連携", TARO)
    problem(api.delete(f"/accounts/{taro}"), 404)


def test_unlock(api, app, clock):
    taro = account_id(app, TARO)
    with app.app_context():
        db.session.get(Account, taro).locked_at = clock.now()
        db.session.commit()
    assert api.get(f"/accounts/{taro}").get_json()["locked"] is True
    assert api.post(f"/accounts/{taro}/unlock").get_json()["locked"] is False
    assert audit_rows(app, "account.unlock")[-1][:2] == ("api_client", "人事システム連携")


def test_mfa_reset(api, app):
    taro = account_id(app, TARO)
    assert api.post(f"/accounts/{taro}/mfa-reset").get_json()["mfa_method"] is None
    assert audit_rows(app, "mfa.reset")[-1][:3] == ("api_client", "人事システム連携", TARO)


def test_activation_mail_again_only_before_activation(api, app, outbox):
    hanako = create(api).get_json()["id"]
    assert api.post(f"/accounts/{hanako}/activation-mail").status_code == 200
    assert len(outbox.to("hanako@acme.example.com")) == 2
    assert audit_rows(app, "account.resend_activation")[-1][:2] == ("api_client", "人事システム連携")
    body = problem(api.post(f"/accounts/{account_id(app, TARO)}/activation-mail"), 409)
    assert "初期設定済み" in body["detail"]


def test_reading_writes_nothing_to_the_audit_log(reader, app):
    before = audit_rows(app, "account.update")
    reader.get("/accounts")
    assert audit_rows(app, "account.update") == before
