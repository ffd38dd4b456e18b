"""`idp scim token create|list|revoke`."""
from tests.support.cli_runner import ok_json


def test_create_list_revoke(app, cli, factory):
    factory.tenant("acme")
    created = ok_json(cli("scim", "token", "create", "--tenant", "acme", "--name", "Okta", "--scope", "read",
                          "--expires-days", "30", "--json"))
    assert created["token"].startswith("scim_") and created["url"] == "http://127.0.0.1:8000/t/acme/scim/v2"
    client = app.test_client()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/t/acme/scim/v2/Users", headers=headers).status_code == 200
    assert client.post("/t/acme/scim/v2/Users", json={}, headers=headers).status_code == 403
    listed = ok_json(cli("scim", "token", "list", "--tenant", "acme", "--json"))
    assert [(t["name"], t["scope"], t["usable"]) for t in listed["tokens"]] == [("Okta", "read", True)]
    assert created["token"] not in str(listed)
    revoked = ok_json(cli("scim", "token", "revoke", "--tenant", "acme", str(created["id"]), "--json"))
    assert revoked["name"] == "Okta"
    assert client.get("/t/acme/scim/v2/Users", headers=headers).status_code == 401
    assert ok_json(cli("scim", "token", "list", "--tenant", "acme", "--json"))["tokens"][0]["usable"] is False


def test_refusals_exit_with_one_line(cli, factory):
    factory.tenant("acme")
    assert cli("scim", "token", "create", "--tenant", "nope", "--name", "x").exit_code != 0
    assert cli("scim", "token", "create", "--tenant", "acme", "--name", "", "--json").exit_code != 0
    assert cli("scim", "token", "revoke", "--tenant", "acme", "42").exit_code != 0
    factory.tenant("beta", company="Beta")
    other = ok_json(cli("scim", "token", "create", "--tenant", "beta", "--name", "b", "--json"))
    assert cli("scim", "token", "revoke", "--tenant", "acme", str(other["id"])).exit_code != 0
