"""/apps and /logs through the API (read with admin:read), and problem+json for unknown URLs and methods."""
from tests.protocols.api.conftest import API, problem
from tests.protocols.api.test_api_accounts import TARO


def test_apps_list_and_detail_without_secrets(reader, api_client):
    listed = reader.get("/apps").get_json()["items"]
    assert [(a["id"], a["name"], a["protocol"]) for a in listed] == [(api_client.app_id, "人事システム連携", "oidc")]
    assert listed[0]["identifier"] == api_client.client_id
    response = reader.get(f"/apps/{api_client.app_id}")
    detail = response.get_json()
    assert detail["oidc"]["client_id"] == api_client.client_id and detail["oidc"]["api_client"] is True
    assert detail["saml"] is None
    assert api_client.secret not in response.get_data(as_text=True)
    problem(reader.get("/apps/999999"), 404)


def test_login_log_with_filters(reader, login):
    login(email=TARO)
    login(email=TARO, password="wrong-password")
    entries = reader.get("/logs/logins").get_json()
    assert entries["total"] == 2
    failed = reader.get("/logs/logins?result=failure").get_json()["items"]
    assert [(e["user"], e["result_code"], e["reason_code"]) for e in failed] == [(TARO, "failure", "bad_password")]
    assert reader.get("/logs/logins?from=2026-04-02").get_json()["total"] == 0
    assert reader.get("/logs/logins?user=nobody").get_json()["total"] == 0
    assert "result" in problem(reader.get("/logs/logins?result=maybe"), 422)["errors"]
    assert "from" in problem(reader.get("/logs/logins?from=yesterday"), 422)["errors"]


def test_audit_log_shows_the_api_clients_changes(api, reader):
    api.post("/groups", json={"name": "営業"})
    entries = reader.get("/logs/audit?action=group.create").get_json()["items"]  # newest first
    assert [(e["actor"], e["action_code"], e["target"]) for e in entries] == [
        ("人事システム連携", "group.create", "営業"), ("運用担当者（コマンド）", "group.create", "ACME株式会社")]
    assert reader.get("/logs/audit?user=人事&per_page=1").get_json()["per_page"] == 1


def test_unknown_paths_and_methods_are_problems(api):
    problem(api.get("/nothing"), 404)
    problem(api.http.get(f"{API}/"), 404)
    response = api.call("PUT", "/accounts")
    problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_log_days_out_of_range_are_refused_not_a_500(reader):
    for query in ("from=0001-01-01", "to=9999-12-31"):
        assert set(problem(reader.get(f"/logs/logins?{query}"), 422)["errors"]) <= {"from", "to"}
